package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xgo-build/xgo-build/shim"
)

// Smoke runs (XGO_SMOKE): after the builds, and before anything is written to dist/oci or
// pushed, every platform's binary runs once with the XGO_SMOKE arguments, natively, under
// qemu-user, or through a binfmt_misc handler. A binary that exits non-zero, crashes or
// outlives smokeTimeout stops the run; a platform that cannot run here is named as not run.

const (
	// smokeTimeout bounds one smoke run: the binary is killed when it has not exited by then.
	smokeTimeout = 30 * time.Second
	// smokeLines is how many of the last lines of its output a failed run shows; smokeKeep
	// the bytes of output kept to find them.
	smokeLines = 20
	smokeKeep  = 16 << 10
)

// smokeOK is the smoke field of a platform whose binary ran and exited 0.
const smokeOK = "ok"

// readSmoke reads XGO_SMOKE, split into words as XGO_FLAGS is; nil when it is unset.
func readSmoke(getenv func(string) string) ([]string, error) {
	v := getenv("XGO_SMOKE")
	if v == "" {
		return nil, nil
	}
	args, err := splitWords(v)
	if err == nil && len(args) == 0 {
		err = errors.New("must be the arguments to run each binary with, such as --version")
	}
	return args, err
}

// hostRuns lists, by host GOARCH, the other GOARCHes the host may run natively, when the
// kernel and CPU support it: an attempt that fails with ENOEXEC is not a failure.
var hostRuns = map[string][]string{
	"amd64": {"386"},
	"arm64": {"arm", "amd64"}, // amd64: Rosetta on macOS
}

// smokeHost is what decides how a binary runs here.
type smokeHost struct {
	goos, goarch string
	lookPath     func(string) (string, error)
	binfmtDir    string // binfmt_misc's directory; "" when there is none
}

// thisHost is the machine the run is on.
func thisHost() smokeHost {
	h := smokeHost{goos: runtime.GOOS, goarch: runtime.GOARCH, lookPath: exec.LookPath}
	if runtime.GOOS == "linux" {
		h.binfmtDir = "/proc/sys/fs/binfmt_misc"
	}
	return h
}

// smokeWay is one way of running a platform's binary.
type smokeWay struct {
	how    string   // "natively", "under qemu-aarch64-static", "through binfmt_misc (qemu-aarch64)"
	prefix []string // the emulator, before the binary; none to exec the binary itself
}

// smokeWays returns the ways to run binaries of p here, the first to try first (a way
// after the first is tried only when the one before fails with ENOEXEC), or why there is
// none.
func (h smokeHost) smokeWays(p shim.Platform) ([]smokeWay, string) {
	if p.Arch == "wasm" {
		return nil, fmt.Sprintf("a %s binary needs a wasm runtime", p.OS+"/"+p.Arch)
	}
	if p.OS != h.goos {
		return nil, fmt.Sprintf("a %s binary does not run on %s", p.OS, h.goos)
	}
	var ways []smokeWay
	if p.Arch == h.goarch || slices.Contains(hostRuns[h.goarch], p.Arch) {
		ways = append(ways, smokeWay{how: "natively"})
	}
	if h.goos != "linux" || p.Arch == h.goarch {
		if len(ways) == 0 {
			return nil, fmt.Sprintf("no emulator for %s binaries on %s/%s", p.Arch, h.goos, h.goarch)
		}
		return ways, ""
	}
	q, ok := shim.QemuArch(p.Arch)
	if !ok {
		if len(ways) == 0 {
			return nil, fmt.Sprintf("the host (%s) cannot run %s binaries and qemu-user cannot run Go's (Debian's qemu-i386 crashes on them)", h.goarch, p.Arch)
		}
		return ways, ""
	}
	for _, name := range []string{"qemu-" + q + "-static", "qemu-" + q} {
		if path, err := h.lookPath(name); err == nil {
			ways = append(ways, smokeWay{how: "under " + name, prefix: []string{path}})
			break
		}
	}
	if h.binfmtDir != "" {
		if data, err := os.ReadFile(filepath.Join(h.binfmtDir, "qemu-"+q)); err == nil && strings.HasPrefix(string(data), "enabled\n") {
			ways = append(ways, smokeWay{how: "through binfmt_misc (qemu-" + q + ")"})
		}
	}
	if len(ways) == 0 {
		return nil, fmt.Sprintf("no qemu-%s-static on PATH and no binfmt_misc handler for it (install qemu-user-static)", q)
	}
	return ways, ""
}

// smokeResult is the outcome of one platform's smoke run.
type smokeResult struct {
	status string // smokeOK or "not run: <why>"
	how    string // the way it ran, when it did
	took   time.Duration
	err    error // the run failed
}

