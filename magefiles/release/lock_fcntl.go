//go:build aix || (solaris && !illumos)

package release

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// tryLock takes an exclusive fcntl(2) lock on all of f without waiting (these systems have
// no flock(2) in package syscall): errLocked when another process holds one. Unlike flock,
// fcntl locks belong to the process: they keep two processes apart, not two runs in one
// process, and closing any descriptor of the file releases them, so the lock file is read
// only through f.
func tryLock(f *os.File) error {
	err := fcntlLock(f, syscall.F_WRLCK)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
		return errLocked
	}
	return err
}

// unlockFile releases the lock tryLock took on f.
func unlockFile(f *os.File) error {
	return fcntlLock(f, syscall.F_UNLCK)
}

// fcntlLock sets a lock of type typ on all of f with F_SETLK, again when a signal
// interrupts it.
func fcntlLock(f *os.File, typ int16) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	lk := syscall.Flock_t{Type: typ, Whence: io.SeekStart}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.FcntlFlock(fd, syscall.F_SETLK, &lk)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if ferr != nil {
		return &os.PathError{Op: "fcntl", Path: f.Name(), Err: ferr}
	}
	return nil
}
