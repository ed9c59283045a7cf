package checkout

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ExampleHeading is the README's sentence that introduces the complete example Dockerfile,
// the first dockerfile block after it.
const ExampleHeading = "A complete multi-arch Dockerfile"

// ExampleInstall is the example's line that installs xgo-build, whose module a ModuleProxy
// serves.
const ExampleInstall = "RUN CGO_ENABLED=0 go install github.com/xgo-build/xgo-build/cmd/xgo-build@latest"

// ExampleArgs is the one line ExampleDockerfile adds to the README's example, after its
// first FROM: the public module proxy has no github.com/xgo-build/xgo-build that is this
// checkout, so a build passes GOPROXY (a ModuleProxy first, then the host's own proxies for
// the module's dependencies) and GONOSUMDB (the checksum database does not know this
// checkout's zip) as build args, which reach a RUN only when the stage declares them.
const ExampleArgs = "ARG GOPROXY GONOSUMDB"

// ExampleDockerfile returns the README's complete example Dockerfile (the first dockerfile
// block after ExampleHeading in readme) with ExampleArgs added after its first line;
// everything else is the README's text, byte for byte. The block must start with a FROM
// --platform=$BUILDPLATFORM stage, hold ExampleInstall, and have no # syntax= line.
func ExampleDockerfile(readme string) (string, error) {
	_, after, ok := strings.Cut(readme, ExampleHeading)
	if !ok {
		return "", fmt.Errorf("the README has no %q", ExampleHeading)
	}
	_, after, ok = strings.Cut(after, "```dockerfile\n")
	if !ok {
		return "", fmt.Errorf("the README has no dockerfile block after %q", ExampleHeading)
	}
	block, _, ok := strings.Cut(after, "```\n")
	if !ok {
		return "", errors.New("the README's example Dockerfile block does not end")
	}
	if strings.Contains(block, "# syntax=") {
		// BuildKit would pull the frontend image the line names, from a docker.io that is
		// the engine's registry, which has no such image.
		return "", errors.New("the README's example Dockerfile has a # syntax= line: " +
			"BuildKit's built-in frontend runs all of it, and the line makes BuildKit pull a frontend image")
	}
	first, rest, _ := strings.Cut(block, "\n")
	if !strings.HasPrefix(first, "FROM --platform=$BUILDPLATFORM ") {
		return "", fmt.Errorf("the README's example Dockerfile starts with %q, want a FROM --platform=$BUILDPLATFORM stage", first)
	}
	if !slices.Contains(strings.Split(rest, "\n"), ExampleInstall) {
		return "", fmt.Errorf("the README's example Dockerfile has no line %q", ExampleInstall)
	}
	return first + "\n" + ExampleArgs + "\n" + rest, nil
}
