package bench

import (
	"math"
	"slices"
)

// Sample is one measured run: its wall-clock time and the peak resident memory reported for it.
type Sample struct {
	Seconds  float64 `json:"seconds"`
	CPU      float64 `json:"cpu_seconds"` // user+system time of the process and its waited-for descendants
	MaxRSS   int64   `json:"max_rss_bytes"`
	Digest   string  `json:"digest,omitempty"` // the pushed index, for the release cases
	Iterated int     `json:"iteration"`        // 1-based run number within its case
	// Compile is the go builds' work as the release run reported it (ours, release cases).
	Compile *CompileWork `json:"compile,omitempty"`
	// Phases is the wall time of each phase of a Dockerfile build (see writePhases).
	Phases map[string]float64 `json:"phases_seconds,omitempty"`
}

// Summary condenses the samples of one side of a case.
type Summary struct {
	N       int     `json:"n"`
	Median  float64 `json:"median_seconds"`
	Min     float64 `json:"min_seconds"`
	Max     float64 `json:"max_seconds"`
	CPU     float64 `json:"median_cpu_seconds"` // less disturbed than wall time by a busy machine
	PeakRSS int64   `json:"peak_rss_bytes"`     // the largest MaxRSS among the samples
}

// Summarize returns the median, range and peak memory of samples; the zero Summary for none.
func Summarize(samples []Sample) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	secs := make([]float64, len(samples))
	cpu := make([]float64, len(samples))
	var peak int64
	for i, s := range samples {
		secs[i], cpu[i] = s.Seconds, s.CPU
		peak = max(peak, s.MaxRSS)
	}
	return Summary{
		N:       len(samples),
		Median:  Median(secs),
		Min:     slices.Min(secs),
		Max:     slices.Max(secs),
		CPU:     Median(cpu),
		PeakRSS: peak,
	}
}

// Median returns the middle value of xs (the mean of the two middle values for an even count),
// or NaN for an empty slice. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratio returns ours/theirs, the share of the alternative's time ours takes (0.1 means ten
// times faster), or NaN when theirs is not a positive time.
func Ratio(ours, theirs float64) float64 {
	if !(theirs > 0) || ours < 0 {
		return math.NaN()
	}
	return ours / theirs
}
