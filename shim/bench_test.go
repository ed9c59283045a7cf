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
// variables, alternating the two. It reports the median of each and their ratio
// (shim/go, 1.00 = no overhead). Run it with e.g. -benchtime=30x.
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
	var goTimes, shimTimes []time.Duration
	i := 0
	for b.Loop() {
		order := []int{0, 1}
		if i%2 == 1 {
			order = []int{1, 0}
		}
		i++
		for _, k := range order {
			d := run(b, runs[k])
			if k == 0 {
				goTimes = append(goTimes, d)
			} else {
				shimTimes = append(shimTimes, d)
			}
		}
	}
	g, s := median(goTimes), median(shimTimes)
	b.ReportMetric(float64(g)/1e6, "go-ms")
	b.ReportMetric(float64(s)/1e6, "shim-ms")
	b.ReportMetric(float64(s)/float64(g), "ratio")
}

// BenchmarkStartup measures the shim's own start-up: "go version" through the shim linked
// as go, against the real go directly; the difference of the medians is the time from the
// shim's start to its exec of go (process start, finding go, exec). It also reports the
// median of a whole --xgo-env run, which starts no go at all.
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
	times := make([][]time.Duration, len(cmds))
	for _, c := range cmds {
		run(b, c)
	}
	for b.Loop() {
		for k, c := range cmds {
			times[k] = append(times[k], run(b, c))
		}
	}
	d, w, e := median(times[0]), median(times[1]), median(times[2])
	b.ReportMetric(float64(d)/1e6, "go-version-ms")
	b.ReportMetric(float64(w)/1e6, "shim-go-version-ms")
	b.ReportMetric(float64(w-d)/1e6, "startup-ms")
	b.ReportMetric(float64(e)/1e6, "xgo-env-ms")
}

// run runs a copy of the command c and returns how long it took.
func run(b *testing.B, c *exec.Cmd) time.Duration {
	b.Helper()
	cmd := exec.Command(c.Path, c.Args[1:]...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return d
}

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
