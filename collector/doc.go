// Package collector reads host metrics from /proc, one source per subsystem, samples them in the background at a
// fixed interval and keeps, for every gauge, a bounded window of per-interval values from which the exposed
// averages and peaks are computed.
//
// Reads go through github.com/prometheus/procfs's types and semantics at a fraction of its cost: every source keeps
// its files open, re-reads them in place, and parses them without allocating; content outside the kernel's own
// spelling is handed to procfs's parsers (see ProcFS). A sample allocates nothing once running.
//
// Every per-interval value is stored as a (numerator, denominator) pair, so that the window average is
// Σnum/Σden: a rate is Δcount/Δt, a CPU share is Δbusy/Δtotal, an await is Δticks/Δios. The window average is
// therefore exactly what iostat, mpstat or free would print for the whole window, and the peak is the largest
// single-interval value num/den within it.
package collector
