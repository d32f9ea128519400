package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/childproc"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

// TestStack is the end-to-end test of the exporter with the shipped rules and dashboards: it starts, on loopback
// and in temporary directories, the exporter on a scenario fake /proc, a real Prometheus scraping it and
// evaluating the shipped rules every 100 ms (scrapeEvery), and a real Alertmanager sending to a webhook inside the test. The
// rules run compressed by compressFactor (see stack_compress_test.go); the exporter runs with its default forecast
// step and horizons compressed by the same factor. The scenario: a steady baseline, then memory climbing towards
// exhaustion with a CPU burst and a disk going busy, then recovery. It asserts that
//   - the target is up;
//   - no forecast alert fires during the baseline, while the memory forecast is trusted (so the check is not
//     vacuous), and no exporter-health alert fires at all;
//   - every dashboard query returns data (phaseQueries lists those that only can in one phase,
//     withoutDataInTheStack those that cannot in the stack, and gainedInIssues10And11 the metrics the exporter
//     does not have yet);
//   - a query_range ending at now + the horizon returns, beyond now, the forecast made one horizon earlier, for
//     every forecast query of the panels that reach that far (checkFutureForecasts);
//   - the critical memory-exhaustion alert fires and reaches the webhook with its documented labels and
//     annotations, and when memory recovers it resolves and the resolved notification reaches the webhook.
//
// Everything is bounded by stackDeadline; on failure the exporter's metrics, Prometheus' alerts, rules and
// targets, Alertmanager's alerts, the notifications and the process logs are dumped.
func TestStack(t *testing.T) {
	promBin := requireStackTool(t, "prometheus")
	amBin := requireStackTool(t, "prometheus-alertmanager", "alertmanager")
	ctx, cancel := context.WithTimeout(context.Background(), stackDeadline)
	defer cancel()
	s := startStack(ctx, t, promBin, amBin)
	defer s.dumpIfFailed()

	s.waitUp()
	s.checkVariables()
	s.baseline()
	s.checkDashboards(phaseBaseline, 5*time.Second)
	fired := s.climb()
	s.checkFiring(fired)
	s.checkDashboards(phaseClimb, 10*time.Second)
	s.recoverAndResolve()
	s.checkDashboards(phaseRecover, 20*time.Second)
	s.checkFutureForecasts()
	s.checkExporterAlertsSilent()
	s.checkProcesses()
	s.logNotifications()
}

// Bounds of the stack test. The scenario normally takes about 90 s; the bounds leave room for a loaded machine.
const (
	stackDeadline = 3*time.Minute + 20*time.Second // everything, the build included
	upTimeout     = 30 * time.Second
	baselineMax   = 80 * time.Second // from the first scrape until the memory forecast is trusted and quiet
	climbMax      = 80 * time.Second // until the critical memory alert reaches the webhook
	recoverMax    = 60 * time.Second // until every memory alert that fired is resolved at the webhook
	pollEvery     = 500 * time.Millisecond
	// Prometheus scrapes and evaluates every 100 ms, the forecast step: one scrape per step, as in production
	// (1 m step, scrapes every 15 s to 1 m). At 1 s, a compressed window such as the anomaly alert's [15m] →
	// [1s500ms] would hold one or two samples instead of fifteen, and `for: 10m` → 1 s a single evaluation.
	scrapeEvery = 100 * time.Millisecond
	sampleEvery = 50 * time.Millisecond
	memoryAlert = "ServermonMemoryExhaustionForecast"
	stackJob    = "servermon"
)

// phaseQueries are the dashboard panels whose queries legitimately return data in one phase only; every other
// query must return data at the end of the baseline.
var phaseQueries = map[string]phase{
	// Filters the trusted ETAs to finite ones: there is one only while memory climbs.
	"Soonest time until threshold (trusted forecasts)": phaseClimb,
	// Filters error ratios to those above 1: the memory forecast becomes worse than naive after the memory drop
	// (its trend models keep the climb's slope for a while), which is also what ends the memory alert.
	"Forecasts worse than naive": phaseRecover,
}

