package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// distAdvice ends the error of an output directory that must not be used.
const distAdvice = "a run writes bin/ and oci/ there and replaces oci/: use a directory of its own, such as dist"

// checkDist checks the output directory dist (absolute and clean) of the project in dir
// before anything is written: it must not be the root directory, the home directory (as
// getenv gives it), or the project directory or one that contains it, also when symbolic
// links lead there; and the first part of its path that exists must be a directory, not a
// file or a symbolic link to nothing (os.MkdirAll would say only "file exists").
func checkDist(dist, dir string, getenv func(string) string) error {
	real := resolve(dist)
	for _, d := range []string{dist, real} {
		if filepath.Dir(d) == d {
			return errors.New("is the root directory: " + distAdvice)
		}
	}
	if home := homeDir(getenv); home != "" && (dist == home || real == resolve(home)) {
		return errors.New("is the home directory: " + distAdvice)
	}
	for _, d := range []string{dist, real} {
		for _, p := range []string{dir, resolve(dir)} {
			if d == p {
				return errors.New("is the project directory: " + distAdvice)
			}
			if within(d, p) {
				return fmt.Errorf("contains the project directory %s: %s", dir, distAdvice)
			}
		}
	}
	return checkDistPath(dist)
}

// checkDistPath finds the first part of path, from its end, that exists, and fails unless it
// is a directory or a symbolic link to one. Other errors are left to the run to meet.
func checkDistPath(path string) error {
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			if filepath.Dir(p) == p {
				return nil
			}
			continue // made by the run, or under a file (ENOTDIR), found further up
		}
		what := "is"
		if p != path {
			what = fmt.Sprintf("is inside %s, which is", p)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			if fi, err = os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s a symbolic link to %q, which does not exist", what, target)
			}
			if err != nil {
				return err
			}
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s a file, not a directory", what)
		}
		return nil
	}
}

// resolve returns path with its symbolic links followed, or path itself when that fails
// (a path that does not exist yet cannot hold the project).
func resolve(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// within reports whether path lies under dir (not dir itself).
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// homeDir returns the home directory as os.UserHomeDir finds it, reading the environment
// through getenv; "" when it is unset or not absolute.
func homeDir(getenv func(string) string) string {
	var h string
	switch runtime.GOOS {
	case "windows":
		h = getenv("USERPROFILE")
	case "plan9":
		h = getenv("home")
	default:
		h = getenv("HOME")
	}
	if !filepath.IsAbs(h) {
		return ""
	}
	return filepath.Clean(h)
}
