package bench

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFloorProgram builds the start-up cases' T and checks both of its behaviours: alone it
// exits 0; with XGO_FLOOR_EXEC it execs that path (a missing one makes it fail with status 2),
// and the program it runs no longer sees the variable, so T with XGO_FLOOR_EXEC=T stops.
func TestFloorProgram(t *testing.T) {
	dir := t.TempDir()
	env := withEnv(os.Environ(), "GOWORK=off", "XGO_FLOOR_EXEC")
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	floor, err := buildFloor(context.Background(), root, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) (string, error) {
		cmd := exec.Command(floor)
		cmd.Env = withEnv(env, extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err != nil {
		t.Errorf("T alone: %v\n%s", err, out)
	}
	if out, err := run("XGO_FLOOR_EXEC=" + floor); err != nil {
		t.Errorf("T running T: %v\n%s", err, out)
	}
	out, err := run("XGO_FLOOR_EXEC=" + filepath.Join(dir, "missing"))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.HasPrefix(out, "floor: ") {
		t.Errorf("T running a missing program: %v, output %q; want status 2 and a floor: line", err, out)
	}
}

func TestStartupNote(t *testing.T) {
	side := func(secs ...float64) Side {
		var s Side
		for _, v := range secs {
			s.Samples = append(s.Samples, Sample{Seconds: v, CPU: v / 2})
		}
		return s
	}
	alone := side(0.004, 0.005, 0.006)
	startup := Case{Ours: side(0.013, 0.014, 0.015), Theirs: alone}
	floor := Case{Ours: side(0.010, 0.011, 0.012), Theirs: alone}
	got := startupNote(startup, floor)
	for _, want := range []string{
		"medians of 3 interleaved runs",
		"xgo-build takes 9.0 ms / 4.5 ms",
		"floor of 6.0 ms / 3.0 ms",
		"own share is 3.0 ms / 1.5 ms",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("startupNote lacks %q:\n%s", want, got)
		}
	}
}
