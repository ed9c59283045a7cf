// Package registrytest runs a real OCI registry: distribution's `registry`
// binary on a free 127.0.0.1 port, with its storage in a directory of its own.
//
// Run starts one for any caller (the benchmark uses it) and Close stops it;
// Start is the wrapper for tests, which stops the registry when the test ends.
//
// The binary is found through $XGO_TEST_REGISTRY, else as `registry` on PATH,
// unless WithBinary names it. Install it with
//
//	GOBIN=<dir> go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0
//
// When it is missing, Start skips the test, or fails it when CI is "true" (CI
// must never skip).
package registrytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/lockedbuf"
)

// Registry is a registry process serving on 127.0.0.1, with its settings.
type Registry struct {
	host     string
	scheme   string
	dir      string // storage
	tmp      string // the directory Run made, removed by Close; "" with WithDir
	bin      string
	cfgPath  string
	tls      *tlsFiles
	htpasswd bool
	user     string
	password string
	timeout  time.Duration
	output   *lockedbuf.Buffer

	mu   sync.Mutex
	proc *process // nil once stopped
}

// process is one run of the registry binary.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when it has exited
	waitErr error         // how it exited, set before done is closed
}

// Option configures a registry before it starts.
type Option func(*settings)

type settings struct {
	getenv   func(string) string
	bin      string
	dir      string
	tls      bool
	htpasswd bool
	foreign  bool
	timeout  time.Duration
}

