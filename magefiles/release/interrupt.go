package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// interruptContext returns a context that is cancelled when the process
// receives SIGINT or SIGTERM, with a cause that names the signal ("terminated
// signal received"), or when the process that started it ends. Cancelling it
// stops the go builds and the registry requests (a retry's wait included) of
// a run. Once it is cancelled, the signals get their default handling back,
// so a second SIGTERM ends the process at once (a second SIGINT is mage's: it
// exits). stop releases the signals.
//
// mage cancels the context of a target on SIGINT by itself, but not on
// SIGTERM, which CI systems send to stop a job. And a signal sent to the
// process of `go tool mage release` alone never reaches the target: go passes
// it on to mage, which dies of a SIGTERM (leaving the target running on its
// own) and keeps a SIGINT to itself. The target learns that mage is gone by
// watching its parent process.
//
// The context is cancelled by interruptContext alone, the parent's end
// included: mage cancels its context on the very SIGINT this process gets too,
// and the cause must be the signal, not whichever of the two cancellations
// came first. When the parent ends, a signal that comes within signalGrace is
// the cause; else the parent's cause is.
func interruptContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	ppid := os.Getppid()
	tick := time.NewTicker(parentPoll)
	go func() {
		defer tick.Stop()
		for {
			select {
			case s := <-ch:
				// Default handling first, so that a second signal sent once the
				// cancellation is seen is not swallowed.
				signal.Stop(ch)
				cancel(&signalError{s})
				return
			case <-parent.Done():
				grace := time.NewTimer(signalGrace)
				select {
				case s := <-ch:
					signal.Stop(ch)
					cancel(&signalError{s})
				case <-grace.C:
					signal.Stop(ch)
					cancel(context.Cause(parent))
				case <-ctx.Done():
					signal.Stop(ch)
				}
				grace.Stop()
				return
			case <-tick.C:
				if os.Getppid() != ppid {
					signal.Stop(ch)
					cancel(&parentGoneError{ppid})
					return
				}
			case <-ctx.Done():
				signal.Stop(ch)
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// parentPoll is how often interruptContext looks whether the parent process
// is still there: an orphan is adopted by another process (init or a
// subreaper), and its parent process id changes.
const parentPoll = 20 * time.Millisecond

// signalError is the cause of a context that interruptContext cancelled on a
// signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return e.sig.String() + " signal received" }

// parentGoneError is the cause of a context that interruptContext cancelled
// because the process that started this one ended.
type parentGoneError struct{ pid int }

func (e *parentGoneError) Error() string {
	return fmt.Sprintf("the process that started it (pid %d) ended", e.pid)
}

// signalGrace is how long a signal is waited for where one may be on its way: after the
// parent context ended (see interruptContext), and after a process the run started failed
// (see stoppedError).
const signalGrace = 500 * time.Millisecond

// stopCause returns the cause of ctx when a signal, or the end of the process that started
// this one, cancelled it (see interruptContext); nil otherwise.
func stopCause(ctx context.Context) error {
	cause := context.Cause(ctx)
	var (
		sig  *signalError
		gone *parentGoneError
	)
	if errors.As(cause, &sig) || errors.As(cause, &gone) {
		return cause
	}
	return nil
}

// stoppedError returns the error of a target that ended with err: when a
// signal cancelled ctx (see interruptContext), "<target> stopped: <signal>
// signal received", whatever the work that was cut short reported (a go
// build killed by the same signal, a cancelled request), and likewise when
// its parent process ended; otherwise err. A signal to the process group
// reaches the go build too, which may die of it before this process has seen
// it: after the failure of a process it started, the run waits up to
// signalGrace for the signal before it blames the process. A push stopped
// while it tagged the index says which tags were pushed and which were not.
func stoppedError(ctx context.Context, target string, err error) error {
	if err == nil {
		return nil
	}
	cause := stopCause(ctx)
	var exit *exec.ExitError
	if cause == nil && errors.As(err, &exit) {
		grace := time.NewTimer(signalGrace)
		select {
		case <-ctx.Done():
		case <-grace.C:
		}
		grace.Stop()
		cause = stopCause(ctx)
	}
	if cause == nil {
		return err
	}
	var tags *partialTagsError
	if errors.As(err, &tags) {
		return fmt.Errorf("%s stopped: %w; %s", target, cause, tags.state())
	}
	return fmt.Errorf("%s stopped: %w", target, cause)
}

// processError is the failure of a process the run started, told by its own
// message (go list's standard error) but still the *exec.ExitError that
// stoppedError looks for.
type processError struct {
	msg string
	err error
}

func (e *processError) Error() string { return e.msg }

func (e *processError) Unwrap() error { return e.err }

// incompleteMarker is the file in the output directory that says a run
// started there and has not finished.
const incompleteMarker = "INCOMPLETE"

// markIncomplete writes <dist>/INCOMPLETE, saying which target started when,
// before the target writes anything into dist; the returned done removes it,
// and the target calls done only when everything it writes is in place. A
// run that fails or is interrupted leaves the file, so that dist/bin and
// dist/release.json are never taken for the output of one finished run.
// (dist/oci itself is never partial: oci.WriteLayout renames a complete layout
// into place.)
func markIncomplete(dist, target string, now time.Time) (done func() error, err error) {
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return nil, fmt.Errorf("marking %s incomplete: %w", dist, err)
	}
	path := filepath.Join(dist, incompleteMarker)
	msg := fmt.Sprintf("xgo-build %s started at %s and has not finished:\n"+
		"the files in this directory may be partial, or left from an earlier run.\n"+
		"Run the target again; it removes this file when it completes.\n",
		target, now.UTC().Format(time.RFC3339))
	if err := os.WriteFile(path, []byte(msg), 0o644); err != nil {
		return nil, fmt.Errorf("marking %s incomplete: %w", dist, err)
	}
	return func() error {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("marking %s complete: %w", dist, err)
		}
		return nil
	}, nil
}
