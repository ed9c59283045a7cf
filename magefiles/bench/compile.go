package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
)

// CompileWork is what one release run reports about its go builds in release.json: the CPU
// time they took and the cores they shared. A run that wastes nothing takes about BuildCPU /
// Cores of wall time; everything else it does (configuration, images, push) shows as the
// excess.
type CompileWork struct {
	BuildCPU   float64 `json:"build_cpu_seconds"` // the go builds' user+system time, compile and link included
	Cores      int     `json:"cores"`
	RunSeconds float64 `json:"run_seconds"` // the release's own wall time, from its configuration to its last tag
}

// Seconds is the compile work spread over the cores: the shortest wall time the builds allow.
func (w CompileWork) Seconds() float64 {
	if w.Cores < 1 {
		return math.NaN()
	}
	return w.BuildCPU / float64(w.Cores)
}

// readCompileWork reads the go builds' CPU time, the cores and the run's wall time from the
// release.json a release run wrote.
func readCompileWork(path string) (CompileWork, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return CompileWork{}, err
	}
	var rep struct {
		Seconds   float64 `json:"seconds"`
		Cores     int     `json:"cores"`
		Platforms []struct {
			BuildCPUSeconds float64 `json:"build_cpu_seconds"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return CompileWork{}, fmt.Errorf("reading %s: %w", path, err)
	}
	w := CompileWork{Cores: rep.Cores, RunSeconds: rep.Seconds}
	for _, p := range rep.Platforms {
		w.BuildCPU += p.BuildCPUSeconds
	}
	if w.Cores < 1 || w.BuildCPU <= 0 || w.RunSeconds <= 0 {
		return CompileWork{}, fmt.Errorf("%s has no build CPU time, cores or run time", path)
	}
	return w, nil
}

// compileRatios returns, for the samples that carry compile work, the median over runs of
// the measured wall time and of the release's own run time, each divided by the compile work
// of the same run.
func compileRatios(samples []Sample) (n int, wall, run, work, cpu float64) {
	var ws, rs, works, cpus []float64
	for _, s := range samples {
		if s.Compile == nil {
			continue
		}
		w := s.Compile.Seconds()
		ws = append(ws, s.Seconds/w)
		rs = append(rs, s.Compile.RunSeconds/w)
		works = append(works, w)
		cpus = append(cpus, s.Compile.BuildCPU)
	}
	if len(ws) == 0 {
		return 0, math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	return len(ws), Median(ws), Median(rs), Median(works), Median(cpus)
}

// writeCompileWork writes the table of the release cases against their compile work, if any
// case has it.
func writeCompileWork(w io.Writer, r Results) {
	header := false
	for _, c := range r.Cases {
		n, wall, run, work, cpu := compileRatios(c.Ours.Samples)
		if n == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\n## Release time against compile work\n\n")
			fmt.Fprintf(w, "Compile work is the CPU time of the release's go builds (compile and link included) over the cores: the wall time the builds alone would take with every core busy. ")
			fmt.Fprintf(w, "The whole run is the measured `mage release` command; the release itself is the time it reports in release.json, from reading its configuration to pushing the last tag.\n\n")
			fmt.Fprintf(w, "| Case | go build CPU time | Compile work | Whole run / compile work | Release / compile work | Runs |\n")
			fmt.Fprintf(w, "|---|---|---|---|---|---|\n")
			header = true
		}
		fmt.Fprintf(w, "| %s: %s | %s | %s | %.2fx | %.2fx | %d |\n",
			cell(c.Group), cell(c.Name), fmtSeconds(cpu), fmtSeconds(work), wall, run, n)
	}
}