// smoke runs every built binary with the XGO_SMOKE arguments, as many at a time as cfg.Jobs
// says, prints a line a platform in the order of the targets (a warning for one that cannot
// run here), and sets the smoke field of each row. The first failure, in the order of the
// targets, is the error. It does nothing when XGO_SMOKE is unset.
func (r *release) smoke(ctx context.Context) error {
	args := r.cfg.Smoke
	if len(args) == 0 {
		return nil
	}
	host := thisHost()
	results := make([]smokeResult, len(r.rows))
	g := new(errgroup.Group)
	g.SetLimit(max(r.cfg.Jobs, 1))
	for i, row := range r.rows { // in the order of r.targets
		g.Go(func() error {
			path := filepath.Join(r.cfg.Dist, filepath.FromSlash(row.Binary))
			results[i] = runSmoke(ctx, host, r.targets[i].Platform, path, args, r.cfg.Dir, r.env.environ)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	out := r.env.out
	var first error
	for i, res := range results {
		r.rows[i].Smoke = res.status
		switch {
		case res.err != nil:
			if first == nil {
				first = res.err
			}
		case res.status == smokeOK:
			fmt.Fprintf(out, "smoke %-22s ok %s (%.1fs)\n", r.rows[i].Platform, res.how, res.took.Seconds())
		default:
			fmt.Fprintf(out, "warning: smoke %s %s\n", r.rows[i].Platform, res.status)
		}
	}
	return first
}

// runSmoke runs the binary of p at path with args in dir, the ways smokeWays gives one after
// another while the kernel refuses the binary (ENOEXEC).
func runSmoke(ctx context.Context, host smokeHost, p shim.Platform, path string, args []string, dir string, environ []string) smokeResult {
	ways, why := host.smokeWays(p)
	if len(ways) == 0 {
		return smokeResult{status: "not run: " + why}
	}
	cmdline := quoteWords(append([]string{filepath.Base(path)}, args...))
	for _, w := range ways {
		start := time.Now()
		out, err := runBounded(ctx, w, path, args, dir, environ)
		took := time.Since(start)
		var exit *exec.ExitError
		switch {
		case err == nil:
			return smokeResult{status: smokeOK, how: w.how, took: took}
		case errors.Is(err, syscall.ENOEXEC):
			continue // the kernel cannot run it this way: try the next
		case ctx.Err() != nil:
			return smokeResult{err: ctx.Err()}
		case errors.As(err, &exit) && exit.ExitCode() == 1 && bytes.Contains(out, []byte("This program can only be run on")):
			// The Go runtime's check of GOAMD64 (GO386): this CPU lacks the variant's features.
			return smokeResult{status: "not run: this CPU cannot run it: " + firstLine(out, "This program can only be run on")}
		default:
			return smokeResult{err: fmt.Errorf("smoke-testing %s %s (%s): %s%s", p, w.how, cmdline, exitStatus(err), lastLines(out, smokeLines))}
		}
	}
	return smokeResult{status: fmt.Sprintf("not run: the kernel cannot run %s binaries (exec format error)", p.Arch)}
}

// runBounded runs the binary one way for at most smokeTimeout and returns the end of its
// output (standard output and error together, at most smokeKeep bytes).
func runBounded(ctx context.Context, w smokeWay, path string, args []string, dir string, environ []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, smokeTimeout)
	defer cancel()
	argv := append(append(append([]string(nil), w.prefix...), path), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = environ
	out := &tailBuffer{max: smokeKeep}
	cmd.Stdout, cmd.Stderr = out, out
	// A child the binary started may hold the output open: stop waiting for it soon after.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = &timeoutError{err}
	}
	return out.bytes(), err
}

// timeoutError is a smoke run killed at smokeTimeout.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("did not exit within %s (killed)", smokeTimeout)
}

func (e *timeoutError) Unwrap() error { return e.err }

// exitStatus says how a failed run ended: "exit status 3", "signal: segmentation fault", a
// timeout, or the error that kept it from starting.
func exitStatus(err error) string {
	var exit *exec.ExitError
	var timeout *timeoutError
	switch {
	case errors.As(err, &timeout):
		return timeout.Error()
	case errors.As(err, &exit):
		return exit.ProcessState.String()
	}
	return err.Error()
}

// lastLines returns "; the last N lines of its output:" and those lines (at most n),
// indented, or ", no output" when there was none.
func lastLines(out []byte, n int) string {
	text := strings.TrimRight(string(out), "\n")
	if text == "" {
		return ", no output"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("; the last %d lines of its output:\n\t%s", len(lines), strings.Join(lines, "\n\t"))
}

// firstLine returns the first line of out that begins with prefix.
func firstLine(out []byte, prefix string) string {
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
	}
	return prefix
}

// tailBuffer keeps the last max bytes written to it; it is safe for concurrent use.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	drop bool // bytes were dropped: the first line may be cut
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.drop = true
	}
	return len(p), nil
}

// bytes returns what is kept, without a line the limit cut at its start.
func (b *tailBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.buf
	if b.drop {
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			out = out[i+1:]
		}
	}
	return bytes.Clone(out)
}
