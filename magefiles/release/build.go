package release

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
	"github.com/xgo-build/xgo-build/shim"
)

// buildSpec says how to build the binaries: which package, with which flags, where to.
type buildSpec struct {
	Dir     string              // directory go build runs in
	Main    string              // main package import path
	Name    string              // binary name (".exe" is added for windows)
	Flags   []string            // extra go build flags, before -o
	BinDir  string              // binaries go to BinDir/<os>_<arch>[_<variant>]/<name>
	Jobs    int                 // concurrent go builds
	Environ []string            // base environment of every go build (os.Environ form)
	Getenv  func(string) string // the user's variables, checked by shim.Vars and shim.CgoVars
	Verbose io.Writer           // when not nil, every go command is printed here
	// Base is the base the binaries go on, "" when no image is made: a built-in base (scratch,
	// static) has no C library, so a dynamically linked cgo binary is refused for it.
	Base string
}

// buildResult is one built and verified binary.
type buildResult struct {
	Platform shim.Platform
	Path     string        // absolute path of the binary
	Size     int64         // bytes
	Duration time.Duration // wall time of go build
	// CPU is the user and system time of go build and of the compiler and linker processes
	// it ran: the compile work itself.
	CPU time.Duration
	// Before is the binary as it was before go build ran (nil if there was none): go leaves
	// an up-to-date binary in place and only renews its time.
	Before os.FileInfo
	// Flags are the go build flags, -trimpath and XGO_FLAGS (not -o), and Env the variables
	// of the build's environment that shape the binary (see shapingEnv): the provenance's.
	Flags, Env []string
}

// buildJob is one planned go build.
type buildJob struct {
	platform shim.Platform
	vars     []string // the shim's variables for the platform: shim.Vars, then shim.CgoVars
	out      string   // binary path
}

// buildAll runs one go build per platform, at most spec.Jobs at a time, and verifies each
// binary with shim.VerifyFor. done, when not nil, is called once per finished binary, never
// concurrently. The environment of every platform, and with CGO_ENABLED=1 its C cross
// compiler (shim.CgoVars), is checked before the first build starts;
// the first failure cancels the other builds and names its platform and go's message. Results
// are in the order of platforms.
func buildAll(ctx context.Context, spec buildSpec, platforms []shim.Platform, done func(buildResult)) ([]buildResult, error) {
	jobs := make([]buildJob, len(platforms))
	for i, p := range platforms {
		vars, err := shim.Vars(p, spec.Getenv)
		if err != nil {
			return nil, fmt.Errorf("setting up the build for %s: %w", p, err)
		}
		cgo, err := shim.CgoVars(p, spec.Getenv)
		if err != nil {
			return nil, fmt.Errorf("setting up the build for %s: %w", p, err)
		}
		vars = append(vars, cgo...)
		name := spec.Name
		if p.OS == "windows" {
			name += ".exe"
		}
		jobs[i] = buildJob{
			platform: p,
			vars:     vars,
			out:      filepath.Join(spec.BinDir, platformDir(p), name),
		}
	}

	results := make([]buildResult, len(jobs))
	var mu sync.Mutex // serialises done and the verbose writer
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(spec.Jobs, 1))
	for i, job := range jobs {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			flags := append([]string{"-trimpath"}, spec.Flags...)
			args := append(append([]string{"build"}, flags...), "-o", job.out, spec.Main)
			if spec.Verbose != nil {
				mu.Lock()
				fmt.Fprintf(spec.Verbose, "%s go %s\n", quoteWords(job.vars), quoteWords(args))
				mu.Unlock()
			}
			r, err := buildOne(gctx, spec, job, args)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
			r.Flags = flags
			results[i] = r
			if done != nil {
				mu.Lock()
				done(r)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return results, nil
}

// buildOne runs one go build and verifies its output: for a built-in base, a cgo binary must
// be statically linked.
func buildOne(ctx context.Context, spec buildSpec, job buildJob, args []string) (buildResult, error) {
	if err := os.MkdirAll(filepath.Dir(job.out), 0o755); err != nil {
		return buildResult{}, fmt.Errorf("building %s: %w", job.platform, err)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = spec.Dir
	cmd.Env = shim.MergeEnv(spec.Environ, job.vars)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	// Cancellation kills go; the compiler processes it started at that moment finish on
	// their own within seconds (go leaves them, and its work directory, on SIGINT too).
	cmd.WaitDelay = 3 * time.Second
	before, err := os.Stat(job.out)
	if err != nil {
		before = nil
	}
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return buildResult{}, fmt.Errorf("building %s: go build: %w", job.platform, err)
		}
		return buildResult{}, fmt.Errorf("building %s: go build: %w:\n%s", job.platform, err, msg)
	}
	if err := shim.VerifyFor(job.out, job.platform, spec.Getenv); err != nil {
		return buildResult{}, fmt.Errorf("verifying the %s binary %s: %w", job.platform, job.out, err)
	}
	if err := checkLinking(spec, job); err != nil {
		return buildResult{}, err
	}
	fi, err := os.Stat(job.out)
	if err != nil {
		return buildResult{}, fmt.Errorf("building %s: %w", job.platform, err)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return buildResult{Platform: job.platform, Path: job.out, Size: fi.Size(), Duration: elapsed, CPU: cpu, Before: before,
		Env: shapingEnv(cmd.Env, job.vars)}, nil
}

// shapedBy are the variables of a go build's environment, besides the shim's (GOOS, GOARCH,
// the variant variable, CGO_ENABLED and the C toolchain of a cgo cross build), that change
// what it builds. Paths (GOPATH, GOCACHE, ...), proxies and credentials are not among them.
var shapedBy = []string{"GOFLAGS", "GOEXPERIMENT", "GOTOOLCHAIN", "GOFIPS140", "GOWASM",
	"CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_FFLAGS", "CGO_LDFLAGS"}

// shapingEnv returns the variables of env (a build's whole environment) that shape the
// binary, as KEY=value sorted by key: those the shim set (vars) and those of shapedBy that are
// set.
func shapingEnv(env, vars []string) []string {
	keep := map[string]bool{}
	for _, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		keep[k] = true
	}
	for _, k := range shapedBy {
		keep[k] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if keep[k] && !seen[k] {
			seen[k] = true
			out = append(out, kv)
		}
	}
	slices.Sort(out)
	return out
}

// checkLinking refuses a dynamically linked cgo binary for a built-in base (scratch, static):
// it has no C library, so the binary would not start.
func checkLinking(spec buildSpec, job buildJob) error {
	if spec.Base == "" || !store.Builtin(spec.Base) || spec.Getenv("CGO_ENABLED") != "1" {
		return nil
	}
	dynamic, err := shim.Dynamic(job.out)
	if err != nil {
		return fmt.Errorf("checking how the %s binary %s is linked: %w", job.platform, job.out, err)
	}
	if dynamic {
		return fmt.Errorf("the %s binary %s is dynamically linked (cgo) and the base %q has no C library: link it statically with XGO_FLAGS='-ldflags=-extldflags=-static' or use a base with a C library", job.platform, job.out, spec.Base)
	}
	return nil
}

// platformDir is the directory name of a platform's binary: os_arch[_variant].
func platformDir(p shim.Platform) string {
	return strings.ReplaceAll(p.String(), "/", "_")
}
