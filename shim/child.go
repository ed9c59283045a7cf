package shim

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
)

// runChild runs path with argv (argv[0] included) and env as a child process wired to
// the given streams and returns its exit status.
func runChild(path string, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := &exec.Cmd{
		Path:   path,
		Args:   argv,
		Env:    env,
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
	}
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return exitShim, fmt.Errorf("running %q: %w", path, err)
	}
	return exitOK, nil
}
