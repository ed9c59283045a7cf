package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/lockedbuf"
)

// command is one program run the bench makes: what to run, where and with which environment.
type command struct {
	Dir  string
	Env  []string
	Args []string
	// Chroot, when set, is the root directory the program runs in (Dir is then inside it):
	// Args[0] is found there too.
	Chroot string
	// Stderr, when set, receives a copy of what measure's program writes to standard error.
	Stderr io.Writer
}

// cmd returns the exec.Cmd that runs c.
func (c command) cmd(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	if c.Chroot != "" {
		// Args[0] is a path inside the root, not a program of this machine's PATH.
		cmd.Path = c.Args[0]
		cmd.Err = chroot(cmd, c.Chroot)
	}
	return cmd
}

// run runs c to completion and returns its output; for setup steps, not measured.
func (c command) run(ctx context.Context) ([]byte, error) {
	cmd := c.cmd(ctx)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("running %s: %w%s", strings.Join(c.Args, " "), err, tail(out.Bytes()))
	}
	return out.Bytes(), nil
}

// measure runs c and returns its wall-clock time, CPU time and peak memory with its standard
// output. The CPU time (user and system) covers the process and the descendants it waited for.
// The peak memory is the ru_maxrss that wait4 reports: on Linux the largest resident set of
// the process and of every descendant it waited for, which for a tree of processes is its
// largest single member, not the sum of the members running at once.
func (c command) measure(ctx context.Context) (Sample, []byte, error) {
	cmd := c.cmd(ctx)
	// Two goroutines copy stdout and stderr: the buffer they share locks.
	var stdout bytes.Buffer
	all := &lockedbuf.Buffer{}
	cmd.Stdout = teeWriter{&stdout, all}
	cmd.Stderr = all
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(all, c.Stderr)
	}
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return Sample{}, nil, fmt.Errorf("running %s: %w%s", strings.Join(c.Args, " "), err, tail([]byte(all.String())))
	}
	ps := cmd.ProcessState
	return Sample{Seconds: elapsed.Seconds(), CPU: (ps.UserTime() + ps.SystemTime()).Seconds(), MaxRSS: maxRSS(ps)}, stdout.Bytes(), nil
}

// teeWriter writes everything to the standard output buffer and to the combined one.
type teeWriter struct {
	stdout *bytes.Buffer
	all    *lockedbuf.Buffer
}

func (t teeWriter) Write(p []byte) (int, error) {
	t.stdout.Write(p)
	return t.all.Write(p)
}

// tail returns the last lines of a failed command's output, for its error.
func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	s := strings.Join(lines, "\n")
	if s == "" {
		return ""
	}
	return ":\n" + s
}

// withEnv returns env with each "KEY=value" of kv set (replacing any earlier KEY) and each bare
// "KEY" of kv removed, without duplicate keys.
func withEnv(env []string, kv ...string) []string {
	drop := map[string]bool{}
	for _, s := range kv {
		k, _, _ := strings.Cut(s, "=")
		drop[k] = true
	}
	var out []string
	for _, s := range env {
		k, _, _ := strings.Cut(s, "=")
		if !drop[k] {
			out = append(out, s)
		}
	}
	for _, s := range kv {
		if strings.Contains(s, "=") {
			out = append(out, s)
		}
	}
	return out
}
