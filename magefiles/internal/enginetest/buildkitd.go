package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/lockedbuf"
)

// buildkitd is a running buildkitd.
type buildkitd struct {
	cmd     *exec.Cmd
	socket  string
	output  *lockedbuf.Buffer
	done    chan struct{} // closed when it has exited
	waitErr error         // how it exited, set before done is closed
}

// buildkitdConfig returns the buildkitd.toml of a daemon with its state under root, serving
// on socket, with the OCI worker only and docker.io mirrored to the plain-HTTP registry on
// mirror ("127.0.0.1:PORT"). The worker runs runc, on the host's network (containers reach
// the Go module proxy as the host does), with the snapshotter buildkitd picks: overlayfs
// where the kernel mounts it on root, else native, which copies the whole file system for
// every step (measured here: the repository's four-platform build took 148-205 s with native,
// 108 s with overlayfs).
func buildkitdConfig(root, socket, runc, mirror string) []byte {
	var b bytes.Buffer
	q := strconv.Quote
	fmt.Fprintf(&b, "root = %s\n\n", q(root))
	fmt.Fprintf(&b, "[grpc]\n  address = [%s]\n\n", q("unix://"+socket))
	fmt.Fprintf(&b, "[worker.oci]\n  enabled = true\n  binary = %s\n  snapshotter = \"auto\"\n  networkMode = \"host\"\n  gc = false\n\n", q(runc))
	fmt.Fprintf(&b, "[worker.containerd]\n  enabled = false\n\n")
	fmt.Fprintf(&b, "[registry.\"docker.io\"]\n  mirrors = [%s]\n\n", q(mirror))
	fmt.Fprintf(&b, "[registry.%s]\n  http = true\n", q(mirror))
	return b.Bytes()
}

// startBuildkitd runs buildkitd with its configuration, socket and state in dir and waits
// until the socket accepts connections.
func startBuildkitd(ctx context.Context, bin, runc, dir, mirror string) (*buildkitd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making buildkitd's directory: %w", err)
	}
	socket := filepath.Join(dir, "buildkitd.sock")
	config := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(config, buildkitdConfig(filepath.Join(dir, "root"), socket, runc, mirror), 0o644); err != nil {
		return nil, fmt.Errorf("writing buildkitd.toml: %w", err)
	}
	b := &buildkitd{
		cmd:    exec.Command(bin, "--config", config),
		socket: socket,
		output: &lockedbuf.Buffer{},
		done:   make(chan struct{}),
	}
	b.cmd.Stdout, b.cmd.Stderr = b.output, b.output
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		b.waitErr = b.cmd.Wait()
		close(b.done)
	}()
	if err := b.waitReady(ctx); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// waitReady polls the socket until buildkitd accepts a connection, for at most 60 s.
func (b *buildkitd) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		c, err := net.Dial("unix", b.socket)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("buildkitd exited before serving (%v): %s", b.waitErr, b.output.String())
		case <-ctx.Done():
			return fmt.Errorf("waiting for buildkitd on %s: %w (last try: %v): %s", b.socket, ctx.Err(), err, b.output.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// snapshotter returns the snapshotter buildkitd said it picked, or "".
func (b *buildkitd) snapshotter() string {
	m := regexp.MustCompile(`auto snapshotter: using ([\w-]+)`).FindStringSubmatch(b.output.String())
	if m == nil {
		return ""
	}
	return m[1]
}

// stop ends buildkitd: SIGTERM, then SIGKILL after 20 s. Stopping it twice does nothing.
func (b *buildkitd) stop() error {
	select {
	case <-b.done:
		return nil
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		return fmt.Errorf("buildkitd did not stop on SIGTERM: %s", lastLines(b.output.String(), 20))
	}
}
