package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// synthProc writes a /proc tree in the kernel's spelling for a machine of cpus CPUs and disks whole disks (each
// with two partitions), with counters that differ per line. seed shifts every counter, so that two trees written
// with seeds s and s+1 are a plausible pair of readings one interval apart.
func synthProc(tb testing.TB, dir string, cpus, disks int, seed uint64) {
	tb.Helper()
	var b strings.Builder
	line := func(name string, base uint64) {
		fmt.Fprintf(&b, "%s %d %d %d %d %d %d %d %d 0 0\n", name, base*7+seed*60, base+seed, base*3+seed*20,
			base*50+seed*900, base/2+seed*5, base/10+seed, base/9+seed*2, seed)
	}
	line("cpu ", 1000003)
	for i := range cpus {
		line(fmt.Sprintf("cpu%d", i), 1000003/uint64(cpus)+uint64(i)*17)
	}
	irqs := 64 + 8*cpus // per-CPU vectors make intr grow with the machine
	fmt.Fprintf(&b, "intr %d", 123456789+seed*1000)
	for i := range irqs {
		fmt.Fprintf(&b, " %d", (uint64(i)*7919+seed)%100000*uint64(i%3))
	}
	fmt.Fprintf(&b, "\nctxt %d\nbtime 1700000000\nprocesses %d\nprocs_running 3\nprocs_blocked 0\n", 987654321+seed*1000, 4321+seed)
	fmt.Fprintf(&b, "softirq %d 1 2 3 4 5 6 7 8 9 10\n", 55555+seed)
	writeSynth(tb, dir, "stat", b.String())

	b.Reset()
	for _, kv := range []struct {
		key string
		kb  uint64
	}{{"MemTotal", 24684032}, {"MemFree", 23173640 - seed}, {"MemAvailable", 24205860 - seed}, {"Buffers", 59504},
		{"Cached", 1187028}, {"SwapCached", 0}, {"Active", 503176}, {"Inactive", 892816}, {"Active(anon)", 151912},
		{"Inactive(anon)", 0}, {"Active(file)", 351264}, {"Inactive(file)", 892816}, {"Unevictable", 0}, {"Mlocked", 0},
		{"SwapTotal", 4194300}, {"SwapFree", 4194300 - seed}, {"Zswap", 0}, {"Zswapped", 0}, {"Dirty", 180},
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
	writeSynth(tb, dir, "meminfo", b.String())

	writeSynth(tb, dir, "loadavg", fmt.Sprintf("%d.%02d 0.75 0.50 2/%d 12345\n", seed%100, seed%100, 300+cpus))
	for i, r := range pressureResources {
		some, full := 1000000*uint64(i+1)+seed*5000, 500000*uint64(i+1)+seed*2000
		writeSynth(tb, dir, "pressure/"+r, fmt.Sprintf("some avg10=0.%02d avg60=1.50 avg300=0.25 total=%d\nfull avg10=0.00 avg60=0.10 avg300=0.05 total=%d\n", seed%100, some, full))
	}

	b.Reset()
	for i := range 8 {
		fmt.Fprintf(&b, "   7       %d loop%d 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", i, i)
	}
	for d := range disks {
		name := fmt.Sprintf("nvme%dn1", d)
		for p := range 3 {
			n, s := name, seed*uint64(d+1)
			if p > 0 {
				n, s = fmt.Sprintf("%sp%d", name, p), s/2
			}
			fmt.Fprintf(&b, " 259 %7d %s %d %d %d %d %d %d %d %d 0 %d %d %d %d %d %d %d %d\n", d*3+p, n,
				59473+s*20, 9784+s, 2446170+s*2000, 52200+s*30, 44224+s*10, 54585+s, 4240328+s*800, 28821+s*15,
				18240+s*500, 85631+s*45, 48224, 51, 2646968, 4457, 2745+s, 151+s)
		}
	}
	writeSynth(tb, dir, "diskstats", b.String())
	writeSynth(tb, dir, "1/mountinfo", synthMountinfo)
}

// synthMountinfo is a server's mount table in the kernel's spelling: the pseudo-filesystems the default exclusions
// drop, and six mounts at directories Linux machines have, so that their statfs is real.
const synthMountinfo = `21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
22 26 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
23 26 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=12316968k,nr_inodes=3079242,mode=755,inode64
24 23 0:22 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
25 26 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=2468404k,mode=755,inode64
26 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
27 21 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
28 26 259:3 / /usr rw,relatime shared:30 - ext4 /dev/nvme0n1p3 rw
29 26 259:4 / /var rw,relatime shared:31 - xfs /dev/nvme1n1p1 rw,attr2,inode64,logbufs=8,logbsize=32k,noquota
30 26 0:35 / /tmp rw,nosuid,nodev shared:32 - tmpfs tmpfs rw,size=12342016k,inode64
31 26 259:5 / /etc ro,relatime shared:33 - ext4 /dev/nvme2n1p1 rw
`

func writeSynth(tb testing.TB, dir, name, content string) {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
