//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package release

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) lock on f without waiting: errLocked when another
// open file description holds one (in this process or another). The lock goes with the open
// file, so closing f releases it, and so does the end of the process.
func tryLock(f *os.File) error {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// unlockFile releases the lock tryLock took on f.
func unlockFile(f *os.File) error {
	return flock(f, syscall.LOCK_UN)
}

// flock calls flock(2) on f's descriptor, again when a signal interrupts it.
func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if ferr != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return nil
}
