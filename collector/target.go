package collector

import "slices"

// Target declares a gauge family as a forecast target. The forecaster keeps one forecast series per gauge of the
// family: one for a host-wide family, one per label set (a disk, a mount) otherwise. Each target is declared once,
// next to the family it forecasts; the forecaster, the flags, the state file and the docs read it from Targets.
type Target struct {
	// Name identifies the target: the label target="<Name>" of the forecast's own metrics, and the family
	// servermon_forecast_<Name> of its forecasts.
	Name string
	// Title names what is forecast for people, on the forecast page and in logs, e.g. "Memory usage".
	Title string
	// Min and Max bound the forecasts and their intervals: 0 and 1 for a ratio, 0 and +Inf for a rate.
	Min, Max float64
	// ThresholdFlag, when set, gives the target a time until threshold: --forecast.threshold.<ThresholdFlag>
	// sets the level, ThresholdDefault by default. Several targets may share one flag.
	ThresholdFlag    string
	ThresholdDefault float64
	// Group, for a per-device target, is the kind of device whose forecast series are capped together; nil for a
	// host-wide target.
	Group *SeriesGroup
	// Fill marks a quantity that fills up and is cleaned up now and then (a filesystem): its time until threshold
	// comes from forecast.Fill, the trend of its fill without its steps and cleanup cycles, rather than from the
	// upper bound of its forecast, which every sawtooth or temporary file would push over the threshold.
	Fill bool
}

// PerDevice reports whether the target has one series per device rather than one for the host.
func (t *Target) PerDevice() bool { return t.Group != nil }

// SeriesGroup is a kind of device (disks, mounts) whose forecast series are capped together by
// --forecast.max-<Name>-series, so that a host with hundreds of devices cannot crowd out its host-wide forecasts.
type SeriesGroup struct {
	// Name is the group's name in the flag.
	Name string
	// DefaultMax is the flag's default; Per says how many series a device has, for its help.
	DefaultMax int
	Per        string
}

// Targets returns every forecast target, host-wide ones first. The slice is new; the targets are shared and must
// not be modified.
func Targets() []*Target {
	return []*Target{cpuUsageTarget, memoryUsageTarget, swapUsageTarget, load1Target,
		diskUtilTarget, diskReadTarget, diskWriteTarget, filesystemUsageTarget, filesystemInodesTarget}
}

// TargetByName returns the target called name, or nil.
func TargetByName(name string) *Target {
	for _, t := range Targets() {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// ThresholdFlag is one --forecast.threshold.<Name> flag: the targets whose time until threshold it sets, and its
// default.
type ThresholdFlag struct {
	Name    string
	Targets []string
	Default float64
}

// ThresholdFlags returns the threshold flags of the targets, once each, in target order. Targets sharing a flag
// share its default (TestThresholdFlags).
func ThresholdFlags() []ThresholdFlag {
	var flags []ThresholdFlag
	index := map[string]int{}
	for _, t := range Targets() {
		if t.ThresholdFlag == "" {
			continue
		}
		i, ok := index[t.ThresholdFlag]
		if !ok {
			i, index[t.ThresholdFlag] = len(flags), len(flags)
			flags = append(flags, ThresholdFlag{Name: t.ThresholdFlag, Default: t.ThresholdDefault})
		}
		flags[i].Targets = append(flags[i].Targets, t.Name)
	}
	return flags
}

// SeriesGroups returns the groups of the per-device targets, once each, in target order.
func SeriesGroups() []*SeriesGroup {
	var groups []*SeriesGroup
	for _, t := range Targets() {
		if t.Group != nil && !slices.Contains(groups, t.Group) {
			groups = append(groups, t.Group)
		}
	}
	return groups
}
