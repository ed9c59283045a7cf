//go:build windows

package release

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is where the locked byte lies: far beyond the pid at the start of the file,
// because windows locks are mandatory and a locked range cannot be read by anyone else.
const lockOffset = 1 << 62

// tryLock takes an exclusive LockFileEx lock on one byte of f without waiting: errLocked
// when another handle holds it (in this process or another). Closing f releases it, and so
// does the end of the process.
func tryLock(f *os.File) error {
	ol := lockOverlapped()
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION):
		return errLocked
	}
	return &os.PathError{Op: "LockFileEx", Path: f.Name(), Err: err}
}

// unlockFile releases the lock tryLock took on f.
func unlockFile(f *os.File) error {
	if err := windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, lockOverlapped()); err != nil {
		return &os.PathError{Op: "UnlockFileEx", Path: f.Name(), Err: err}
	}
	return nil
}

// lockOverlapped says where the locked byte is.
func lockOverlapped() *windows.Overlapped {
	return &windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
}
