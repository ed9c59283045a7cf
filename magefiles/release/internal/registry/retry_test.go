package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"crypto/tls"
	"crypto/x509"
)

// testRetryPolicy retries quickly, with seeded jitter, for at most timeout.
func testRetryPolicy(timeout time.Duration) RetryPolicy {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	return RetryPolicy{
		Base:          5 * time.Millisecond,
		Max:           50 * time.Millisecond,
		MaxRetryAfter: 2 * time.Second,
		Timeout:       timeout,
		Rand: func() float64 {
			mu.Lock()
			defer mu.Unlock()
			return rng.Float64()
		},
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"Mon, 30 Nov 2026 04:00:30 GMT", 30 * time.Second, true},
		{"Monday, 30-Nov-26 04:01:00 GMT", time.Minute, true}, // RFC 850
		{"Mon Nov 30 04:00:05 2026", 5 * time.Second, true},   // ANSI C
		{"Mon, 30 Nov 2026 03:59:00 GMT", 0, true},            // in the past
		{"99999999999999999999", 365 * 24 * time.Hour, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"2026-11-30T04:00:30Z", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return 0.5 }}
	for n, want := range []time.Duration{50, 100, 200, 400, 500, 500, 500} {
		if got := p.backoff(n); got != want*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want*time.Millisecond)
		}
	}
	for _, n := range []int{40, 62, 63, 64, 1000} {
		if got := p.backoff(n); got != 500*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want half of Max", n, got)
		}
	}
	p.Rand = func() float64 { return 0 }
	if got := p.backoff(3); got != 0 {
		t.Errorf("backoff with a zero draw = %v, want 0 (full jitter)", got)
	}
	// The default source: always below the ceiling.
	p.Rand = nil
	for n := range 10 {
		ceiling := min(p.Base<<n, p.Max)
		if got := p.backoff(n); got < 0 || got >= ceiling {
			t.Errorf("backoff(%d) = %v, want in [0, %v)", n, got, ceiling)
		}
	}
}

