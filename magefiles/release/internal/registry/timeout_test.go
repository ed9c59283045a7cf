package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/xgo-build/xgo-build/magefiles/internal/faultproxy"
)

// boundedBase is baseTransport with the bounds answer and idle.
func boundedBase(answer, idle time.Duration) *registryTransport {
	t := baseTransport(false)
	t.answerTimeout, t.idleTimeout = answer, idle
	return t
}

// silentServer listens on loopback, accepts every connection and never
// answers. With read true it reads and drops what it is sent; with read false
// it reads nothing at all, as a registry that stops taking an upload. It
// returns "127.0.0.1:port".
func silentServer(t *testing.T, read bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if read {
				go io.Copy(io.Discard, c)
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// within runs f and fails the test when it has not returned within d (the
// bug it checks for is a hang); f is left running, to end with the test's
// servers.
func within[T any](t *testing.T, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s: still waiting after %s", what, d)
		panic("unreachable")
	}
}

// TestTransportNoAnswer: a registry that accepts the connection and never
// answers fails each attempt after the answer timeout, and the request gives
// up when the retry timeout has passed, saying what happened.
func TestTransportNoAnswer(t *testing.T) {
	addr := silentServer(t, true)
	tr := &retryTransport{next: boundedBase(300*time.Millisecond, 300*time.Millisecond), policy: testRetryPolicy(2 * time.Second)}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/", nil)
	err := within(t, 20*time.Second, "GET from a registry that never answers", func() error {
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	prefix := "giving up on registry " + addr + " after "
	suffix := "GET /v2/: no answer from registry " + addr + " within 300ms"
	if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.HasSuffix(err.Error(), suffix) {
		t.Fatalf("err = %v, want %q...%q", err, prefix, suffix)
	}
	var attempts int
	if _, serr := fmt.Sscanf(strings.TrimPrefix(err.Error(), prefix), "%d attempts", &attempts); serr != nil || attempts < 2 {
		t.Fatalf("err = %v, want more than one attempt", err)
	}
	var stall *stallError
	if !errors.As(err, &stall) || !retryableError(stall) {
		t.Fatalf("err = %#v, want a retryable *stallError", err)
	}
}

// TestTransportStalledBody: a registry that sends the header and part of the
// body and then nothing fails the read of the body after the idle timeout.
func TestTransportStalledBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("0123456789"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	host := strings.TrimPrefix(srv.URL, "http://")
	tr := boundedBase(5*time.Second, 300*time.Millisecond)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/app/blobs/sha256:abc", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type result struct {
		body []byte
		err  error
	}
	got := within(t, 20*time.Second, "reading a body the registry stopped sending", func() result {
		b, err := io.ReadAll(resp.Body)
		return result{b, err}
	})
	want := "registry " + host + " sent nothing for 300ms mid-body"
	if got.err == nil || got.err.Error() != want || string(got.body) != "0123456789" {
		t.Fatalf("read %q, %v; want the 10 bytes sent and %q", got.body, got.err, want)
	}
	if !retryableError(got.err) {
		t.Fatalf("retryableError(%v) = false, want true", got.err)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err != got.err {
		t.Fatalf("a read after the stall: %v, want the stall again", err)
	}
}

// TestTransportStalledUpload: a registry that stops reading an upload fails
// it after the idle timeout, well before the answer timeout.
func TestTransportStalledUpload(t *testing.T) {
	addr := silentServer(t, false)
	tr := boundedBase(time.Minute, 300*time.Millisecond)
	const size = 1 << 30 // far more than the socket buffers hold
	body := func() io.ReadCloser { return io.NopCloser(io.LimitReader(zeros{}, size)) }
	req, _ := http.NewRequest(http.MethodPatch, "http://"+addr+"/v2/app/blobs/uploads/abc", body())
	req.ContentLength = size
	req.GetBody = func() (io.ReadCloser, error) { return body(), nil }
	err := within(t, 20*time.Second, "an upload the registry stopped reading", func() error {
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	want := "registry " + addr + " took no more of the request for 300ms"
	if err == nil || err.Error() != want || !retryableError(err) {
		t.Fatalf("err = %v, want %q, retryable", err, want)
	}
}

// TestTransportStallsHTTP2 checks the three stalls over HTTP/2, where an
// upload the registry stops reading waits on flow control, not on the
// connection: each fails after its bound with its message.
func TestTransportStallsHTTP2(t *testing.T) {
	var protos sync.Map
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		if r.URL.Path == "/v2/app/blobs/sha256:abc" {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
		}
		// Neither the request body is read nor (more of) an answer sent.
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	host := strings.TrimPrefix(srv.URL, "https://")
	tr := &registryTransport{next: srv.Client().Transport, answerTimeout: 300 * time.Millisecond, idleTimeout: 300 * time.Millisecond}

	const size = 1 << 30
	upload, _ := http.NewRequest(http.MethodPatch, srv.URL+"/v2/app/blobs/uploads/abc", io.LimitReader(zeros{}, size))
	upload.ContentLength = size
	for _, tc := range []struct {
		name string
		req  *http.Request
		want string
	}{
		{"no answer", mustRequest(t, http.MethodGet, srv.URL+"/v2/"), "no answer from registry " + host + " within 300ms"},
		{"stalled upload", upload, "registry " + host + " took no more of the request for 300ms"},
		{"stalled body", mustRequest(t, http.MethodGet, srv.URL+"/v2/app/blobs/sha256:abc"), "registry " + host + " sent nothing for 300ms mid-body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := within(t, 20*time.Second, tc.name, func() error {
				resp, err := tr.RoundTrip(tc.req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				_, err = io.ReadAll(resp.Body)
				return err
			})
			if err == nil || err.Error() != tc.want || !retryableError(err) {
				t.Fatalf("err = %v, want %q, retryable", err, tc.want)
			}
		})
	}
	if _, ok := protos.Load("HTTP/2.0"); !ok {
		t.Fatal("the requests were not sent over HTTP/2")
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestTransportSlowButAlive: the bounds count only the registry's own
// silence, not slow progress, nor the time the caller takes: a body sent a
// little at a time, an answer that takes longer than the idle timeout but
// less than the answer timeout, a reader that pauses between reads, and a
// request body whose source is slow all pass.
func TestTransportSlowButAlive(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/drip":
			w.Header().Set("Content-Length", "5")
			for i := range 5 {
				time.Sleep(idle / 3)
				fmt.Fprint(w, i)
				w.(http.Flusher).Flush()
			}
		case "/late":
			time.Sleep(2 * idle)
			fmt.Fprint(w, "late")
		default:
			w.Write(got)
		}
	}))
	t.Cleanup(srv.Close)
	tr := boundedBase(5*time.Second, idle)
	for _, tc := range []struct {
		name, path string
		body       io.Reader     // nil: a GET
		pause      time.Duration // between reads of the answer
		want       string
	}{
		{"a body sent a little at a time", "/drip", nil, 0, "01234"},
		{"a late answer", "/late", nil, 0, "late"},
		{"a reader that pauses", "/echo", strings.NewReader("answer!"), idle + idle/3, "answer!"},
		{"a slow source", "/echo", &slowReader{s: "slow", pause: idle + idle/3}, 0, "slow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.body != nil {
				method = http.MethodPut
			}
			req, _ := http.NewRequest(method, srv.URL+tc.path, tc.body)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got []byte
			buf := make([]byte, 4)
			for {
				n, err := resp.Body.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("reading the answer after %q: %v", got, err)
				}
				time.Sleep(tc.pause)
			}
			if string(got) != tc.want {
				t.Fatalf("answer %q, want %q", got, tc.want)
			}
		})
	}
}

