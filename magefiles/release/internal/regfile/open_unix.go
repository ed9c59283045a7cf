//go:build unix

package regfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// open opens path for reading without following a symbolic link in its last element and
// without waiting for a writer, should it be a FIFO after all.
func open(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
}
