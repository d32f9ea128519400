package fakeproc_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// A fleet harness: hosts on one tmpfs, each with its own scenario, advanced and written every tick. Exporters
// pointed at the trees (--path.procfs) read whole files whenever they sample.
func Example_fleet() {
	root, err := os.MkdirTemp("/dev/shm", "fleet-")
	if err != nil {
		root, err = os.MkdirTemp("", "fleet-") // slower: see the package doc
	}
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	type host struct {
		tree   *fakeproc.Tree
		levels func(t time.Duration) fakeproc.Levels
	}
	scenarios := []func(t time.Duration) fakeproc.Levels{
		func(time.Duration) fakeproc.Levels { return fakeproc.Levels{CPU: fakeproc.Busy(0.02), MemUsed: 0.2} }, // idle
		func(t time.Duration) fakeproc.Levels { // a daily cycle
			day := math.Sin(2 * math.Pi * t.Hours() / 24)
			return fakeproc.Levels{CPU: fakeproc.Busy(0.4 + 0.3*day), MemUsed: 0.5, Load: 4 + 3*day}
		},
		func(t time.Duration) fakeproc.Levels { // a memory leak of 1 % a minute
			return fakeproc.Levels{CPU: fakeproc.Busy(0.1), MemUsed: math.Min(0.3+t.Minutes()/100, 1), Load: 1}
		},
	}
	var hosts []host
	for i, levels := range scenarios {
		tree, err := fakeproc.New(filepath.Join(root, fmt.Sprint("host", i)), fakeproc.Machine{CPUs: 4, MemTotal: 8 << 20,
			Disks:    []fakeproc.Disk{{Major: 8, Minor: 0, Name: "sda"}},
			Pressure: []fakeproc.Resource{fakeproc.PressureCPU, fakeproc.PressureIO, fakeproc.PressureMemory}})
		if err != nil {
			log.Fatal(err)
		}
		hosts = append(hosts, host{tree, levels})
	}
	const tick = time.Second
	for elapsed := tick; elapsed <= 10*time.Minute; elapsed += tick { // a real harness waits a tick here
		for _, h := range hosts {
			h.tree.Advance(tick, h.levels(elapsed))
			if err := h.tree.Write(); err != nil {
				log.Fatal(err)
			}
		}
	}
	leak := hosts[2].tree
	fmt.Printf("after 10 minutes the leaking host has %d of %d kB available\n", leak.Mem.MemAvailable, leak.Mem.MemTotal)
	// Output: after 10 minutes the leaking host has 5033164 of 8388608 kB available
}
