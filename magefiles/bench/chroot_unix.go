//go:build unix

package bench

import (
	"os/exec"
	"syscall"
)

// chroot makes cmd run with root as its root directory.
func chroot(cmd *exec.Cmd, root string) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	return nil
}
