package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// userMagefile is the magefile of the bench's user project: the release targets, imported the
// way the README tells users to.
const userMagefile = `//go:build mage

// Targets of a project released with xgo-build.
package main

import (
	//mage:import
	_ "github.com/xgo-build/xgo-build/magefiles/release"
)
`

// userProject copies testdata/<program> to dir as a user's project: the program at the module
// root, a magefile importing the release targets, and go.mod requiring xgo-build with a replace
// to the repository at root. It fetches the modules, then compiles the project's magefile into
// a runner binary with mage and returns the runner's path. Both the release and ko build the
// program in this directory.
func userProject(ctx context.Context, root, program, dir, mage string, env []string) (string, error) {
	if err := copyTree(filepath.Join(root, "testdata", program), dir); err != nil {
		return "", fmt.Errorf("copying %s: %w", program, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "magefiles"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "magefiles", "magefile.go"), []byte(userMagefile), 0o644); err != nil {
		return "", err
	}
	env = withEnv(env, "GOWORK=off", "GOFLAGS=-mod=mod")
	runner := filepath.Join(dir, ".mage-runner")
	for _, args := range [][]string{
		{"go", "mod", "edit", "-require=github.com/xgo-build/xgo-build@v0.0.0", "-replace=github.com/xgo-build/xgo-build=" + root},
		{"go", "mod", "tidy"},
		{"go", "mod", "download"},
		{mage, "-compile", runner},
	} {
		if _, err := (command{Dir: dir, Env: env, Args: args}).run(ctx); err != nil {
			return "", fmt.Errorf("setting up the %s project: %w", program, err)
		}
	}
	return runner, nil
}
