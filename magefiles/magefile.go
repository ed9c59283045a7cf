//go:build mage

// The targets of the xgo-build repository. The release targets (binaries, image, release) are
// the same ones users import; with no XGO_* variables they release xgo-build itself.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/xgo-build/xgo-build/magefiles/internal/tools"
	//mage:import
	_ "github.com/xgo-build/xgo-build/magefiles/release"
)

// Test installs what the tests need (distribution's registry, BuildKit's buildkitd, buildx and
// staticcheck at their pinned versions, Debian's qemu-user-static, binfmt-support,
// busybox-static and skopeo), runs go vet and staticcheck, and runs `go test -race ./...`.
// buildkitd and buildx take a few minutes to build the first time; later runs reuse them.
// Where a tool cannot be installed, the tests that need it skip and say why; with CI=true
// nothing may skip.
func Test(ctx context.Context) error {
	registry, err := tools.GoInstall(ctx, tools.RegistryModule, os.Stderr)
	if err != nil {
		return err
	}
	// The engine tests (magefiles/engine) build Dockerfiles with buildkitd behind buildx.
	buildkitd, err := tools.GoInstall(ctx, tools.BuildkitdModule, os.Stderr)
	if err != nil {
		return err
	}
	buildx, err := tools.GoInstall(ctx, tools.BuildxModule, os.Stderr)
	if err != nil {
		return err
	}
	if err := tools.Debian(ctx, os.Stderr); err != nil {
		if os.Getenv("CI") == "true" {
			return err
		}
		os.Stderr.WriteString("note: " + err.Error() + "; the tests that need them will skip\n")
	}
	// go vet and staticcheck first: a finding fails the target before the long tests run.
	staticcheck, err := tools.GoInstall(ctx, tools.StaticcheckModule, os.Stderr)
	if err != nil {
		return err
	}
	for _, check := range [][]string{{"go", "vet", "./..."}, {staticcheck, "./..."}} {
		cmd := exec.CommandContext(ctx, check[0], check[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(check, " "), err)
		}
	}
	// Cold caches make the cross-builds in the tests slow: give them time. In CI every test
	// runs, none is taken from the test cache.
	args := []string{"test", "-race", "-timeout=30m"}
	if os.Getenv("CI") == "true" {
		args = append(args, "-count=1")
	}
	if mg.Verbose() {
		args = append(args, "-v")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./...")...)
	cmd.Env = append(os.Environ(), "XGO_TEST_REGISTRY="+registry, "XGO_TEST_BUILDKITD="+buildkitd, "XGO_TEST_BUILDX="+buildx)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