// slowReader reads s two bytes at a time, each after a pause.
type slowReader struct {
	s     string
	pause time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p[:min(len(p), 2)], r.s)
	r.s = r.s[n:]
	return n, nil
}

// TestPushNoAnswer pushes through a proxy that holds every answer back: the
// push gives up once the retry timeout has passed, naming the registry and
// saying that it did not answer.
func TestPushNoAnswer(t *testing.T) {
	proxied, _, proxy := faultSetup(t, faultproxy.Faults{Delay: time.Hour})
	ctx := context.Background()
	policy := testRetryPolicy(time.Second)
	opts := append(Options(ctx, 4, false, policy),
		remote.WithTransport(&retryTransport{next: boundedBase(300*time.Millisecond, 300*time.Millisecond), policy: policy}))
	err := within(t, 20*time.Second, "a push to a registry that never answers", func() error {
		_, err := PushIndex(ctx, proxied, faultIndex(t, 10), []string{"latest"}, opts)
		return err
	})
	host := proxy.Host()
	if err == nil || !strings.Contains(err.Error(), "giving up on registry "+host+" after ") ||
		!strings.Contains(err.Error(), "no answer from registry "+host+" within 300ms") {
		t.Fatalf("push to a registry that never answers: %v, want giving up on %s, which did not answer", err, host)
	}
}
