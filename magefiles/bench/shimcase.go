package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/xgo-build/xgo-build/shim"
)

// shimOverhead measures `xgo-build -o app .` against `go build -o app .` with the variables the
// shim sets, both on a warm build cache, interleaved. With the first program of the run it first
// measures the shim's start-up (shimStartup), which does not depend on the program.
func (b *bench) shimOverhead(ctx context.Context, program string) error {
	if program == b.cfg.Programs[0] {
		if err := b.shimStartup(ctx); err != nil {
			return err
		}
	}
	dir := filepath.Join(b.cfg.Root, "testdata", program)
	p, err := shim.Parse("linux/arm64")
	if err != nil {
		return err
	}
	vars, err := shim.Vars(p, getenvFrom(b.env))
	if err != nil {
		return err
	}
	scratch := b.fresh(program + "-shim")
	gocache := filepath.Join(scratch, "gocache")
	c := Case{Group: groupShim, Name: program + ", linux/arm64, warm cache",
		Ours: Side{Tool: "xgo-build"}, Theirs: Side{Tool: "go build"}}
	ours := command{Dir: dir, Env: withEnv(b.env, "GOCACHE="+gocache, "TARGETPLATFORM=linux/arm64"),
		Args: []string{b.xgo, "-o", filepath.Join(scratch, "xgo-"+program), "."}}
	theirs := command{Dir: dir, Env: withEnv(b.env, append([]string{"GOCACHE=" + gocache}, vars...)...),
		Args: []string{"go", "build", "-o", filepath.Join(scratch, "go-"+program), "."}}
	sides := []struct {
		side *Side
		cmd  command
		out  string
	}{{&c.Ours, ours, ours.Args[2]}, {&c.Theirs, theirs, theirs.Args[3]}}
	// Warm up: the first build of each fills the cache and writes the output.
	for _, s := range sides {
		if _, err := s.cmd.run(ctx); err != nil {
			return fmt.Errorf("%s, %s: %w", c.Name, s.side.Tool, err)
		}
	}
	for i := 1; i <= b.cfg.Shim; i++ {
		for k := range sides {
			s := sides[(k+i+1)%2]
			sample, _, err := s.cmd.measure(ctx)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", c.Name, s.side.Tool, err)
			}
			sample.Iterated = i
			s.side.Samples = append(s.side.Samples, sample)
		}
	}
	for _, s := range sides {
		if err := shim.Verify(s.out, p); err != nil {
			return fmt.Errorf("%s, %s: %w", c.Name, s.side.Tool, err)
		}
		sum := Summarize(s.side.Samples)
		b.logf("%s: %s · %s: median %s of %d", c.Group, c.Name, s.side.Tool, fmtSeconds(sum.Median), sum.N)
	}
	b.res.Cases = append(b.res.Cases, c)
	return nil
}

// startupRuns is how many runs per side the start-up cases make for each run of the overhead
// case: a start-up takes milliseconds, so its medians need many more runs than a build's.
const startupRuns = 5

// buildFloor builds testdata/floor of the repository at root into dir, static (CGO_ENABLED=0),
// as a Go program that starts as fast as one can; it returns the binary's path.
func buildFloor(ctx context.Context, root, dir string, env []string) (string, error) {
	out := filepath.Join(dir, "floor")
	build := command{Dir: filepath.Join(root, "testdata", "floor"), Env: withEnv(env, "CGO_ENABLED=0", "GOWORK=off"),
		Args: []string{"go", "build", "-o", out, "."}}
	if _, err := build.run(ctx); err != nil {
		return "", fmt.Errorf("building the floor program: %w", err)
	}
	return out, nil
}

