package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/xgo-build/xgo-build/shim"
)

// shimOverhead measures `xgo-build -o app .` against `go build -o app .` with the variables the
// shim sets, both on a warm build cache, interleaved.
func (b *bench) shimOverhead(ctx context.Context, program string) error {
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