// newSettings applies opts to the defaults.
func newSettings(opts []Option) settings {
	s := settings{getenv: os.Getenv, timeout: 30 * time.Second}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// WithGetenv makes Run and Start read XGO_TEST_REGISTRY and CI through getenv
// instead of the process environment.
func WithGetenv(getenv func(string) string) Option {
	return func(s *settings) { s.getenv = getenv }
}

// WithBinary runs the registry binary at path instead of looking for one
// through $XGO_TEST_REGISTRY and PATH.
func WithBinary(path string) Option {
	return func(s *settings) { s.bin = path }
}

// WithDir keeps the registry's configuration, storage and certificates in dir,
// which Close leaves in place. Without it Run makes a temporary directory that
// Close removes.
func WithDir(dir string) Option {
	return func(s *settings) { s.dir = dir }
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1 and localhost signed by
// a fresh test CA; see Registry.CAFile and Registry.TLSConfig.
func WithTLS() Option {
	return func(s *settings) { s.tls = true }
}

// WithHtpasswd requires basic auth (distribution's htpasswd access
// controller). The registry provisions one user, "docker", with a random
// password; see Registry.Username, Registry.Password and
// Registry.DockerConfig.
func WithHtpasswd() Option {
	return func(s *settings) { s.htpasswd = true }
}

// WithForeignLayers accepts manifests whose foreign (non-distributable) layers
// are kept at URLs on 127.0.0.1, as Windows base images keep theirs elsewhere;
// by default the registry refuses every layer URL.
func WithForeignLayers() Option {
	return func(s *settings) { s.foreign = true }
}

// WithStartTimeout bounds how long Run, Start and Restart wait for the registry
// to answer (30 s by default).
func WithStartTimeout(d time.Duration) Option {
	return func(s *settings) { s.timeout = d }
}

// Run starts a registry and waits until it answers; ctx bounds only that wait,
// not the registry's life. The caller stops it with Close.
func Run(ctx context.Context, opts ...Option) (*Registry, error) {
	s := newSettings(opts)
	bin := s.bin
	if bin == "" {
		var err error
		if bin, err = findBinary(s.getenv); err != nil {
			return nil, err
		}
	}
	dir, tmp := s.dir, ""
	if dir == "" {
		d, err := os.MkdirTemp("", "registrytest-")
		if err != nil {
			return nil, fmt.Errorf("making the registry's directory: %w", err)
		}
		dir, tmp = d, d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making the registry's directory: %w", err)
	}
	r, err := runIn(ctx, bin, dir, s)
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, err
	}
	r.tmp = tmp
	return r, nil
}

// runIn starts the registry with its files in dir.
func runIn(ctx context.Context, bin, dir string, s settings) (*Registry, error) {
	var tf *tlsFiles
	if s.tls {
		var err error
		if tf, err = writeTLSFiles(dir); err != nil {
			return nil, err
		}
	}
	// A free port found by listening can be taken again before the registry
	// binds it; a registry that exits at once is started again on a new port.
	for attempt := 1; ; attempt++ {
		r, err := start(ctx, bin, dir, tf, s)
		if err == nil || attempt == 3 || !errors.Is(err, errExited) {
			return r, err
		}
	}
}

// findBinary returns $XGO_TEST_REGISTRY, else `registry` from PATH.
func findBinary(getenv func(string) string) (string, error) {
	if p := getenv("XGO_TEST_REGISTRY"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("XGO_TEST_REGISTRY=%q: %w", p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath("registry")
	if err != nil {
		return "", errors.New("distribution's `registry` binary is not on PATH")
	}
	return p, nil
}

var errExited = errors.New("registry exited")

// start runs the binary once on a free port and waits until it serves.
func start(ctx context.Context, bin, dir string, tf *tlsFiles, s settings) (*Registry, error) {
	htpasswd, timeout := s.htpasswd, s.timeout
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	htpasswdPath := ""
	if htpasswd {
		// A missing file makes the registry provision a user and log its password.
		htpasswdPath = filepath.Join(dir, "auth", "htpasswd")
		os.Remove(htpasswdPath)
	}
	r := &Registry{
		host: host, scheme: "http", dir: storage, bin: bin, cfgPath: filepath.Join(dir, "config.yml"),
		tls: tf, htpasswd: htpasswd, timeout: timeout, output: &lockedbuf.Buffer{},
	}
	if tf != nil {
		r.scheme = "https"
	}
	if err := os.WriteFile(r.cfgPath, config(host, storage, tf, htpasswdPath, s.foreign), 0o644); err != nil {
		return nil, err
	}
	if err := r.launch(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// launch starts the binary and waits until it serves.
func (r *Registry) launch(ctx context.Context) error {
	p := &process{cmd: exec.Command(r.bin, "serve", r.cfgPath), done: make(chan struct{})}
	p.cmd.Dir = filepath.Dir(r.cfgPath)
	p.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	p.cmd.Stdout = r.output
	p.cmd.Stderr = r.output
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", r.bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	if err := r.waitReady(ctx, p); err != nil {
		r.Stop()
		return err
	}
	return nil
}

// config returns the registry's configuration file.
func config(host, storage string, tf *tlsFiles, htpasswd string, foreign bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "version: 0.1\n")
	level := "error"
	if htpasswd != "" {
		level = "warn" // the provisioned password is logged as a warning
	}
	fmt.Fprintf(&b, "log:\n  level: %s\n  formatter: json\n  accesslog:\n    disabled: true\n", level)
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n", strconv.Quote(storage))
	fmt.Fprintf(&b, "http:\n  addr: %s\n  secret: registrytest\n", host)
	if tf != nil {
		fmt.Fprintf(&b, "  tls:\n    certificate: %s\n    key: %s\n", strconv.Quote(tf.cert), strconv.Quote(tf.key))
	}
	if htpasswd != "" {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: registrytest\n    path: %s\n", strconv.Quote(htpasswd))
	}
	if foreign {
		fmt.Fprintf(&b, "validation:\n  manifests:\n    urls:\n      allow:\n        - %s\n", strconv.Quote(`^https?://127\.0\.0\.1:[0-9]+/`))
	}
	return b.Bytes()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls GET /v2/ until it answers 200 (with the provisioned
// credentials under htpasswd).
func (r *Registry) waitReady(ctx context.Context, p *process) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: r.Transport()}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/v2/", nil)
		if err != nil {
			return err
		}
		if r.htpasswd && r.password == "" {
			r.user, r.password = provisioned(r.output.String())
		}
		if r.password != "" {
			req.SetBasicAuth(r.user, r.password)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /v2/ answered %s", resp.Status)
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("%w before answering on %s (%v): %s", errExited, r.host, p.waitErr, r.output.String())
		case <-ctx.Done():
			return fmt.Errorf("waiting for the registry on %s: %w (last try: %v): %s", r.host, ctx.Err(), last, r.output.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Host returns the registry's "127.0.0.1:PORT".
func (r *Registry) Host() string { return r.host }

// URL returns the registry's base URL, "http://127.0.0.1:PORT" (https with WithTLS).
func (r *Registry) URL() string { return r.scheme + "://" + r.host }

// StorageDir returns the directory the registry stores blobs and manifests in.
func (r *Registry) StorageDir() string { return r.dir }

// Output returns what the registry has written to stdout and stderr so far.
func (r *Registry) Output() string { return r.output.String() }

// Transport returns an HTTP transport that trusts the registry's certificate
// (a plain clone of http.DefaultTransport without WithTLS).
func (r *Registry) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if r.tls != nil {
		t.TLSClientConfig = r.TLSConfig()
	}
	return t
}

// Close stops the registry and removes the directory Run made for it; a
// directory given with WithDir stays. Closing a closed registry does nothing.
func (r *Registry) Close() error {
	err := r.Stop()
	if r.tmp != "" {
		if rmErr := os.RemoveAll(r.tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("removing the registry's directory: %w", rmErr)
		}
	}
	return err
}

// Stop ends the registry (SIGTERM, then SIGKILL after 10 s); its storage
// stays, so Restart can start it again. Stopping a stopped registry does
// nothing.
func (r *Registry) Stop() error {
	r.mu.Lock()
	p := r.proc
	r.proc = nil
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("registry on %s did not stop on SIGTERM: %s", r.host, r.output.String())
	}
}

// Restart stops the registry and starts it again on the same port with the
// same storage and credentials, as a registry restarting in production would.
func (r *Registry) Restart() error {
	if err := r.Stop(); err != nil {
		return err
	}
	return r.launch(context.Background())
}

// provisioned finds the user and password the registry logged when it made
// its htpasswd file.
func provisioned(log string) (user, password string) {
	for _, line := range strings.Split(log, "\n") {
		var entry struct{ Msg, User, Password string }
		if json.Unmarshal([]byte(line), &entry) == nil && strings.HasPrefix(entry.Msg, "htpasswd is missing") && entry.Password != "" {
			return entry.User, entry.Password
		}
	}
	return "", ""
}

// Username returns the user of a WithHtpasswd registry, or "".
func (r *Registry) Username() string { return r.user }

// Password returns the password of a WithHtpasswd registry, or "".
func (r *Registry) Password() string { return r.password }

// TLSConfig returns a client configuration that trusts only the registry's
// test CA, or nil without WithTLS.
func (r *Registry) TLSConfig() *tls.Config {
	if r.tls == nil {
		return nil
	}
	return &tls.Config{RootCAs: r.tls.pool, MinVersion: tls.VersionTLS12}
}

// CAFile returns the PEM file of the test CA (for SSL_CERT_FILE), or "" without WithTLS.
func (r *Registry) CAFile() string {
	if r.tls == nil {
		return ""
	}
	return r.tls.ca
}
