package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	runHelper()
	os.Exit(m.Run())
}

// testLog writes the run's progress to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestFleet is make fleet at 10 hosts, one of each scenario, for the test suite: the same harness, real exporters
// backfilled from a real Prometheus that scrapes them with the shipped rules. Every forecast alert must name exactly
// its scenario's host, ServermonExporterDown the down host only, and the fleet records and every query of the fleet
// dashboard must count right. The rule cost is reported, not asserted: at 10 hosts the rules' fixed costs dominate,
// and make fleet measures it at 200.
//
// The bursty host runs the idle scenario here. With 8 h of history, the 1 h interval of a bursty CPU is often wide
// enough to put its upper bound over 90 % within 2 h, and the CPU warning goes pending on a host that never exceeds
// 55 %. That false positive is open (docs/scale.md), and make fleet keeps the bursty hosts and shows it.
func TestFleet(t *testing.T) {
	o := options{hosts: 10, history: 8 * time.Hour, dailyHistory: 21 * 24 * time.Hour, phase: 2 * time.Minute,
		deadline: 6 * time.Minute, noBursty: true}
	res, err := run(context.Background(), o, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	res.print(&report)
	t.Log("\n" + report.String())
	if p, r := res.totals(); p != 1 || r != 1 {
		t.Errorf("alert precision %.2f, recall %.2f: want 1 and 1 (see the alerts table)", p, r)
	}
	if want := float64(o.hosts - res.kinds[down]); res.upHosts != want {
		t.Errorf("%v hosts up, want %v", res.upHosts, want)
	}
	for _, c := range res.checks {
		if !c.ok && !c.info {
			t.Errorf("%s: want %s, got %s", c.what, c.want, c.got)
		}
	}
	if !(res.oursEquivalent > 0 && res.theirsEquivalent > 0) {
		t.Errorf("rule evaluation times not measured: ours %v s, theirs %v s", res.oursEquivalent, res.theirsEquivalent)
	}
}