// shimStartup measures the time from xgo-build's start to its exec of go. T, a tiny static Go
// program that exits at once, stands for go (it is a Go binary, whose build info the shim reads
// as it reads go's). Three commands run interleaved: T alone; xgo-build with XGO_GO=T and
// TARGETPLATFORM=linux/arm64, which execs T; and the floor, T with XGO_FLOOR_EXEC=T, which execs
// T in turn: what any Go program pays to start and exec. Two cases come out, the shim and the
// floor, each against the same runs of T alone, and a note with the differences of the medians.
func (b *bench) shimStartup(ctx context.Context) error {
	dir := b.fresh("startup")
	target, err := buildFloor(ctx, b.cfg.Root, dir, b.env)
	if err != nil {
		return err
	}
	env := withEnv(b.env, "TARGETPLATFORM=linux/arm64", "XGO_FLOOR_EXEC")
	startup := Case{Group: groupShim, Name: "start-up to exec: xgo-build running T, against T alone",
		Ours: Side{Tool: "xgo-build, then T"}, Theirs: Side{Tool: "T alone"}}
	floor := Case{Group: groupShim, Name: "floor: a minimal Go program running T, against T alone",
		Ours: Side{Tool: "minimal Go program, then T"}, Theirs: Side{Tool: "T alone"}}
	sides := []struct {
		name  string
		sides []*Side // a run of T alone is theirs in both cases
		cmd   command
	}{
		{"T alone", []*Side{&startup.Theirs, &floor.Theirs}, command{Dir: dir, Env: env, Args: []string{target}}},
		{"xgo-build", []*Side{&startup.Ours}, command{Dir: dir, Env: withEnv(env, "XGO_GO="+target),
			Args: []string{b.xgo, "-o", filepath.Join(dir, "app"), "."}}},
		{"floor", []*Side{&floor.Ours}, command{Dir: dir, Env: withEnv(env, "XGO_FLOOR_EXEC="+target), Args: []string{target}}},
	}
	for _, s := range sides { // warm up: the first run of each loads its binary
		if _, err := s.cmd.run(ctx); err != nil {
			return fmt.Errorf("start-up, %s: %w", s.name, err)
		}
	}
	runs := startupRuns * b.cfg.Shim
	for i := 1; i <= runs; i++ {
		for k := range sides {
			s := sides[(k+i)%len(sides)] // each command opens an iteration in turn
			sample, _, err := s.cmd.measure(ctx)
			if err != nil {
				return fmt.Errorf("start-up, %s: %w", s.name, err)
			}
			sample.Iterated = i
			for _, side := range s.sides {
				side.Samples = append(side.Samples, sample)
			}
		}
	}
	b.res.Cases = append(b.res.Cases, startup, floor)
	note := startupNote(startup, floor)
	b.extra = append(b.extra, note)
	b.logf("%s", note)
	return nil
}

// startupNote states the start-up figures from the medians of the two start-up cases: the
// shim's start-up to exec (xgo-build then T, less T alone), the floor (a minimal Go program then
// T, less T alone) and the shim's own share (start-up less floor), in wall and CPU time.
func startupNote(startup, floor Case) string {
	s, t := Summarize(startup.Ours.Samples), Summarize(startup.Theirs.Samples)
	f := Summarize(floor.Ours.Samples)
	return fmt.Sprintf("Shim start-up, medians of %d interleaved runs (wall / CPU): from its start to its exec of go, xgo-build takes %s / %s "+
		"(xgo-build running T, less T alone; T is a tiny static Go program that exits at once). "+
		"Any Go program pays a floor of %s / %s to start and exec (a minimal static Go program running T, less T alone), "+
		"so the shim's own share is %s / %s.",
		s.N, fmtSeconds(s.Median-t.Median), fmtSeconds(s.CPU-t.CPU),
		fmtSeconds(f.Median-t.Median), fmtSeconds(f.CPU-t.CPU),
		fmtSeconds(s.Median-f.Median), fmtSeconds(s.CPU-f.CPU))
}

// getenvFrom returns a getenv that reads env ("KEY=value" pairs); the last setting of a key wins.
func getenvFrom(env []string) func(string) string {
	m := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}
