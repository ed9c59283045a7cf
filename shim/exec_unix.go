//go:build unix

package shim

import (
	"fmt"
	"syscall"
)

// execGo replaces the process with the real go, so signals and the exit status are go's
// own; it returns only when the exec fails.
func execGo(path string, argv, env []string) (int, error) {
	err := syscall.Exec(path, argv, env)
	return exitShim, fmt.Errorf("executing %q: %w", path, err)
}
