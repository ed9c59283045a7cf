package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

// modulePath is the module the bench measures.
const modulePath = "github.com/xgo-build/xgo-build"

// FindRoot returns the directory of the xgo-build module that contains dir (or is dir).
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modfile.ModulePath(data) == modulePath {
			return d, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("reading %s: %w", filepath.Join(d, "go.mod"), err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside the %s module", dir, modulePath)
		}
	}
}
