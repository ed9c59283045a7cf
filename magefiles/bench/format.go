package bench

import (
	"fmt"
	"math"
)

// fmtSeconds formats a duration in seconds with about three significant digits, in
// milliseconds below one second.
func fmtSeconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s < 10:
		return fmt.Sprintf("%.2f s", s)
	case s < 100:
		return fmt.Sprintf("%.1f s", s)
	default:
		return fmt.Sprintf("%.0f s", s)
	}
}

// fmtRatio formats ours/theirs as "0.11x" followed by what it means in words.
func fmtRatio(r float64) string {
	return fmt.Sprintf("%.2fx (%s)", r, ratioWords(r))
}

// ratioWords says what ours/theirs means: "9.1x faster", "12% less time", "3% more time",
// "2.4x slower" or "same time".
func ratioWords(r float64) string {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return "no ratio"
	case r <= 0.5:
		return fmt.Sprintf("%.1fx faster", 1/r)
	case r < 0.995:
		return fmt.Sprintf("%.0f%% less time", (1-r)*100)
	case r <= 1.005:
		return "same time"
	case r < 2:
		return fmt.Sprintf("%.0f%% more time", (r-1)*100)
	default:
		return fmt.Sprintf("%.1fx slower", r)
	}
}

// fmtBytes formats a memory size in megabytes (10^6 bytes), or "-" when unknown.
func fmtBytes(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MB", float64(b)/1e6)
}
