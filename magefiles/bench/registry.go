package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// registry is distribution's `registry` binary serving plain HTTP on a 127.0.0.1 port, with
// its storage in a directory of the run.
type registry struct {
	Host   string // "127.0.0.1:PORT"
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
}

// startRegistry runs bin on a free loopback port with storage under dir and waits until it
// answers GET /v2/.
func startRegistry(ctx context.Context, bin, dir string) (*registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	host := l.Addr().String()
	l.Close()
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\n"+
		"http:\n  addr: %s\n  secret: xgo-build-bench\n", strconv.Quote(storage), host)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	r := &registry{Host: host, output: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", cfg)
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	r.cmd.Stdout, r.cmd.Stderr = r.output, r.output
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		r.cmd.Wait()
		close(r.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("registry on %s exited at start: %s", host, r.output.String())
		case <-ctx.Done():
			r.stop()
			return nil, fmt.Errorf("waiting for the registry on %s: %w: %s", host, ctx.Err(), r.output.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the registry: SIGTERM, then SIGKILL after five seconds.
func (r *registry) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}
