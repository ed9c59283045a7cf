//go:build !unix

package shim

import (
	"os"
	"os/signal"
)

// execGo runs the real go as a child, where the system cannot replace the process, and
// returns its exit status. Interrupts reach the child from the console; the shim ignores
// them and waits for go's own status.
func execGo(path string, argv, env []string) (int, error) {
	signal.Ignore(os.Interrupt)
	return runChild(path, argv, env, os.Stdin, os.Stdout, os.Stderr)
}
