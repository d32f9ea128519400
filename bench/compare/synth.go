package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeFakeProc writes a /proc tree in the kernel's spelling for a machine of cpus CPUs and disks whole disks
// (each with two partitions, plus eight loop devices): the files both exporters read. The counters are static;
// parsing and rendering cost the same whatever their values.
func writeFakeProc(dir string, cpus, disks int) error {
	files := map[string]string{}
	var b strings.Builder
	line := func(name string, base uint64) {
		fmt.Fprintf(&b, "%s %d %d %d %d %d %d %d %d 0 0\n", name, base*7, base, base*3, base*50, base/2, base/10, base/9, base/100)
	}
	line("cpu ", 1000003*uint64(cpus))
	for i := range cpus {
		line(fmt.Sprintf("cpu%d", i), 1000003+uint64(i)*17)
	}
	fmt.Fprintf(&b, "intr 123456789")
	for i := range 64 + 8*cpus { // per-CPU vectors make intr grow with the machine
		fmt.Fprintf(&b, " %d", uint64(i)*7919%100000*uint64(i%3))
	}
	b.WriteString("\nctxt 987654321\nbtime 1700000000\nprocesses 4321\nprocs_running 3\nprocs_blocked 0\n")
	b.WriteString("softirq 55555 1 2 3 4 5 6 7 8 9 10\n")
	files["stat"] = b.String()

	b.Reset()
	for _, kv := range []struct {
		key string
		kb  uint64
	}{{"MemTotal", 24684032}, {"MemFree", 23173640}, {"MemAvailable", 24205860}, {"Buffers", 59504},
		{"Cached", 1187028}, {"SwapCached", 0}, {"Active", 503176}, {"Inactive", 892816}, {"Active(anon)", 151912},
		{"Inactive(anon)", 0}, {"Active(file)", 351264}, {"Inactive(file)", 892816}, {"Unevictable", 0}, {"Mlocked", 0},
		{"SwapTotal", 4194300}, {"SwapFree", 4194300}, {"Zswap", 0}, {"Zswapped", 0}, {"Dirty", 180},
		{"Writeback", 0}, {"AnonPages", 149600}, {"Mapped", 205408}, {"Shmem", 8740}, {"KReclaimable", 50232},
		{"Slab", 109092}, {"SReclaimable", 50232}, {"SUnreclaim", 58860}, {"KernelStack", 3744}, {"PageTables", 3736},
		{"SecPageTables", 0}, {"NFS_Unstable", 0}, {"Bounce", 0}, {"WritebackTmp", 0}, {"CommitLimit", 12342016},
		{"Committed_AS", 1047524}, {"VmallocTotal", 34359738367}, {"VmallocUsed", 20644}, {"VmallocChunk", 0},
		{"Percpu", 2304}, {"AnonHugePages", 0}, {"ShmemHugePages", 0}, {"ShmemPmdMapped", 0}, {"FileHugePages", 0},
		{"FilePmdMapped", 0}, {"Unaccepted", 0}} {
		fmt.Fprintf(&b, "%-16s%8d kB\n", kv.key+":", kv.kb)
	}
	b.WriteString("HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n")
	b.WriteString("Hugepagesize:       2048 kB\nHugetlb:               0 kB\nDirectMap4k:      114688 kB\n")
	files["meminfo"] = b.String()

	files["loadavg"] = fmt.Sprintf("0.42 0.75 0.50 2/%d 12345\n", 300+cpus)
	for i, r := range []string{"cpu", "io", "memory"} {
		files["pressure/"+r] = fmt.Sprintf("some avg10=0.12 avg60=1.50 avg300=0.25 total=%d\nfull avg10=0.00 avg60=0.10 avg300=0.05 total=%d\n",
			1000000*(i+1), 500000*(i+1))
	}

	b.Reset()
	for i := range 8 {
		fmt.Fprintf(&b, "   7       %d loop%d 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", i, i)
	}
	for d := range disks {
		name := fmt.Sprintf("nvme%dn1", d)
		for p := range 3 {
			n := name
			if p > 0 {
				n = fmt.Sprintf("%sp%d", name, p)
			}
			s := uint64(d*3 + p + 1)
			fmt.Fprintf(&b, " 259 %7d %s %d %d %d %d %d %d %d %d 0 %d %d %d %d %d %d %d %d\n", d*3+p, n,
				59473*s, 9784*s, 2446170*s, 52200*s, 44224*s, 54585*s, 4240328*s, 28821*s, 18240*s, 85631*s, 48224, 51, 2646968, 4457, 2745, 151)
		}
	}
	files["diskstats"] = b.String()

	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("fake /proc: %w", err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("fake /proc: %w", err)
		}
	}
	return nil
}
