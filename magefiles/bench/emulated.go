package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xgo-build/xgo-build/shim"
)

// emulated measures a cold linux/arm64 build of program cross-compiled by xgo-build against the
// same build by the linux-arm64 toolchain under qemu-user, interleaved.
func (b *bench) emulated(ctx context.Context, program string) error {
	dir := filepath.Join(b.cfg.Root, "testdata", program)
	arm64, err := shim.Parse("linux/arm64")
	if err != nil {
		return err
	}
	c := Case{
		Group:  groupEmulated,
		Name:   program + ", linux/arm64, cold cache",
		Ours:   Side{Tool: "xgo-build"},
		Theirs: Side{Tool: "go under qemu-user"},
	}
	ours := func(gocache, out string) command {
		return command{Dir: dir, Env: withEnv(b.env, "GOCACHE="+gocache, "TARGETPLATFORM=linux/arm64"),
			Args: []string{b.xgo, "-o", out, "."}}
	}
	theirs := func(gocache, out string) command {
		return command{Dir: dir, Env: withEnv(b.env, "GOCACHE="+gocache, "GOROOT="+b.goroot, "GOTOOLCHAIN=local", "CGO_ENABLED=0"),
			Args: []string{b.qemu, filepath.Join(b.goroot, "bin", "go"), "build", "-toolexec=" + b.qemu, "-o", out, "."}}
	}
	sides := []struct {
		side *Side
		cmd  func(gocache, out string) command
	}{{&c.Ours, ours}, {&c.Theirs, theirs}}
	for i := 1; i <= b.cfg.Cold[program]; i++ {
		for k := range sides {
			s := sides[(k+i+1)%2] // ours first in odd runs, theirs first in even ones
			scratch := b.fresh(program + "-emulated")
			out := filepath.Join(scratch, program)
			sample, _, err := s.cmd(filepath.Join(scratch, "gocache"), out).measure(ctx)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", c.Name, s.side.Tool, err)
			}
			if err := shim.Verify(out, arm64); err != nil {
				return fmt.Errorf("%s, %s: %w", c.Name, s.side.Tool, err)
			}
			sample.Iterated = i
			s.side.Samples = append(s.side.Samples, sample)
			b.logSample(&c, s.side, "", sample)
			os.RemoveAll(scratch) // a cold cache of midsize is hundreds of megabytes
		}
	}
	b.res.Cases = append(b.res.Cases, c)
	return nil
}
