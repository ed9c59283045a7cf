package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerfile checks the shape of the repository's Dockerfile that a multi-platform
// build without emulation depends on: a build stage on $BUILDPLATFORM that runs xgo-build
// from source, and a final scratch stage with no RUN, holding only /xgo-build.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]string // instructions per stage, comments and continuations dropped
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			continue // global ARGs
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], line)
	}
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2", len(stages))
	}
	build, final := stages[0], stages[1]
	if !strings.HasPrefix(build[0], "FROM --platform=$BUILDPLATFORM golang:1.26-alpine ") {
		t.Errorf("build stage starts %q, want FROM --platform=$BUILDPLATFORM golang:1.26-alpine", build[0])
	}
	if !hasInstruction(build, "ARG TARGETPLATFORM") {
		t.Errorf("build stage does not declare ARG TARGETPLATFORM")
	}
	if !hasInstruction(build, "RUN go run ./cmd/xgo-build ") || !strings.Contains(strings.Join(build, "\n"), "-o /out/xgo-build ./cmd/xgo-build") {
		t.Errorf("build stage does not run go run ./cmd/xgo-build ... -o /out/xgo-build ./cmd/xgo-build:\n%s", strings.Join(build, "\n"))
	}
	want := []string{"FROM scratch", "COPY --from=build /out/xgo-build /xgo-build", `ENTRYPOINT ["/xgo-build"]`}
	if strings.Join(final, "\n") != strings.Join(want, "\n") {
		t.Errorf("final stage:\n%s\nwant:\n%s", strings.Join(final, "\n"), strings.Join(want, "\n"))
	}
}

// hasInstruction reports whether one of lines starts with prefix.
func hasInstruction(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
