//go:build !unix

package bench

import (
	"errors"
	"os/exec"
)

// chroot fails: a root directory of its own for a program is a unix feature.
func chroot(*exec.Cmd, string) error {
	return errors.New("running a program in a root directory of its own needs a unix machine")
}
