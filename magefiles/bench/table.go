package bench

import (
	"fmt"
	"io"
	"strings"
)

// writeMarkdown writes the results as a markdown page: the chart (when chart is not ""), one
// table row per case, the machine and versions, and the notes on method.
func writeMarkdown(w io.Writer, r Results, chart string) {
	fmt.Fprintf(w, "# xgo-build benchmarks\n\n")
	if r.Quick {
		fmt.Fprintf(w, "**Quick mode** (XGO_BENCH_QUICK): few runs, not for publishing.\n\n")
	}
	if chart != "" {
		fmt.Fprintf(w, "![median seconds per case, ours against the alternative](%s)\n\n", chart)
	}
	fmt.Fprintf(w, "| Case | Ours | Median (min-max) | Theirs | Median (min-max) | Ours / theirs | CPU time (ours / theirs) | Peak memory (ours / theirs) | Runs |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.Cases {
		o, t := c.Ours.Summary, c.Theirs.Summary
		fmt.Fprintf(w, "| %s: %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %d / %d |\n",
			cell(c.Group), cell(c.Name),
			cell(c.Ours.Tool), spread(o),
			cell(c.Theirs.Tool), spread(t),
			fmtRatio(c.Ratio()),
			cpuTime(o), cpuTime(t),
			fmtBytes(o.PeakRSS), fmtBytes(t.PeakRSS),
			o.N, t.N)
	}
	writeCompileWork(w, r)
	writePhases(w, r)
	fmt.Fprintf(w, "\n## Machine and versions\n\n")
	m := r.Machine
	fmt.Fprintf(w, "- Machine: %d CPUs (%s), %s memory, %s, kernel %s\n",
		m.CPUs, cell(m.CPUModel), fmtBytes(m.MemoryBytes), cell(m.OS), cell(m.Kernel))
	for _, v := range r.Versions {
		fmt.Fprintf(w, "- %s: %s\n", v.Name, cell(v.Version))
	}
	fmt.Fprintf(w, "- Run: %s, %s in all\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), fmtSeconds(r.Seconds))
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\n## Method\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// spread formats a summary as "median (min-max)".
func spread(s Summary) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%s-%s)", fmtSeconds(s.Median), fmtSeconds(s.Min), fmtSeconds(s.Max))
}

// cpuTime formats a summary's median CPU time, "-" when nothing was measured.
func cpuTime(s Summary) string {
	if s.N == 0 {
		return "-"
	}
	return fmtSeconds(s.CPU)
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