// stack is the running system under test.
type stack struct {
	t      *testing.T
	ctx    context.Context
	start  time.Time
	dir    string
	prom   *promClient
	hook   *webhook
	fake   *fakeProc
	procs  []*childproc.Process
	exp    *childproc.Process
	expURL string
	amURL  string
	inst   string // the exporter's instance label

	rules       []rule // shipped alerting rules (uncompressed)
	compAlerts  []rule // compressed alerting rules
	forecastSet map[string]bool
	exporterSet map[string]bool
	horizon     string // the compressed 1h horizon label the gate and the dashboards use
	queries     []preparedQuery

	upAt        time.Time
	alertStates map[string]string
	seenNotes   int
	timeline    []string
}

// preparedQuery is a dashboard query compressed and with its variables substituted.
type preparedQuery struct {
	dashQuery
	run    string
	phase  phase
	gained gainedSelector // set when the query selects a metric the exporter does not have yet
	noData string         // why the query cannot return data in the stack (withoutDataInTheStack), or ""
}

func startStack(ctx context.Context, t *testing.T, promBin, amBin string) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{t: t, ctx: ctx, start: time.Now(), dir: dir, alertStates: map[string]string{}}
	paths := compressedRuleFiles(t, dir)
	if t.Failed() {
		t.FailNow()
	}
	s.classifyAlerts(paths[0])
	var err error
	if s.horizon, err = compressHorizon("1h", compressFactor); err != nil {
		t.Fatal(err)
	}
	bin := buildExporter(ctx, t, dir)

	s.hook = newWebhook()
	t.Cleanup(s.hook.srv.Close)

	procDir := fakeProcDir(t)
	if s.fake, err = newFakeProc(procDir, 1); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	driverDone, err := s.fake.start(stop)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(stop); <-driverDone })

	expAddr, amAddr, promAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	s.inst, s.expURL, s.amURL = expAddr, "http://"+expAddr+"/metrics", "http://"+amAddr
	args := []string{
		"--web.listen-address=" + expAddr,
		"--path.procfs=" + procDir,
		"--path.rootfs=" + stackRootfs,
		"--sample.interval=" + sampleEvery.String(),
		"--collector.timeout=" + sampleEvery.String(),
		"--sample.window=2s",
		"--forecast.threshold.memory=" + exposition.FormatFloat(stackMemThreshold),
		"--forecast.step=" + (forecast.DefaultStep / compressFactor).String(),
		// The shortest history the exporter accepts; compressed, the default 8d would be 19 min.
		"--forecast.history=" + forecast.MinHistory.String(),
	}
	for _, h := range stackHorizons(t) {
		args = append(args, "--forecast.horizon="+h.String())
	}
	s.exp = childproc.StartTest(t, "exporter", dir, bin, args...)

	amConfig := fmt.Sprintf(`route:
  receiver: webhook
  group_by: [alertname, severity]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: %s/hook
        send_resolved: true
`, s.hook.srv.URL)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), amConfig)
	am := childproc.StartTest(t, "alertmanager", dir, amBin,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=",
		"--log.level=debug")

	promConfig := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
rule_files: [%[2]q, %[3]q]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%[4]q]
scrape_configs:
  - job_name: %[5]s
    static_configs:
      - targets: [%[6]q]
