package release

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLockDistTwice takes the lock of one dist twice in this process, through two open
// files: the second attempt fails at once naming this process's pid, and succeeds once the
// first lock is released.
func TestLockDistTwice(t *testing.T) {
	if runtime.GOOS == "aix" || runtime.GOOS == "solaris" {
		t.Skip("fcntl locks do not keep two open files of one process apart")
	}
	dist := filepath.Join(t.TempDir(), "dist")
	unlock, err := lockDist(t.Context(), dist, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	if b, err := os.ReadFile(filepath.Join(dist, lockName)); err != nil || string(b) != pid+"\n" {
		t.Fatalf("%s holds %q, %v; want the pid %s", lockName, b, err, pid)
	}
	_, err = lockDist(t.Context(), dist, false, io.Discard)
	want := `XGO_DIST "` + dist + `" is in use by another run (pid ` + pid + `); wait for it to end, or set XGO_WAIT=true to wait`
	if err == nil || err.Error() != want {
		t.Fatalf("second lock: %v, want %q", err, want)
	}
	unlock()
	if b, err := os.ReadFile(filepath.Join(dist, lockName)); err != nil || len(b) != 0 {
		t.Fatalf("%s after unlock holds %q, %v; want it empty", lockName, b, err)
	}
	unlock, err = lockDist(t.Context(), dist, false, io.Discard)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock()
}

func TestInUseError(t *testing.T) {
	tests := []struct {
		pid  int
		want string
	}{
		{1234, `XGO_DIST "/w/dist" is in use by another run (pid 1234); wait for it to end, or set XGO_WAIT=true to wait`},
		{0, `XGO_DIST "/w/dist" is in use by another run; wait for it to end, or set XGO_WAIT=true to wait`},
	}
	for _, tt := range tests {
		if got := inUseError("/w/dist", tt.pid).Error(); got != tt.want {
			t.Errorf("inUseError(%d) = %q, want %q", tt.pid, got, tt.want)
		}
	}
}

func TestLockReadPid(t *testing.T) {
	tests := []struct {
		content string
		want    int
	}{
		{"1234\n", 1234},
		{"99\n4\n", 99}, // a shorter pid written over a longer one, before the cut
		{"", 0},
		{"12", 0}, // still being written
		{"x\n", 0},
		{"-3\n", 0},
		{"0\n", 0},
	}
	for _, tt := range tests {
		p := filepath.Join(t.TempDir(), lockName)
		if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := readPid(f); got != tt.want {
			t.Errorf("readPid(%q) = %d, want %d", tt.content, got, tt.want)
		}
		f.Close()
	}
}

// TestRunDistInUse runs each target while another process holds the lock of its dist: each
// fails at once, as its only error, with the in-use message naming that process, and leaves
// dist as it was (no INCOMPLETE, no bin, no oci).
func TestRunDistInUse(t *testing.T) {
	if lockChild() {
		return
	}
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	dist := filepath.Join(dir, "dist")
	pid, _ := holdLock(t, dist)
	before := dirContents(t, dist)
	for _, last := range []stage{stageBinaries, stageImage, stageRelease} {
		t.Run(last.String(), func(t *testing.T) {
			var out syncBuffer
			env := lockRunEnv(dir, &out, map[string]string{
				// Nothing listens there: a release that got past the lock would fail, at once,
				// with another error.
				"XGO_REPO":          "127.0.0.1:1/locked/app",
				"XGO_RETRY_TIMEOUT": "0",
			})
			err := run(t.Context(), env, last)
			want := fmt.Sprintf(`XGO_DIST %q is in use by another run (pid %d); wait for it to end, or set XGO_WAIT=true to wait`, dist, pid)
			if err == nil || err.Error() != want {
				t.Errorf("run: %v, want %q\n%s", err, want, out.String())
			}
			if out.String() != "" {
				t.Errorf("output of the refused run:\n%s", out.String())
			}
			if after := dirContents(t, dist); !maps.Equal(after, before) {
				t.Errorf("dist changed: %q, want %q", after, before)
			}
		})
	}
}

// TestRunWaitsForLock runs image with XGO_WAIT=true while another process holds the lock of
// its dist: it says once whom it waits for, changes nothing in dist while it waits, and
// builds the image once the other process releases the lock.
func TestRunWaitsForLock(t *testing.T) {
	if lockChild() {
		return
	}
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	dist := filepath.Join(dir, "dist")
	pid, release := holdLock(t, dist)
	before := dirContents(t, dist)
	var out syncBuffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, lockRunEnv(dir, &out, map[string]string{"XGO_WAIT": "true"}), stageImage) }()

	waiting := fmt.Sprintf("waiting for the run with pid %d to release %s\n", pid, dist)
	if err := waitOutput(ran, &out, waiting); err != nil {
		t.Fatal(err)
	}
	// A few polls later it still waits, and has touched nothing.
	time.Sleep(3 * lockPoll)
	select {
	case err := <-ran:
		t.Fatalf("run ended while the lock was held: %v\n%s", err, out.String())
	default:
	}
	if after := dirContents(t, dist); !maps.Equal(after, before) {
		t.Errorf("dist changed while waiting: %q, want %q", after, before)
	}

	release()
	if err := <-ran; err != nil {
		t.Fatalf("run after the lock was released: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), waiting); n != 1 {
		t.Errorf("the waiting line is printed %d times, want once:\n%s", n, out.String())
	}
	if _, err := os.Stat(filepath.Join(dist, "oci", "index.json")); err != nil {
		t.Errorf("no OCI layout after the wait: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dist, incompleteMarker)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist/%s after a successful run (stat: %v)", incompleteMarker, err)
	}
	if b, err := os.ReadFile(filepath.Join(dist, lockName)); err != nil || len(b) != 0 {
		t.Errorf("%s after the run holds %q, %v; want it empty", lockName, b, err)
	}
}

