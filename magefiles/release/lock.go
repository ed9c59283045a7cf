package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// lockName is the file in the output directory that a run holds an advisory lock on
// (flock(2) on unix, LockFileEx on windows) from the moment its configuration and plan are
// checked until it returns. It holds the pid of the run that has the lock, so that another
// run can name it. The file stays when the run ends: only the lock is released, and the pid
// is cleared (removing the file would let two runs lock two different files of that name).
const lockName = ".lock"

// lockPoll is how often a run that waits for the lock of its output directory tries again.
const lockPoll = 100 * time.Millisecond

// errLocked is what tryLock returns when another open file holds the lock.
var errLocked = errors.New("locked by another open file")

// lockDist takes the lock of dist, creating dist and its lock file if need be, and writes
// this process's pid into the lock file. When another run holds it, lockDist fails at once
// with an error naming that run's pid, or, with wait, prints one line to out and tries again
// every lockPoll until it gets the lock or ctx ends (it then returns ctx's cause, and holds
// nothing). The returned unlock clears the pid and releases the lock.
func lockDist(ctx context.Context, dist string, wait bool, out io.Writer) (unlock func(), err error) {
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return nil, fmt.Errorf("locking %s: %w", dist, err)
	}
	path := filepath.Join(dist, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dist, err)
	}
	if err := acquire(ctx, f, dist, wait, out); err != nil {
		f.Close()
		return nil, err
	}
	// Write the pid over the old contents, then cut them: a reader sees either the old
	// first line or the new one, never a mix of the two.
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	_, err = f.WriteAt(pid, 0)
	if err == nil {
		err = f.Truncate(int64(len(pid)))
	}
	if err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("writing the pid to %s: %w", path, err)
	}
	return func() {
		// Closing releases the lock too; unlocking first keeps the order plain.
		f.Truncate(0)
		unlockFile(f)
		f.Close()
	}, nil
}

// acquire takes the lock on f, the lock file of dist, as lockDist describes.
func acquire(ctx context.Context, f *os.File, dist string, wait bool, out io.Writer) error {
	err := tryLock(f)
	if !errors.Is(err, errLocked) {
		return lockError(dist, err)
	}
	pid := lockHolder(f)
	if !wait {
		return inUseError(dist, pid)
	}
	if pid > 0 {
		fmt.Fprintf(out, "waiting for the run with pid %d to release %s\n", pid, dist)
	} else {
		fmt.Fprintf(out, "waiting for another run to release %s\n", dist)
	}
	tick := time.NewTicker(lockPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", dist, context.Cause(ctx))
		case <-tick.C:
		}
		if err := tryLock(f); !errors.Is(err, errLocked) {
			return lockError(dist, err)
		}
	}
}

// lockError is the error of a lock attempt on dist that did not find it locked: nil when it
// got the lock.
func lockError(dist string, err error) error {
	if err != nil {
		return fmt.Errorf("locking %s: %w", dist, err)
	}
	return nil
}

// inUseError is the error of a run that finds dist locked by the run with the given pid
// (0 when the lock file does not say).
func inUseError(dist string, pid int) error {
	holder := "another run"
	if pid > 0 {
		holder = fmt.Sprintf("another run (pid %d)", pid)
	}
	return fmt.Errorf("XGO_DIST %q is in use by %s; wait for it to end, or set XGO_WAIT=true to wait", dist, holder)
}

// lockHolder returns the pid written in the lock file f, or 0 when it holds none. A run
// writes its pid just after it takes the lock, so an empty file is read again a few times.
func lockHolder(f *os.File) int {
	for range 10 {
		if pid := readPid(f); pid > 0 {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

// readPid parses the first line of the lock file f, which must be complete.
func readPid(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	line, _, ok := bytes.Cut(buf[:n], []byte("\n"))
	if !ok {
		return 0
	}
	pid, err := strconv.Atoi(string(line))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
