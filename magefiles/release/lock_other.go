//go:build !unix && !windows

package release

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// tryLock fails: these systems (js, wasip1, plan9) have no file locks, and a run cannot
// start the go builds there either.
func tryLock(*os.File) error {
	return fmt.Errorf("%s has no file locks: %w", runtime.GOOS, errors.ErrUnsupported)
}

// unlockFile does nothing: tryLock never takes a lock here.
func unlockFile(*os.File) error { return nil }