`, scrapeEvery, paths[0], paths[1], amAddr, stackJob, expAddr)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promConfig)
	prom := childproc.StartTest(t, "prometheus", dir, promBin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		"--storage.tsdb.retention.time=1h",
		"--web.listen-address="+promAddr)
	s.procs = []*childproc.Process{s.exp, am, prom}
	s.prom = newPromClient(promAddr)

	for _, r := range []struct {
		p   *childproc.Process
		url string
	}{{s.exp, s.expURL}, {am, "http://" + amAddr + "/-/ready"}, {prom, "http://" + promAddr + "/-/ready"}} {
		if err := r.p.WaitReady(ctx, r.url); err != nil {
			s.dump()
			t.Fatalf("%v", err)
		}
	}
	s.queries = s.prepareQueries()
	s.logf("exporter, Prometheus and Alertmanager are ready")
	return s
}

// fakeProcDir returns a directory for the fake /proc, on tmpfs when /dev/shm is there: the driver replaces its
// files hundreds of times a second, which on a journaling file system costs enough to stall the exporter's reads.
func fakeProcDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "servermon-stack-proc-")
	if err != nil {
		return filepath.Join(t.TempDir(), "proc")
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// classifyAlerts reads the shipped and compressed alerting rules and splits the alert names into forecast alerts
// (groups named *forecast*) and exporter-health alerts (the others).
func (s *stack) classifyAlerts(compressedAlerts string) {
	s.rules = loadRules(s.t, alertsFile)
	s.compAlerts = loadRules(s.t, compressedAlerts)
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		s.t.Fatal(err)
	}
	var meta ruleFileMeta
	if err := yaml.Unmarshal(data, &meta); err != nil {
		s.t.Fatal(err)
	}
	s.forecastSet, s.exporterSet = map[string]bool{}, map[string]bool{}
	for _, g := range meta.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue // the trust gate's records
			}
			if strings.Contains(g.Name, "forecast") {
				s.forecastSet[r.Alert] = true
			} else {
				s.exporterSet[r.Alert] = true
			}
		}
	}
	if !s.forecastSet[memoryAlert] || len(s.exporterSet) == 0 {
		s.t.Fatalf("cannot tell forecast alerts %v from exporter alerts %v", s.forecastSet, s.exporterSet)
	}
}

// logf logs with the time since the stack started, and keeps the line for the failure dump's timeline.
func (s *stack) logf(format string, args ...any) {
	s.t.Helper()
	line := fmt.Sprintf("[+%5.1fs] ", time.Since(s.start).Seconds()) + fmt.Sprintf(format, args...)
	s.timeline = append(s.timeline, line)
	s.t.Log(line)
}

// fatalf fails the test now (the deferred dump runs).
func (s *stack) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("[+%5.1fs] "+format, append([]any{time.Since(s.start).Seconds()}, args...)...)
}

// sleep waits for d, failing the test when the deadline passes first.
func (s *stack) sleep(d time.Duration) {
	s.t.Helper()
	select {
	case <-s.ctx.Done():
		s.fatalf("hard deadline of %v passed", stackDeadline)
	case <-time.After(d):
	}
}

// watch is called on every poll: it fails if a process died, logs alert state changes in Prometheus and new
// webhook notifications.
func (s *stack) watch() {
	s.t.Helper()
	for _, p := range s.procs {
		if err := p.Alive(); err != nil {
			s.fatalf("%v", err)
		}
	}
	if err := s.fake.err(); err != nil {
		s.fatalf("fake /proc driver: %v", err)
	}
	alerts, err := s.prom.alerts(s.ctx)
	if err != nil {
		s.logf("alerts: %v", err)
		return
	}
	now := map[string]string{}
	for _, a := range alerts {
		key := alertKey(a.Labels)
		now[key] = a.State
		if s.alertStates[key] != a.State {
			s.logf("Prometheus: %s is %s (value %s)", key, a.State, a.Value)
		}
	}
	for key := range s.alertStates {
		if now[key] == "" {
			s.logf("Prometheus: %s is inactive", key)
		}
	}
	s.alertStates = now
	notes := s.hook.notifications()
	for _, n := range notes[s.seenNotes:] {
		var parts []string
		for _, a := range n.Alerts {
			parts = append(parts, a.Status+" "+alertKey(a.Labels))
		}
		s.logf("webhook: %s notification: %s", n.Status, strings.Join(parts, ", "))
	}
	s.seenNotes = len(notes)
}

// alertKey names an alert by the labels that tell the servermon alerts apart.
func alertKey(l map[string]string) string {
	key := l["alertname"] + "/" + l["severity"]
	for _, k := range []string{"target", "device", "collector"} {
		if l[k] != "" {
			key += " " + k + "=" + l[k]
		}
	}
	return key
}
