#!/bin/sh
# Side-by-side benchmark of servermon_exporter and node_exporter on loopback (make bench). It installs Debian's
# prometheus-node-exporter when missing, builds servermon_exporter as releases are built (static, netgo), writes a
# forecast state of 8 simulated days, and runs bench/compare, whose flags it passes on (e.g. -modes proc
# -scale=false -cpu-window 60s for a shorter run). Traffic stays on loopback; every load loop is bounded.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}

if ! command -v prometheus-node-exporter >/dev/null 2>&1; then
	echo "bench: installing prometheus-node-exporter (Debian package)" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus-node-exporter
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 $GO build -tags netgo -o "$work/servermon_exporter" ./cmd/servermon_exporter
echo "bench: simulating 8 days of forecasting for the state file (about 15 s)" >&2
$GO test -run '^$' -bench EightDaysOfForecasting -benchtime 1x ./cmd/servermon_exporter -args -perf.state-out="$work/8d.state" >&2
$GO run ./bench/compare -servermon "$work/servermon_exporter" -forecast-state "$work/8d.state" "$@"
