package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkOverhead compares a warm "xgo-build" of the sample program (TARGETPLATFORM set,
// the real go found on PATH and exec'd) with a warm plain "go build" given the same
// variables, alternating the two. It reports the median wall time of each and their ratio
// (shim/go, 1.00 = no overhead), and the same for CPU time (user+system), which a busy
// machine disturbs less. Run it with e.g. -benchtime=30x.
func BenchmarkOverhead(b *testing.B) {
	shim := shimBinary(b)
	gopath, err := exec.LookPath("go")
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	src := filepath.Join(work, "hello")
	if err := copyDir(helloDir(b), src); err != nil {
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
	var goTimes, shimTimes []timing
	i := 0
	for b.Loop() {
		order := []int{0, 1}
		if i%2 == 1 {
			order = []int{1, 0}
		}
		i++
		for _, k := range order {
			t := run(b, runs[k])
			if k == 0 {
				goTimes = append(goTimes, t)
			} else {
				shimTimes = append(shimTimes, t)
			}
		}
	}
	gw, gc := medians(goTimes)
	sw, sc := medians(shimTimes)
	b.ReportMetric(ms(gw), "go-ms")
	b.ReportMetric(ms(sw), "shim-ms")
	b.ReportMetric(float64(sw)/float64(gw), "ratio")
	b.ReportMetric(ms(gc), "go-cpu-ms")
	b.ReportMetric(ms(sc), "shim-cpu-ms")
	b.ReportMetric(float64(sc)/float64(gc), "cpu-ratio")
}

// BenchmarkStartup measures the shim's own start-up: "go version" through the shim linked
// as go, against the real go directly; the difference of the medians is the time from the
// shim's start to its exec of go (process start, finding go, exec). It also reports the
// median of a whole --xgo-env run, which starts no go at all. CPU times (user+system) are
// reported too, as a busy machine disturbs them less than wall time.
func BenchmarkStartup(b *testing.B) {
	shim := shimBinary(b)
	gopath, err := exec.LookPath("go")
	if err != nil {
		b.Fatal(err)
	}
	wrap := filepath.Join(b.TempDir(), "wrap")
	if err := os.Mkdir(wrap, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink(shim, filepath.Join(wrap, goExe())); err != nil {
		b.Skipf("cannot link the shim as go: %v", err)
	}
	env := withEnv(os.Environ(), []string{"TARGETPLATFORM=linux/arm64", "PATH=" + wrap + string(os.PathListSeparator) + filepath.Dir(gopath)})
	mk := func(path string, args ...string) *exec.Cmd {
		c := exec.Command(path, args...)
		c.Env = env
		return c
	}
	direct := mk(gopath, "version")
	direct.Env = withEnv(os.Environ(), []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0"})
	cmds := []*exec.Cmd{direct, mk(filepath.Join(wrap, goExe()), "version"), mk(shim, "--xgo-env")}
	times := make([][]timing, len(cmds))
	for _, c := range cmds {
		run(b, c)
	}
	for b.Loop() {
		for k, c := range cmds {
			times[k] = append(times[k], run(b, c))
		}
	}
	dw, dc := medians(times[0])
	ww, wc := medians(times[1])
	ew, ec := medians(times[2])
	b.ReportMetric(ms(dw), "go-version-ms")
	b.ReportMetric(ms(ww), "shim-go-version-ms")
	b.ReportMetric(ms(ww-dw), "startup-ms")
	b.ReportMetric(ms(wc-dc), "startup-cpu-ms")
	b.ReportMetric(ms(ew), "xgo-env-ms")
	b.ReportMetric(ms(ec), "xgo-env-cpu-ms")
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
		if _, err := findGo(getenv, ""); err != nil {
			b.Fatal(err)
		}
	}
}
