# servermon_exporter — build, run and test. `make help` lists the targets.

GO        ?= go
PKG       := github.com/prometheus/common/version
VERSION   ?= $(shell cat VERSION)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).Branch=$(BRANCH) \
             -X $(PKG).BuildUser=$(shell id -un)@$(shell hostname) -X $(PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)
FUZZTIME  ?= 10s
ARGS      ?=
HOSTS     ?= 200

.PHONY: help build run test test-go test-dashboards deps lint fmt dashboards bench bench-go fleet fuzz clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## Build servermon_exporter and servermon_backtest with version information.
	$(GO) build -ldflags "$(LDFLAGS)" -o servermon_exporter ./cmd/servermon_exporter
	$(GO) build -ldflags "$(LDFLAGS)" -o servermon_backtest ./cmd/servermon_backtest

run: build ## Build and run the exporter on this machine (ARGS="--log.level=debug" to add flags).
	./servermon_exporter $(ARGS)

deps: ## Install what the tests need (Debian: prometheus for promtool, prometheus-alertmanager for amtool, chromium for the forecast page).
	@.ci/deps

test: deps test-go test-dashboards lint ## Everything CI checks: deps, the Go suites with -race, lint.

test-go: ## The Go test suite with the race detector.
	$(GO) test -race -count=1 ./...

test-dashboards: ## Dashboard generator tests, and the committed JSON must be what it generates.
	cd dashboards && $(GO) test -count=1 ./...
	cd dashboards && $(GO) run ./cmd/generate
	git diff --exit-code -- dashboards/

dashboards: ## Regenerate the Grafana dashboards.
	cd dashboards && $(GO) run ./cmd/generate

# staticcheck is a tool dependency of both modules (the go.mod tool directive), so go.sum verifies it; each module
# lints its own packages with it, since the root module's packages do not include the nested dashboards module.
lint: ## gofmt, go vet and staticcheck.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	cd dashboards && $(GO) vet ./... && $(GO) tool staticcheck ./...

fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

bench: ## servermon_exporter vs node_exporter side by side on loopback, ~8 min (installs node_exporter; BENCH_ARGS="-modes proc -scale=false" for ~2 min).
	@GO=$(GO) bench/run.sh $(BENCH_ARGS)

fleet: deps ## HOSTS exporters (default 200) against one real Prometheus with the shipped rules: alerts, fleet records and dashboard checked, rule cost against predict_linear; at most 10 min (docs/scale.md).
	$(GO) run ./bench/fleet -hosts=$(HOSTS)

bench-go: ## Go benchmarks of the hot paths.
	$(GO) test -run '^$$' -bench . -benchmem ./collector/ ./forecast/ ./internal/forecastpage/ ./cmd/...

fuzz: ## Run every fuzz target for FUZZTIME each (default 10s).
	@.ci/fuzz $(FUZZTIME)

clean: ## Remove built binaries.
	rm -f servermon_exporter servermon_backtest