// TestRunWaitCancelled ends the context of a run that waits for the lock of its dist: the
// run returns at once with the context's cause (a signal as a stopped target), writes
// nothing, and holds no lock afterwards.
func TestRunWaitCancelled(t *testing.T) {
	if lockChild() {
		return
	}
	tests := []struct {
		name  string
		cause error
		want  func(err, cause error, dist string) bool
	}{
		{"cause", errors.New("the test ended the wait"), func(err, cause error, dist string) bool {
			return errors.Is(err, cause) && err.Error() == "waiting for "+dist+": the test ended the wait"
		}},
		{"signal", &signalError{syscall.SIGTERM}, func(err, cause error, dist string) bool {
			return errors.Is(err, cause) && err.Error() == "image stopped: terminated signal received"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeModule(t, map[string]string{"main.go": mainGo})
			dist := filepath.Join(dir, "dist")
			_, release := holdLock(t, dist)
			before := dirContents(t, dist)
			var out syncBuffer
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			ran := make(chan error, 1)
			go func() { ran <- run(ctx, lockRunEnv(dir, &out, map[string]string{"XGO_WAIT": "true"}), stageImage) }()
			if err := waitOutput(ran, &out, "waiting for the run with pid "); err != nil {
				t.Fatal(err)
			}
			cancel(tt.cause)
			var err error
			select {
			case err = <-ran:
			case <-time.After(2 * time.Second):
				t.Fatalf("run still waits 2s after its context ended\n%s", out.String())
			}
			if !tt.want(err, tt.cause, dist) {
				t.Errorf("run: %v; want the cause %q", err, tt.cause)
			}
			if after := dirContents(t, dist); !maps.Equal(after, before) {
				t.Errorf("dist changed: %q, want %q", after, before)
			}
			// The abandoned wait holds nothing: once the other process lets go, the lock is
			// free.
			release()
			unlock, err := lockDist(t.Context(), dist, false, io.Discard)
			if err != nil {
				t.Fatalf("locking after the cancelled wait: %v", err)
			}
			unlock()
		})
	}
}

// lockRunEnv is the environment of a run of the image of dir's main package for one
// platform on scratch, without a cache, plus vars.
func lockRunEnv(dir string, out io.Writer, vars map[string]string) runEnv {
	env := map[string]string{
		"XGO_PLATFORMS":     "linux/amd64",
		"XGO_BASE":          "scratch",
		"XGO_CACHE":         "off",
		"SOURCE_DATE_EPOCH": "86400",
	}
	maps.Copy(env, vars)
	return runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: out}
}

// lockChild is the child process of holdLock when XGO_TEST_LOCK_DIST is set: it takes the
// lock of that directory, says "locked", holds the lock until its stdin ends, and exits. It
// reports false in any other process.
func lockChild() bool {
	dist := os.Getenv("XGO_TEST_LOCK_DIST")
	if dist == "" {
		return false
	}
	unlock, err := lockDist(context.Background(), dist, false, io.Discard)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	unlock()
	os.Exit(0)
	return true
}

// holdLock starts this test again in a child process that takes the lock of dist (see
// lockChild) and returns its pid once it holds the lock; release ends the child, which
// releases the lock, and is called at the end of the test if need be.
func holdLock(t *testing.T, dist string) (pid int, release func()) {
	t.Helper()
	test, _, _ := strings.Cut(t.Name(), "/")
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "XGO_TEST_LOCK_DIST="+dist)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("the process holding the lock: %v", err)
			}
		})
	}
	t.Cleanup(release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		t.Fatalf("the child did not take the lock of %s: %q, %v", dist, line, err)
	}
	return cmd.Process.Pid, release
}

// waitOutput waits until out holds want, or fails when the run reports on ran first or a
// minute passes.
func waitOutput(ran chan error, out *syncBuffer, want string) error {
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-ran:
			return fmt.Errorf("run ended without printing %q: %v\n%s", want, err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("run did not print %q in a minute:\n%s", want, out.String())
		}
	}
	return nil
}

// dirContents returns the files below dir, by slash path, with their contents (or sizes,
// past 64 bytes); directories end in a slash.
func dirContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			m[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		m[rel] = string(b)
		if len(b) > 64 {
			m[rel] = fmt.Sprintf("(%d bytes)", len(b))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// syncBuffer is an output that a run writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
