package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkOverhead compares a warm "xgo-build" of a sample program (TARGETPLATFORM set,
// the real go found on PATH and exec'd) with a warm plain "go build" given the same
// variables, alternating the two, for testdata/hello and testdata/midsize (net/http,
// crypto/tls, go-containerregistry: a realistic program) as sub-benchmarks. xgo-build is
// built static (CGO_ENABLED=0), as the README installs it and the image ships it. It reports
// the median wall time of each and their ratio (shim/go, 1.00 = no overhead), and the same
// for CPU time (user+system), which a busy machine disturbs less. Run it with e.g.
// -benchtime=30x.
func BenchmarkOverhead(b *testing.B) {
	shim := shimBinary(b)
	gopath, err := exec.LookPath("go")
	if err != nil {
		b.Fatal(err)
	}
	for _, program := range []string{"hello", "midsize"} {
		b.Run(program, func(b *testing.B) { benchOverhead(b, shim, gopath, program) })
	}
}

// benchOverhead runs BenchmarkOverhead for one program of testdata.
func benchOverhead(b *testing.B, shim, gopath, program string) {
	work := b.TempDir()
	src := filepath.Join(work, program)
	if err := copyDir(sampleDir(b, program), src); err != nil {
		b.Fatal(err)
	}
	const platform = "linux/arm64"
	vars, err := Vars(mustParse(b, platform), func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	plain := exec.Command(gopath, "build", "-o", filepath.Join(work, "plain"), ".")
	plain.Env = withEnv(os.Environ(), vars)
	viaShim := exec.Command(shim, "-o", filepath.Join(work, "shim"), ".")
	viaShim.Env = withEnv(os.Environ(), []string{"TARGETPLATFORM=" + platform})
	runs := []*exec.Cmd{plain, viaShim}
	for _, c := range runs {
		c.Dir = src
		run(b, c) // warm the cache and the outputs
	}
	times := interleave(b, runs)
	gw, gc := medians(times[0])
	sw, sc := medians(times[1])
	b.ReportMetric(ms(gw), "go-ms")
	b.ReportMetric(ms(sw), "shim-ms")
	b.ReportMetric(float64(sw)/float64(gw), "ratio")
	b.ReportMetric(ms(gc), "go-cpu-ms")
	b.ReportMetric(ms(sc), "shim-cpu-ms")
	b.ReportMetric(float64(sc)/float64(gc), "cpu-ratio")
}

// sampleDir returns the absolute path of the sample program testdata/<program>.
func sampleDir(b *testing.B, program string) string {
	b.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", program))
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkStartup measures the shim's own start-up, from its start to its exec of go, by
// three commands run interleaved (each iteration starts with the next one in turn):
//
//   - T: a tiny static Go program (package main importing only os and syscall, built here
//     with CGO_ENABLED=0) that exits at once. It stands for the real go: the shim reads the
//     build info of the go it runs, so T is a Go binary like go.
//   - shim: xgo-build, built static as the README installs it, run as `xgo-build -o app .`
//     with XGO_GO=T and TARGETPLATFORM=linux/arm64: it parses, maps the platform, checks T
//     and execs it.
//   - floor: T itself with XGO_FLOOR_EXEC=T, so it execs T (without that variable): what
//     any Go program pays to start and exec another, before doing anything of its own.
//
// It reports medians of wall time and of CPU time (user+system, the process and what it
// exec'd; a busy machine disturbs it less): startup-ms is shim minus T, the time from the
// shim's start to its exec of go; floor-ms is floor minus T; own-ms is startup minus floor,
// the work that is the shim's own (its larger binary, package init, parsing, finding go).
// It also reports a whole --xgo-env run, which starts no go at all. Run it with e.g.
// -benchtime=200x: each figure is a difference of medians of few-millisecond runs.
func BenchmarkStartup(b *testing.B) {
	shim := shimBinary(b)
	target := floorBinary(b)
	env := withEnv(os.Environ(), []string{"TARGETPLATFORM=linux/arm64", "XGO_FLOOR_EXEC="})
	mk := func(path string, env []string, args ...string) *exec.Cmd {
		c := exec.Command(path, args...)
		c.Env = env
		return c
	}
	app := filepath.Join(b.TempDir(), "app")
	cmds := []*exec.Cmd{
		mk(target, env),
		mk(shim, withEnv(env, []string{"XGO_GO=" + target}), "-o", app, "."),
		mk(target, withEnv(env, []string{"XGO_FLOOR_EXEC=" + target})),
		mk(shim, env, "--xgo-env"),
	}
	for _, c := range cmds {
		run(b, c)
	}
	times := interleave(b, cmds)
	tw, tc := medians(times[0])
	sw, sc := medians(times[1])
	fw, fc := medians(times[2])
	ew, ec := medians(times[3])
	b.ReportMetric(ms(tw), "target-ms")
	b.ReportMetric(ms(sw-tw), "startup-ms")
	b.ReportMetric(ms(fw-tw), "floor-ms")
	b.ReportMetric(ms(sw-fw), "own-ms")
	b.ReportMetric(ms(sc-tc), "startup-cpu-ms")
	b.ReportMetric(ms(fc-tc), "floor-cpu-ms")
	b.ReportMetric(ms(sc-fc), "own-cpu-ms")
	b.ReportMetric(ms(ew), "xgo-env-ms")
	b.ReportMetric(ms(ec), "xgo-env-cpu-ms")
}

// floorBinary builds testdata/floor (T of BenchmarkStartup) with CGO_ENABLED=0 and returns the
// path of the binary.
func floorBinary(b *testing.B) string {
	b.Helper()
	src, err := filepath.Abs(filepath.Join("..", "testdata", "floor"))
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "floor"+exeSuffix())
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = withEnv(os.Environ(), []string{"CGO_ENABLED=0", "GOWORK=off"})
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the floor program: %v\n%s", err, msg)
	}
	return out
}

// interleave runs every command once per benchmark iteration, starting each iteration with
// the next command in turn so that none always runs first, and returns the timings of each.
func interleave(b *testing.B, cmds []*exec.Cmd) [][]timing {
	times := make([][]timing, len(cmds))
	i := 0
	for b.Loop() {
		for j := range cmds {
			k := (i + j) % len(cmds)
			times[k] = append(times[k], run(b, cmds[k]))
		}
		i++
	}
	return times
}

// timing is the cost of one run of a command.
type timing struct {
	wall time.Duration // elapsed
	cpu  time.Duration // user + system time of the process (the shim and the go it became)
}

// run runs a copy of the command c and returns how long it took.
func run(b *testing.B, c *exec.Cmd) timing {
	b.Helper()
	cmd := exec.Command(c.Path, c.Args[1:]...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return timing{wall: d, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// medians returns the median wall and CPU times of ts.
func medians(ts []timing) (wall, cpu time.Duration) {
	var w, c []time.Duration
	for _, t := range ts {
		w = append(w, t.wall)
		c = append(c, t.cpu)
	}
	return median(w), median(c)
}

// ms converts d to milliseconds for ReportMetric.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkFindGo measures finding the real go on PATH, including the build-info check that
// tells a copy of xgo-build from go: the part of the start-up the shim adds before exec.
func BenchmarkFindGo(b *testing.B) {
	gopath, err := exec.LookPath("go")
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"PATH": "/nonexistent" + string(os.PathListSeparator) + filepath.Dir(gopath)}
	getenv := func(k string) string { return env[k] }
	for b.Loop() {
		if _, _, err := findGo(getenv, ""); err != nil {
			b.Fatal(err)
		}
	}
}