func TestWait(t *testing.T) {
	now := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	p := RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, MaxRetryAfter: 10 * time.Second, Rand: func() float64 { return 0.5 }}
	answer := func(retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: http.StatusTooManyRequests, Header: h}
	}
	for _, tc := range []struct {
		resp *http.Response
		n    int
		want time.Duration
	}{
		{nil, 0, 50 * time.Millisecond},                               // a connection error: backoff
		{answer(""), 2, 200 * time.Millisecond},                       // no Retry-After: backoff
		{answer("1"), 0, time.Second},                                 // seconds
		{answer("3"), 5, 3 * time.Second},                             // honoured above the backoff's Max
		{answer("Mon, 30 Nov 2026 04:00:07 GMT"), 0, 7 * time.Second}, // a date
		{answer("600"), 0, 10 * time.Second},                          // capped
		{answer("later"), 1, 100 * time.Millisecond},                  // unreadable: backoff
	} {
		if got := p.wait(tc.n, tc.resp, now); got != tc.want {
			t.Errorf("wait(%d, Retry-After %q) = %v, want %v", tc.n, tc.resp.Header.Get("Retry-After"), got, tc.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{
		200: false, 201: false, 202: false, 400: false, 401: false, 403: false, 404: false, 416: false,
		408: true, 429: true, 500: true, 501: false, 502: true, 503: true, 504: true, 505: false,
	} {
		if got := retryableStatus(code); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("write: %w", errors.New("broken pipe")), true},
		{&net.DNSError{Err: "timeout", Name: "registry.example", IsTimeout: true}, true},
		{&statusError{Code: 503, Status: "503 Service Unavailable"}, true},
		{&stallError{Host: "registry.example", Phase: phaseAnswering, After: time.Second}, true},
		{fmt.Errorf("get: %w", &stallError{Host: "registry.example", Phase: phaseReading, After: time.Second}), true},
		{&statusError{Code: 404, Status: "404 Not Found"}, false},
		{&net.DNSError{Err: "no such host", Name: "registry.example", IsNotFound: true}, false},
		{context.Canceled, false},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), false},
		{fmt.Errorf("refusing: %w", errPlainHTTP), false},
		{errNoReplay, false},
		{x509.UnknownAuthorityError{}, false},
		{x509.HostnameError{Host: "x"}, false},
		{&tls.CertificateVerificationError{Err: errors.New("bad")}, false},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, false},
	} {
		if got := retryableError(tc.err); got != tc.want {
			t.Errorf("retryableError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// script is an HTTP server on loopback that answers the requests of a test
// one after another, as its handlers say, and records them.
type script struct {
	srv      *httptest.Server
	mu       sync.Mutex
	handlers []http.HandlerFunc // the last one answers every request after
	got      []string           // "METHOD path body"
}

func newScript(t *testing.T, handlers ...http.HandlerFunc) *script {
	s := &script{handlers: handlers}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		i := min(len(s.got), len(s.handlers)-1)
		s.got = append(s.got, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(b)))
		h := s.handlers[i]
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"X","message":"answer %d"}]}`, code)
	}
}

func TestRetryTransport(t *testing.T) {
	s := newScript(t, status(503), status(502), status(200))
	tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(5 * time.Second)}
	req, _ := http.NewRequest(http.MethodPut, s.srv.URL+"/v2/app/manifests/latest", strings.NewReader("the manifest"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []string{"PUT /v2/app/manifests/latest the manifest", "PUT /v2/app/manifests/latest the manifest", "PUT /v2/app/manifests/latest the manifest"}
	if resp.StatusCode != 200 || strings.Join(s.requests(), "\n") != strings.Join(want, "\n") {
		t.Fatalf("status %d after %q, want 200 after the body was sent three times", resp.StatusCode, s.requests())
	}
}

func TestRetryTransportAnswersAsIs(t *testing.T) {
	s := newScript(t, status(404))
	tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(5 * time.Second)}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/v2/app/manifests/latest", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(body), "answer 404") || len(s.requests()) != 1 {
		t.Fatalf("a 404: status %d, body %q, %d requests; want it once, untouched", resp.StatusCode, body, len(s.requests()))
	}
}

// spentIn reads the time a give-up message says the retries took.
func spentIn(t *testing.T, err error) time.Duration {
	t.Helper()
	msg := err.Error()
	i := strings.Index(msg, " attempts in ")
	j := strings.Index(msg[i+1:], ":")
	if i < 0 || j < 0 {
		t.Fatalf("err = %v, want the time the retries took", err)
	}
	d, perr := time.ParseDuration(msg[i+len(" attempts in ") : i+1+j])
	if perr != nil {
		t.Fatalf("err = %v: %v", err, perr)
	}
	return d
}

// TestRetryTransportGivesUp: a registry that keeps failing is retried until
// the timeout has passed since the first failure, not less, and the request
// then gives up at once, naming the registry, the request and the last answer.
func TestRetryTransportGivesUp(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s := newScript(t, status(503))
	tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(timeout)}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/v2/app/blobs/sha256:abc", nil)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	elapsed := time.Since(start)
	host := strings.TrimPrefix(s.srv.URL, "http://")
	n := len(s.requests())
	want := fmt.Sprintf("giving up on registry %s after %d attempts in ", host, n)
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), `GET /v2/app/blobs/sha256:abc: 503 Service Unavailable: {"errors":[{"code":"X","message":"answer 503"}]}`) {
		t.Fatalf("err = %v, want %q... naming the request and the last answer", err, want)
	}
	var se *statusError
	if !errors.As(err, &se) || se.Code != 503 || n < 2 {
		t.Fatalf("err = %#v after %d requests, want a 503 statusError after retries", err, n)
	}
	if spent := spentIn(t, err); spent < timeout || elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Fatalf("gave up after %s (%s since the first failure), want the whole %s retried and no more than a little after", elapsed, spent, timeout)
	}

	// Timeout 0: no retry at all.
	tr.policy.Timeout = 0
	before := len(s.requests())
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "after 1 attempts") {
		t.Fatalf("timeout 0: %v, want one attempt", err)
	}
	if got := len(s.requests()) - before; got != 1 {
		t.Fatalf("timeout 0 sent %d requests, want 1", got)
	}
}

func TestRetryTransportConnectionErrors(t *testing.T) {
	// A port nobody listens on: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(100 * time.Millisecond)}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/", nil)
	_, err = tr.RoundTrip(req)
	if err == nil || !strings.HasPrefix(err.Error(), "giving up on registry "+addr+" after ") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want giving up on %s with connection refused", err, addr)
	}
}

func TestRetryTransportStopsOnCancel(t *testing.T) {
	s := newScript(t, status(429, "Retry-After", "3600"))
	p := testRetryPolicy(time.Hour)
	p.MaxRetryAfter = time.Hour
	tr := &retryTransport{next: http.DefaultTransport, policy: p}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("interrupted")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.URL+"/v2/", nil)
	done := make(chan error)
	go func() {
		_, err := tr.RoundTrip(req)
		done <- err
	}()
	for len(s.requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel(cause)
	if err := <-done; !errors.Is(err, cause) {
		t.Fatalf("err = %v, want the cancel cause", err)
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d requests, want 1 (waiting for the hour the registry asked for)", n)
	}
}

// TestRetryTransportGivesUpOnLongRetryAfter: a Retry-After longer than what
// is left of the timeout is waited until the timeout has passed, then the
// request is tried once more and gives up, without waiting the rest.
func TestRetryTransportGivesUpOnLongRetryAfter(t *testing.T) {
	const timeout = time.Second
	s := newScript(t, status(429, "Retry-After", "60"))
	p := testRetryPolicy(timeout)
	p.MaxRetryAfter = time.Minute
	tr := &retryTransport{next: http.DefaultTransport, policy: p}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/v2/", nil)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "after 2 attempts") || !strings.Contains(err.Error(), "429 Too Many Requests") || len(s.requests()) != 2 {
		t.Fatalf("err = %v after %d requests, want giving up after a last attempt at the timeout", err, len(s.requests()))
	}
	if spent := spentIn(t, err); spent < timeout || elapsed > timeout+3*time.Second {
		t.Fatalf("gave up after %s (%s since the first failure), want %s waited and not the minute asked for", elapsed, spent, timeout)
	}
}

// TestRetryTransportUsesWholeTimeout: backoff waits that grow past what is
// left of the timeout are cut to end when it has passed, for a last attempt
// then: the request gives up after the whole timeout, not when the next full
// wait would have passed it.
func TestRetryTransportUsesWholeTimeout(t *testing.T) {
	const timeout = time.Second
	s := newScript(t, status(503))
	// Waits of 396 ms, 792 ms, ... (the draw is 0.99): the second would end
	// after the timeout, so it is cut to about 604 ms.
	p := RetryPolicy{Base: 400 * time.Millisecond, Max: time.Minute, Timeout: timeout, Rand: func() float64 { return 0.99 }}
	tr := &retryTransport{next: http.DefaultTransport, policy: p}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/v2/", nil)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts in ") || len(s.requests()) != 3 {
		t.Fatalf("err = %v after %d requests, want giving up after 3 attempts", err, len(s.requests()))
	}
	if spent := spentIn(t, err); spent < timeout || elapsed > timeout+2*time.Second {
		t.Fatalf("gave up after %s (%s since the first failure), want the whole %s and not much more", elapsed, spent, timeout)
	}
}

func TestRetryTransportBodyNotReplayable(t *testing.T) {
	s := newScript(t, status(503), status(201))
	tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(5 * time.Second)}
	req, _ := http.NewRequest(http.MethodPut, s.srv.URL+"/v2/app/manifests/x", io.NopCloser(strings.NewReader("once")))
	req.GetBody = nil
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, errNoReplay) || !strings.Contains(err.Error(), "503") || len(s.requests()) != 1 {
		t.Fatalf("err = %v after %d requests, want errNoReplay naming the 503, once", err, len(s.requests()))
	}
}

// TestRetryTransportRestartsUploads checks that failed blob data is sent to a
// new upload session, never again to the old one, with the request's digest
// kept and the old session's state dropped.
func TestRetryTransportRestartsUploads(t *testing.T) {
	for _, method := range []string{http.MethodPatch, http.MethodPut} {
		t.Run(method, func(t *testing.T) {
			var sessions int
			s := newScript(t, status(503), func(w http.ResponseWriter, r *http.Request) {
				sessions++
				w.Header().Set("Location", fmt.Sprintf("/v2/team/app/blobs/uploads/new%d?_state=s%d", sessions, sessions))
				w.WriteHeader(http.StatusAccepted)
			}, status(502), func(w http.ResponseWriter, r *http.Request) {
				sessions++
				w.Header().Set("Location", fmt.Sprintf("%s/v2/team/app/blobs/uploads/new%d?_state=s%d", "http://"+r.Host, sessions, sessions))
				w.WriteHeader(http.StatusAccepted)
			}, status(202, "Location", "/v2/team/app/blobs/uploads/new2?_state=done"))
			tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(5 * time.Second)}
			req, _ := http.NewRequest(method, s.srv.URL+"/v2/team/app/blobs/uploads/old?_state=s0&digest=sha256%3Aabc", strings.NewReader("blob data"))
			req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := []string{
				method + " /v2/team/app/blobs/uploads/old?_state=s0&digest=sha256%3Aabc blob data",
				"POST /v2/team/app/blobs/uploads/",
				method + " /v2/team/app/blobs/uploads/new1?_state=s1&digest=sha256%3Aabc blob data",
				"POST /v2/team/app/blobs/uploads/",
				method + " /v2/team/app/blobs/uploads/new2?_state=s2&digest=sha256%3Aabc blob data",
			}
			if got := s.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") != "/v2/team/app/blobs/uploads/new2?_state=done" {
				t.Fatalf("answer %d %q, want the new session's", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// TestRetryTransportRefusedSession: when a new upload session is refused
// (401, as when a token has expired), that answer is the upload's, for the
// auth layer above to act on, and nothing more is sent.
func TestRetryTransportRefusedSession(t *testing.T) {
	s := newScript(t, status(503), status(401, "WWW-Authenticate", `Bearer realm="x"`), status(500))
	tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(5 * time.Second)}
	req, _ := http.NewRequest(http.MethodPatch, s.srv.URL+"/v2/team/app/blobs/uploads/old", strings.NewReader("blob data"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || len(s.requests()) != 2 {
		t.Fatalf("answer %d after %q, want the 401 of the new session", resp.StatusCode, s.requests())
	}
}

// TestRetryTransportKeepsCredentialsHome: a retried upload whose new session
// the registry places elsewhere sends the credentials only to the registry's
// own host and port, and refuses another host at a private address, as
// go-containerregistry does on the first attempt.
func TestRetryTransportKeepsCredentialsHome(t *testing.T) {
	const auth = "Basic dXNlcjpwYXNz"
	for _, tt := range []struct {
		name     string
		listen   string // where the new session is: "" for the registry itself
		wantAuth bool   // the blob data arrives with the credentials
		refused  bool   // the retry is refused, nothing is sent to the session
	}{
		{name: "same host and port", wantAuth: true},
		{name: "another port", listen: "127.0.0.1:0"},
		{name: "another private host", listen: "127.0.0.2:0", refused: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got []string // "host Authorization" of each blob data request
			)
			record := func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				mu.Lock()
				got = append(got, r.Host+" "+r.Header.Get("Authorization"))
				mu.Unlock()
				w.Header().Set("Location", "/v2/team/app/blobs/uploads/done")
				w.WriteHeader(http.StatusAccepted)
			}
			session := ""
			if tt.listen != "" {
				l, err := net.Listen("tcp", tt.listen)
				if err != nil {
					t.Skipf("no listener on %s: %v", tt.listen, err)
				}
				other := httptest.NewUnstartedServer(http.HandlerFunc(record))
				other.Listener.Close()
				other.Listener = l
				other.Start()
				t.Cleanup(other.Close)
				session = other.URL
			}
			reg := newScript(t, status(503), func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", session+"/v2/team/app/blobs/uploads/new?_state=s1")
				w.WriteHeader(http.StatusAccepted)
			}, record)
			tr := &retryTransport{next: http.DefaultTransport, policy: testRetryPolicy(5 * time.Second)}
			req, _ := http.NewRequest(http.MethodPatch, reg.srv.URL+"/v2/team/app/blobs/uploads/old?_state=s0", strings.NewReader("blob data"))
			req.Header.Set("Authorization", auth)
			resp, err := tr.RoundTrip(req)
			if tt.refused {
				if !errors.Is(err, errUnsafeSession) || len(got) != 0 {
					t.Fatalf("retry to %s: %v after %q, want it refused and nothing sent", tt.listen, err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			host := strings.TrimPrefix(reg.srv.URL, "http://")
			if session != "" {
				host = strings.TrimPrefix(session, "http://")
			}
			want := host + " "
			if tt.wantAuth {
				want += auth
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("blob data requests %q, want one: %q", got, want)
			}
		})
	}
}

func TestParseIPLiteral(t *testing.T) {
	for _, tt := range []struct {
		host string
		want string // "" when host is a name, not an address
	}{
		{"127.0.0.2", "127.0.0.2"},
		{"127.1", "127.0.0.1"},
		{"10.1.2", "10.1.0.2"},
		{"0x7f000001", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"::1", "::1"},
		{"::ffff:192.168.1.1", "192.168.1.1"},
		{"fe80::1%eth0", "fe80::1"},
		{"registry.example", ""},
		{"1.2.3.4.example", ""},
		{"256.1.1.1", ""},
		{"1.2.3.4.5", ""},
	} {
		a, ok := parseIPLiteral(tt.host)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("parseIPLiteral(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}
