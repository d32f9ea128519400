package collector

// Config holds the settings of every collector; each reads its own part.
type Config struct {
	CPU        CPUConfig
	Disk       DiskConfig
	Filesystem FilesystemConfig
}

// Collector is one entry of the table of collectors: --collector.<Name> enables it, New builds its source.
type Collector struct {
	// Name is the source's Name, used in --collector.<Name> and in the collector label.
	Name string
	// Reads says what the collector reads, for the flag's help.
	Reads string
	// EnabledByDefault is the flag's default.
	EnabledByDefault bool
	// New returns the collector's source reading proc.
	New func(proc ProcFS, cfg Config) Source
}

// Collectors returns the table of collectors, in the order their families are exposed. The slice is new on every
// call.
func Collectors() []Collector {
	return []Collector{
		{Name: "cpu", Reads: "/proc/stat", EnabledByDefault: true, New: func(p ProcFS, c Config) Source { return NewCPU(p, c.CPU) }},
		{Name: "disk", Reads: "/proc/diskstats", EnabledByDefault: true, New: func(p ProcFS, c Config) Source { return NewDisk(p, c.Disk) }},
		{Name: "filesystem", Reads: "mountinfo, statfs", EnabledByDefault: true, New: func(p ProcFS, c Config) Source { return NewFilesystem(p, c.Filesystem) }},
		{Name: "load", Reads: "/proc/loadavg", EnabledByDefault: true, New: func(p ProcFS, _ Config) Source { return NewLoad(p) }},
		{Name: "memory", Reads: "/proc/meminfo", EnabledByDefault: true, New: func(p ProcFS, _ Config) Source { return NewMemory(p) }},
		{Name: "pressure", Reads: "/proc/pressure", EnabledByDefault: true, New: func(p ProcFS, _ Config) Source { return NewPressure(p) }},
	}
}

// NewSources returns the sources of the enabled collectors, in table order.
func NewSources(proc ProcFS, cfg Config, enabled func(name string) bool) []Source {
	var sources []Source
	for _, c := range Collectors() {
		if enabled(c.Name) {
			sources = append(sources, c.New(proc, cfg))
		}
	}
	return sources
}
