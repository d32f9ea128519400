package selfmetrics

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/servermon/servermon_exporter/internal/exposition"
)

// goMetrics renders the go_ families of client_golang's Go collector at its defaults (collectors.NewGoCollector()),
// with the same names, help, types and values, straight from runtime/metrics into text: the collector builds a
// protobuf message per metric and the text encoder walks them, 450 allocations and most of a refresh's CPU.
type goMetrics struct {
	samples []metrics.Sample
	gc      debug.GCStats
	info    string // go_info's labels
}

// The runtime/metrics read, in goMetrics.samples order.
const (
	rmTinyAllocs = iota
	rmAllocsObjects
	rmFreesObjects
	rmAllocsBytes
	rmHeapObjects
	rmHeapGoal
	rmTotal
	rmHeapObjectsBytes
	rmHeapUnused
	rmHeapReleased
	rmHeapFree
	rmHeapStacks
	rmOSStacks
	rmMSpanInuse
	rmMSpanFree
	rmMCacheInuse
	rmMCacheFree
	rmProfBuckets
	rmMetadataOther
	rmOther
	rmGOGC
	rmMemLimit
	rmGOMAXPROCS
	rmCount
)

var rmNames = [rmCount]string{
	"/gc/heap/tiny/allocs:objects", "/gc/heap/allocs:objects", "/gc/heap/frees:objects", "/gc/heap/allocs:bytes",
	"/gc/heap/objects:objects", "/gc/heap/goal:bytes", "/memory/classes/total:bytes", "/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes", "/memory/classes/heap/released:bytes", "/memory/classes/heap/free:bytes",
	"/memory/classes/heap/stacks:bytes", "/memory/classes/os-stacks:bytes", "/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/mspan/free:bytes", "/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/mcache/free:bytes", "/memory/classes/profiling/buckets:bytes",
	"/memory/classes/metadata/other:bytes", "/memory/classes/other:bytes", "/gc/gogc:percent", "/gc/gomemlimit:bytes",
	"/sched/gomaxprocs:threads",
}

func newGoMetrics() *goMetrics {
	g := &goMetrics{samples: make([]metrics.Sample, rmCount), info: exposition.Labels([]string{"version"}, []string{runtime.Version()})}
	for i, name := range rmNames {
		g.samples[i].Name = name
	}
	g.gc.PauseQuantiles = make([]time.Duration, 5)
	return g
}

// appendMetrics appends the go_ families in name order, as client_golang computes them (memStatsFromRM and the
// base collector).
func (g *goMetrics) appendMetrics(b []byte) []byte {
	metrics.Read(g.samples)
	v := func(i int) float64 {
		if g.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0 // a metric this Go version lacks: client_golang reads it as 0 too
		}
		return float64(g.samples[i].Value.Uint64())
	}
	debug.ReadGCStats(&g.gc)
	threads, _ := runtime.ThreadCreateProfile(nil)

	b = exposition.AppendHeader(b, "go_gc_duration_seconds", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", "summary")
	for i, q := range [...]string{"0", "0.25", "0.5", "0.75", "1"} {
		b = exposition.AppendSample(b, "go_gc_duration_seconds", `{quantile="`+q+`"}`, g.gc.PauseQuantiles[i].Seconds())
	}
	b = exposition.AppendSample(b, "go_gc_duration_seconds_sum", "", g.gc.PauseTotal.Seconds())
	b = exposition.AppendSample(b, "go_gc_duration_seconds_count", "", float64(g.gc.NumGC))

	heapAlloc, tiny := v(rmHeapObjectsBytes), v(rmTinyAllocs)
	heapInuse := heapAlloc + v(rmHeapUnused)
	heapIdle := v(rmHeapReleased) + v(rmHeapFree)
	for _, f := range [...]struct {
		name, help, typ string
		v               float64
	}{
		{"go_gc_gogc_percent", "Heap size target percentage configured by the user, otherwise 100. This value is set by the GOGC environment variable, and the runtime/debug.SetGCPercent function. Sourced from /gc/gogc:percent.", "gauge", v(rmGOGC)},
		{"go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function. Sourced from /gc/gomemlimit:bytes.", "gauge", v(rmMemLimit)},
		{"go_goroutines", "Number of goroutines that currently exist.", "gauge", float64(runtime.NumGoroutine())},
		{"go_info", "Information about the Go environment.", "gauge", 1},
		{"go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", "gauge", heapAlloc},
		{"go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", "counter", v(rmAllocsBytes)},
		{"go_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", "gauge", v(rmProfBuckets)},
		{"go_memstats_frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", "counter", v(rmFreesObjects) + tiny},
		{"go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", "gauge", v(rmMetadataOther)},
		{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", "gauge", heapAlloc},
		{"go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", "gauge", heapIdle},
		{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", "gauge", heapInuse},
		{"go_memstats_heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", "gauge", v(rmHeapObjects)},
		{"go_memstats_heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", "gauge", v(rmHeapReleased)},
		{"go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", "gauge", heapInuse + heapIdle},
		{"go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", "gauge", float64(g.gc.LastGC.UnixNano()) / 1e9},
		{"go_memstats_mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", "counter", v(rmAllocsObjects) + tiny},
		{"go_memstats_mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", "gauge", v(rmMCacheInuse)},
		{"go_memstats_mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", "gauge", v(rmMCacheInuse) + v(rmMCacheFree)},
		{"go_memstats_mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", "gauge", v(rmMSpanInuse)},
		{"go_memstats_mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", "gauge", v(rmMSpanInuse) + v(rmMSpanFree)},
		{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", "gauge", v(rmHeapGoal)},
		{"go_memstats_other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", "gauge", v(rmOther)},
		{"go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", "gauge", v(rmHeapStacks)},
		{"go_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", "gauge", v(rmHeapStacks) + v(rmOSStacks)},
		{"go_memstats_sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", "gauge", v(rmTotal)},
		{"go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously. Sourced from /sched/gomaxprocs:threads.", "gauge", v(rmGOMAXPROCS)},
		{"go_threads", "Number of OS threads created.", "gauge", float64(threads)},
	} {
		b = exposition.AppendHeader(b, f.name, f.help, f.typ)
		labels := ""
		if f.name == "go_info" {
			labels = g.info
		}
		b = exposition.AppendSample(b, f.name, labels, f.v)
	}
	return b
}
