//go:build !unix

package regfile

import "os"

// open opens path for reading. Windows has no O_NOFOLLOW and no FIFOs in the file system:
// Open's lstat before and stat after the open, which must name the same file, stand in.
func open(path string) (*os.File, error) {
	return os.Open(path)
}
