package shim

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// shimMainPath is the package path of the xgo-build command, as recorded in its build info.
const shimMainPath = "github.com/xgo-build/xgo-build/cmd/xgo-build"

// findGo returns the path of the real go command: XGO_GO if set (a path, or a name looked
// up in PATH), else the first go on PATH that is not this executable (self). Files are
// compared, not names: a symlink or hard link to self is skipped, and a candidate that is
// another copy of xgo-build is reported as a loop rather than run. real reports whether the
// command is the go command itself rather than a wrapper around it (see markDepth); its
// build info is read once, for both answers.
func findGo(getenv func(string) string, self string) (path string, real bool, err error) {
	if name := getenv("XGO_GO"); name != "" {
		path = name
		if !hasSeparator(name) {
			found, err := lookPath(name, getenv("PATH"), "")
			if err != nil {
				return "", false, fmt.Errorf("finding XGO_GO=%q: %w", name, err)
			}
			path = found
		}
		if err := checkExecutable(path); err != nil {
			return "", false, fmt.Errorf("checking XGO_GO=%q: %w", name, err)
		}
		if sameFile(path, self) {
			return "", false, fmt.Errorf("loop: XGO_GO=%q is xgo-build itself; set XGO_GO to the real go", name)
		}
		main := mainPackage(path)
		if main == shimMainPath {
			return "", false, fmt.Errorf("loop: XGO_GO=%q is another xgo-build; set XGO_GO to the real go", name)
		}
		return path, main == realGoMainPath, nil
	}
	path, err = lookPath(goExe(), getenv("PATH"), self)
	if err != nil {
		return "", false, fmt.Errorf("finding the real go: %w; install Go or set XGO_GO", err)
	}
	main := mainPackage(path)
	if main == shimMainPath {
		return "", false, fmt.Errorf("loop: %q on PATH is another xgo-build, not the real go; set XGO_GO to the real go", path)
	}
	return path, main == realGoMainPath, nil
}

// goExe returns the file name of the go command on this system.
func goExe() string {
	if runtime.GOOS == "windows" {
		return "go.exe"
	}
	return "go"
}

// hasSeparator reports whether name contains a path separator, so is a path, not a name.
func hasSeparator(name string) bool {
	return filepath.Base(name) != name
}

// lookPath returns the first executable file called name in the absolute directories of
// pathList that is not the same file as skip. Relative entries ("", ".") are ignored, as a
// build must not pick up a go from the current directory.
func lookPath(name, pathList, skip string) (string, error) {
	skipped := false
	for _, dir := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(dir) {
			continue
		}
		path := filepath.Join(dir, name)
		if checkExecutable(path) != nil {
			continue
		}
		if skip != "" && sameFile(path, skip) {
			skipped = true
			continue
		}
		return path, nil
	}
	if skipped {
		return "", fmt.Errorf("no %s in PATH other than xgo-build itself", name)
	}
	return "", fmt.Errorf("no %s in PATH", name)
}

// checkExecutable returns an error unless path is a regular file this system can run.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
		return errors.New("not executable")
	}
	return nil
}

// sameFile reports whether a and b name the same file (after symlinks); false if either
// cannot be read.
func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

// realGoMainPath is the package path of the go command, as recorded in its build info.
const realGoMainPath = "cmd/go"

// mainPackage returns the main package path recorded in the build info of the Go binary at
// path, or "" when path is not a Go binary with build info (a shell script, say).
func mainPackage(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	return bi.Path
}
