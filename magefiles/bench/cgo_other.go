//go:build !linux

package bench

import "errors"

// mknodNull fails: the cgo comparison's chroot is made on linux only.
func mknodNull(string) error {
	return errors.New("making a /dev/null for a chroot needs linux")
}
