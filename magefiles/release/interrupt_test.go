package release

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptContext runs interruptContext in a child process of this
// test binary: the first SIGTERM cancels the context with a cause naming the
// signal while the process goes on; a second SIGTERM ends the process.
func TestInterruptContext(t *testing.T) {
	if os.Getenv("XGO_TEST_INTERRUPT_CHILD") == "1" {
		interruptChild()
		return
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, lines := startChild(t, "TestInterruptContext", "1")
			expect := func(want string) {
				t.Helper()
				for lines.Scan() {
					if lines.Text() == want {
						return
					}
				}
				t.Fatalf("the child ended without printing %q", want)
			}
			expect("ready")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			want := "cancelled: " + sig.String() + " signal received"
			expect(want)
			if sig == syscall.SIGINT {
				// A second SIGINT belongs to mage, which is not here: the
				// child ends by itself.
				if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			} else if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("child after a second signal: %v, want it killed", err)
			}
			ws, ok := exit.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
				t.Fatalf("child after a second signal: %v, want it killed by SIGTERM", err)
			}
		})
	}
}

// startChild runs the test named test of this test binary again as a child process, with
// XGO_TEST_INTERRUPT_CHILD=role, and returns it and the lines of its output; the child is
// killed when t ends.
func startChild(t *testing.T, test, role string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "XGO_TEST_INTERRUPT_CHILD="+role)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// interruptChild is the child process of TestInterruptContext: it reports
// when it is ready and when its context is cancelled, then keeps working
// (for far longer than the test waits) as a slow cleanup would.
func interruptChild() {
	ctx, stop := interruptContext(context.Background())
	defer stop()
	fmt.Println("ready")
	<-ctx.Done()
	fmt.Println("cancelled:", context.Cause(ctx))
	time.Sleep(30 * time.Second)
	fmt.Println("not stopped by the second signal")
	os.Exit(0)
}

// TestInterruptContextParentGone runs interruptContext in a grandchild of
// this test binary and kills the child between them, as a SIGTERM to `go tool
// mage release` kills mage: the context is cancelled with a cause naming the
// parent that ended.
func TestInterruptContextParentGone(t *testing.T) {
	switch os.Getenv("XGO_TEST_INTERRUPT_CHILD") {
	case "parent":
		child := exec.Command(os.Args[0], "-test.run=^TestInterruptContextParentGone$", "-test.count=1")
		child.Env = append(os.Environ(), "XGO_TEST_INTERRUPT_CHILD=1")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			fmt.Println("starting the child:", err)
			os.Exit(1)
		}
		fmt.Println("child", child.Process.Pid)
		child.Wait()
		os.Exit(0)
	case "1":
		interruptChild()
		return
	}
	cmd, lines := startChild(t, "TestInterruptContextParentGone", "parent")
	var (
		child int
		ready bool
	)
	for (child == 0 || !ready) && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "child "); ok {
			child, _ = strconv.Atoi(n)
		}
		ready = ready || lines.Text() == "ready"
	}
	if child == 0 || !ready {
		t.Fatal("the grandchild did not start")
	}
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	// A grandchild that does not notice is stopped, and the test fails.
	timer := time.AfterFunc(30*time.Second, func() { syscall.Kill(child, syscall.SIGKILL) })
	defer timer.Stop()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("cancelled: the process that started it (pid %d) ended", cmd.Process.Pid)
	for lines.Scan() {
		if lines.Text() == want {
			return
		}
		t.Logf("grandchild: %s", lines.Text())
	}
	t.Fatalf("the grandchild ended without printing %q", want)
}

func TestInterruptContextStop(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := interruptContext(parent)
	defer stop()
	if ctx.Err() != nil {
		t.Fatal("cancelled at once")
	}
	cancel()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Fatalf("cause %v, want the parent's", context.Cause(ctx))
	}
}

func TestMarkIncomplete(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	now := time.Date(2026, 11, 30, 4, 30, 0, 0, time.FixedZone("X", 3600))
	done, err := markIncomplete(dist, "release", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dist, "INCOMPLETE"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "xgo-build release started at 2026-11-30T03:30:00Z and has not finished:\n") {
		t.Fatalf("marker says %q", b)
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dist, "INCOMPLETE")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker after done: %v", err)
	}
	if err := done(); err != nil {
		t.Fatalf("done twice: %v", err)
	}

	// A run that never completes leaves the marker for the next one, which
	// writes its own.
	if _, err := markIncomplete(dist, "image", now); err != nil {
		t.Fatal(err)
	}
	done, err = markIncomplete(dist, "release", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dist, "INCOMPLETE"))
	if !strings.HasPrefix(string(b), "xgo-build release started at 2026-11-30T04:30:00Z") {
		t.Fatalf("marker says %q", b)
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}

	// A dist that cannot be written is an error naming it.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := markIncomplete(file, "image", now); err == nil || !strings.Contains(err.Error(), "marking "+file+" incomplete") {
		t.Fatalf("err = %v, want marking %s incomplete", err, file)
	}
}

func TestStoppedError(t *testing.T) {
	work := errors.New("building linux/386: go build: signal: terminated")
	ctx, cancel := context.WithCancelCause(context.Background())
	if got := stoppedError(ctx, "release", work); got != work {
		t.Fatalf("before any signal: %v, want the error as is", got)
	}
	if got := stoppedError(ctx, "release", nil); got != nil {
		t.Fatalf("no error: %v", got)
	}
	cancel(errors.New("not a signal"))
	if got := stoppedError(ctx, "release", work); got != work {
		t.Fatalf("cancelled otherwise: %v, want the error as is", got)
	}

	ctx, cancel = context.WithCancelCause(context.Background())
	cancel(&signalError{syscall.SIGTERM})
	got := stoppedError(ctx, "release", work)
	var sig *signalError
	if got == nil || got.Error() != "release stopped: terminated signal received" || !errors.As(got, &sig) {
		t.Fatalf("after SIGTERM: %v, want release stopped", got)
	}
	if got := stoppedError(ctx, "release", nil); got != nil {
		t.Fatalf("a target that finished despite the signal: %v, want nil", got)
	}
}

func TestStoppedErrorParentGone(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&parentGoneError{4242})
	got := stoppedError(ctx, "release", errors.New("pushing: context canceled"))
	if got == nil || got.Error() != "release stopped: the process that started it (pid 4242) ended" {
		t.Fatalf("after the parent ended: %v, want release stopped", got)
	}
}
