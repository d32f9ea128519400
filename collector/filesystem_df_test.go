package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// dfRow is one filesystem as df -B1 prints it.
type dfRow struct {
	source, fstype string
	size, avail    int64
	pcent          int64 // -1 for "-": used + avail is 0
}

// runDF runs coreutils' df over every mount it shows and returns its rows by mount point.
func runDF(t *testing.T) map[string]dfRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hung network mount hangs df too
	defer cancel()
	cmd := exec.CommandContext(ctx, "df", "-B1", "--output=source,target,fstype,size,avail,pcent")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// df exits 1 when it could not read some filesystem, and prints the others: those are what it shows.
	if err != nil && (ctx.Err() != nil || !bytes.HasPrefix(out, []byte("Filesystem"))) {
		t.Fatalf("df: %v\n%s%s", err, out, stderr.Bytes())
	}
	rows := map[string]dfRow{}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	for _, line := range lines[1:] {
		// Read from the right: a mount point may hold spaces (then the runs of them are lost, and the row matches
		// no mount point of ours, which leaves it out of the comparison).
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("df row %q: fewer than 6 fields", line)
		}
		n := len(f)
		row := dfRow{source: f[0], fstype: f[n-4], pcent: -1}
		var err1, err2 error
		row.size, err1 = strconv.ParseInt(f[n-3], 10, 64)
		row.avail, err2 = strconv.ParseInt(f[n-2], 10, 64)
		if p := f[n-1]; p != "-" {
			var err3 error
			row.pcent, err3 = strconv.ParseInt(strings.TrimSuffix(p, "%"), 10, 64)
			err1 = errors.Join(err1, err3)
		}
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("df row %q: %v", line, err)
		}
		rows[strings.Join(f[1:n-4], " ")] = row
	}
	return rows
}

// ourMount is what the collector reports of a mount, for the comparison with df.
type ourMount struct {
	device, fstype string
	size, avail    float64
	usage          float64
	hasUsage       bool
}

// ourMounts parses an exposition's filesystem series by mount point.
func ourMounts(t *testing.T, body []byte) map[string]*ourMount {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	mounts := map[string]*ourMount{}
	for _, name := range []string{"servermon_filesystem_size_bytes", "servermon_filesystem_avail_bytes", "servermon_filesystem_usage_ratio"} {
		for _, m := range families[name].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			om := mounts[labels["mountpoint"]]
			if om == nil {
				om = &ourMount{device: labels["device"], fstype: labels["fstype"]}
				mounts[labels["mountpoint"]] = om
			}
			v := m.GetGauge().GetValue()
			switch name {
			case "servermon_filesystem_size_bytes":
				om.size = v
			case "servermon_filesystem_avail_bytes":
				om.avail = v
			default:
				om.usage, om.hasUsage = v, true
			}
		}
	}
	return mounts
}

// between reports whether v lies between a and b, inclusive.
func between(v float64, a, b int64) bool {
	return v >= float64(min(a, b)) && v <= float64(max(a, b))
}

// dfPercent is df's Use% of a usage ratio: the percentage rounded up (df.c), with the ratio's float error allowed
// for at whole percentages.
func dfPercent(ratio float64) int64 { return int64(math.Ceil(ratio*100 - 1e-9)) }

// TestFilesystemMatchesDF compares the collector's values with df -B1's on this machine's real mounts, every
// mount df shows (df leaves out pseudo-filesystems, duplicates and what it cannot read: those are not compared;
// the collector runs without exclusions here, so it reports everything df shows). Size, Avail and Use% must be
// exactly df's when the mount does not change between two df runs around the collector's read; on a mount that
// does change (tests writing to /tmp), within the range the two runs span, which is exactly the change df itself
// saw. A mount outside it (changed back and forth within the read) is compared again, up to five times. Device and
// type must be df's too, and / must be among the mounts compared.
func TestFilesystemMatchesDF(t *testing.T) {
	if _, err := exec.LookPath("df"); err != nil {
		t.Fatalf("df (coreutils) not found: %v", err)
	}
	proc, err := NewProcFS("/proc")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSampler(t, []Source{NewFilesystem(proc, FilesystemConfig{StatfsTimeout: 5 * time.Second})}, 10*time.Second, time.Minute)
	var pending map[string]bool // df's mount points still to match
	compared, problems := map[string]bool{}, map[string]string{}
	for attempt := 0; attempt < 5 && (pending == nil || len(pending) > 0); attempt++ {
		before := runDF(t)
		s.clock.Advance(10 * time.Second)
		s.Sample()
		ours := ourMounts(t, s.AppendMetrics(nil))
		after := runDF(t)
		if pending == nil {
			pending = map[string]bool{}
			for point := range before {
				if _, ok := after[point]; ok {
					pending[point] = true
				}
			}
			if !pending["/"] {
				t.Fatalf("df shows no / (it shows %v)", before)
			}
		}
		for point := range pending {
			b, a, o := before[point], after[point], ours[point]
			var problem string
			switch {
			case o == nil:
				problem = "not reported"
			case o.device != b.source || o.fstype != b.fstype:
				problem = fmt.Sprintf("device %q type %q, df %q %q", o.device, o.fstype, b.source, b.fstype)
			case !between(o.size, b.size, a.size) || !between(o.avail, b.avail, a.avail):
				problem = fmt.Sprintf("size %.0f avail %.0f, df %d %d then %d %d", o.size, o.avail, b.size, b.avail, a.size, a.avail)
			case o.hasUsage != (b.pcent >= 0) || o.hasUsage && !between(float64(dfPercent(o.usage)), b.pcent, a.pcent):
				problem = fmt.Sprintf("usage %v (Use%% %d, present %v), df %d%% then %d%%", o.usage, dfPercent(o.usage), o.hasUsage, b.pcent, a.pcent)
			}
			if problem != "" {
				problems[point] = problem
				continue
			}
			delete(pending, point)
			delete(problems, point)
			compared[point] = true
		}
	}
	for point, p := range problems {
		t.Errorf("%s: %s", point, p)
	}
	if !compared["/"] {
		t.Errorf("/ not compared")
	}
	t.Logf("matched df on %d mounts: %v", len(compared), compared)
}
