package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how registry requests are retried: which failures, how long
// to wait between attempts, and when to give up.
//
// A request is tried again when the registry answers 408, 429, 500, 502, 503
// or 504, when the connection fails (refused, reset, closed mid-body), or when
// the registry leaves an attempt without progress (see timeout.go). The wait
// before retry n (n = 0, 1, ...) is uniform in [0, min(Max, Base*2^n)) ("full
// jitter"), or what the registry's Retry-After header asks for, up to
// MaxRetryAfter.
//
// Timeout is how long a failing request keeps being retried, counted from its
// first failure: a wait that would end after that is cut short to end at it,
// for one last attempt there (a Retry-After longer than what is left too), and
// the request gives up at the first failure once Timeout has passed, with an
// error naming the registry, the attempts, the time since the first failure
// and the last failure. Timeout does not bound an attempt itself: the
// transport does (an answer within 30 s, no 30 s without progress, see
// timeout.go), so a request to a registry that never answers ends within about
// Timeout plus a minute (a first and a last attempt of 30 s each).
type RetryPolicy struct {
	Base          time.Duration  // ceiling of the first wait
	Max           time.Duration  // ceiling of any one wait
	MaxRetryAfter time.Duration  // longest Retry-After honoured; a longer one is cut to this
	Timeout       time.Duration  // retry until this long after a request first failed; 0 never retries
	Rand          func() float64 // uniform in [0, 1); nil means math/rand/v2
}

// DefaultRetryTimeout is how long a request is retried unless
// XGO_RETRY_TIMEOUT says otherwise.
const DefaultRetryTimeout = 3 * time.Minute

// DefaultRetryPolicy waits up to 0.5 s, 1 s, 2 s ... 30 s between attempts,
// honours Retry-After up to a minute, and retries for DefaultRetryTimeout.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		Base:          500 * time.Millisecond,
		Max:           30 * time.Second,
		MaxRetryAfter: time.Minute,
		Timeout:       DefaultRetryTimeout,
	}
}

// backoff returns the wait before retry n (0 for the first retry): uniform
// in [0, min(Max, Base*2^n)).
func (p RetryPolicy) backoff(n int) time.Duration {
	ceiling := p.Max
	if n < 62 && p.Base > 0 {
		if c := p.Base << n; c > 0 && c < ceiling && c>>n == p.Base {
			ceiling = c
		}
	}
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(r() * float64(ceiling))
}

// wait returns the wait before retry n after resp (nil after a connection
// error): the Retry-After the registry asked for, up to MaxRetryAfter, or
// else the backoff.
func (p RetryPolicy) wait(n int, resp *http.Response, now time.Time) time.Duration {
	if resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return min(d, p.MaxRetryAfter)
		}
	}
	return p.backoff(n)
}

// parseRetryAfter reads a Retry-After value: a number of seconds or an HTTP
// date (a date in the past means now). ok is false for anything else.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		const year = 365 * 24 * time.Hour
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > int64(year/time.Second) {
			return year, true // too long to write down: the caller's cap applies
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// retryableStatus reports whether an answer with this status code is worth
// another try: a timeout, a rate limit or a server error.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports whether a failed round trip is worth another try:
// connection failures and registries that stalled are; a cancelled context, a
// certificate nobody trusts, a TLS handshake with a server that does not speak
// TLS, a host name that does not exist and a refused plain HTTP request are not.
func retryableError(err error) bool {
	var stall *stallError
	if errors.As(err, &stall) {
		return true
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, errPlainHTTP) || errors.Is(err, errNoReplay) || errors.Is(err, errUnsafeSession) {
		return false
	}
	var status *statusError
	if errors.As(err, &status) {
		return retryableStatus(status.Code)
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		dns      *net.DNSError
	)
	switch {
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &record):
		return false
	case errors.As(err, &dns):
		return !dns.IsNotFound
	}
	return true
}

// errNoReplay is the failure of a request whose body cannot be sent again.
var errNoReplay = errors.New("the request body cannot be sent again")

// retryTransport retries failed registry requests by its policy. It is the
// only place that retries: Options turns go-containerregistry's own
// retries off. It retries for the whole of the policy's Timeout: the last
// wait is cut short to end when Timeout has passed since the first failure,
// for a last attempt then, and only a failure after that gives up.
//
// A blob upload that fails (a PATCH, or a PUT with a body, to
// /v2/<name>/blobs/uploads/...) is never sent again to the same upload
// session, which may hold part of the failed body: each retry first starts a
// new session (POST /v2/<name>/blobs/uploads/) and sends the whole blob there.
// The answer carries the new session's Location, where go-containerregistry
// then commits the blob. The credentials go there only when it is on the
// request's own host and port; a session on another host at a private address
// is refused (see checkSessionHost).
//
// A blob commit (a PUT with the digest and no body) is sent again to its
// session. When an earlier attempt got no answer, the commit may have gone
// through: if the session is then gone (404) but the registry has the blob
// (HEAD), the answer is the 201 Created the registry gave the first time.
type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	upload := isBlobData(req)
	var (
		first time.Time // of the first failure
		lost  bool      // an attempt failed without an answer
	)
	for attempts := 1; ; attempts++ {
		resp, err := t.try(req, attempts, upload)
		if lost && err == nil && resp.StatusCode == http.StatusNotFound && isBlobCommit(req) {
			// The commit of an earlier attempt may have gone through, its
			// answer lost: then the session is gone but the blob is there.
			resp = t.committed(req, resp)
		}
		lost = lost || err != nil
		switch {
		case err != nil && !retryableError(err):
			return nil, err
		case err == nil && !retryableStatus(resp.StatusCode):
			return resp, nil
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		wait := t.policy.wait(attempts-1, resp, now)
		if err == nil {
			err = statusErrorOf(resp)
		}
		if attempts == 1 && req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			return nil, t.giveUp(req, attempts, 0, fmt.Errorf("%w: %w", errNoReplay, err))
		}
		deadline := first.Add(t.policy.Timeout)
		if !now.Before(deadline) {
			return nil, t.giveUp(req, attempts, now.Sub(first), err)
		}
		// A wait past the deadline ends at it, for a last attempt.
		wait = min(wait, deadline.Sub(now))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, context.Cause(ctx)
		case <-timer.C:
		}
	}
}

// try sends attempt n (from 1) of req: the request itself first, then a copy
// with its body anew, sent to a new upload session when it uploads blob data.
func (t *retryTransport) try(req *http.Request, n int, upload bool) (*http.Response, error) {
	if n == 1 {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("reading the body of %s %s again: %w: %w", req.Method, redactURL(req.URL), errNoReplay, err)
		}
		r.Body = body
	}
	if upload {
		loc, refused, err := t.newSession(req)
		if err != nil || refused != nil {
			if r.Body != nil {
				r.Body.Close()
			}
			return refused, err
		}
		// Keep the request's own parameters (a PUT's digest) but not the
		// old session's state.
		q := loc.Query()
		for k, vs := range req.URL.Query() {
			if k != "_state" && !q.Has(k) {
				q[k] = vs
			}
		}
		loc.RawQuery = q.Encode()
		if err := checkSessionHost(req.URL, loc); err != nil {
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, err
		}
		if !sameOrigin(req.URL, loc) {
			// Credentials belong to the registry's own host and port, as
			// go-containerregistry sends them on the first attempt.
			r.Header.Del("Authorization")
		}
		r.URL, r.Host = loc, loc.Host
	}
	return t.next.RoundTrip(r)
}

// errUnsafeSession is the failure of a retried upload whose new session the
// registry placed on another host at a private address.
var errUnsafeSession = errors.New("refusing to send blob data to another host at a private address")

// checkSessionHost refuses the location of a new upload session (for a
// request that went to from) on another host whose name is a loopback,
// private, link-local or unspecified IP address: go-containerregistry refuses
// such a Location on the first attempt, and so does a retry. Another port of
// the same host is allowed, as it is there.
func checkSessionHost(from, loc *url.URL) error {
	if strings.EqualFold(loc.Hostname(), from.Hostname()) {
		return nil
	}
	addr, ok := parseIPLiteral(loc.Hostname())
	if !ok || !(addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsUnspecified()) {
		return nil
	}
	return fmt.Errorf("retrying an upload to %s: the registry named a new upload session at %s: %w",
		from.Host, loc.Host, errUnsafeSession)
}

// parseIPLiteral reads host as an IP address the way a dialer may: IPv6 (a
// zone ignored, an IPv4-mapped address as its IPv4 one), dotted IPv4, or the
// short and numeric IPv4 forms of inet_aton ("127.1", "0x7f000001",
// "2130706433").
func parseIPLiteral(host string) (netip.Addr, bool) {
	host, _, _ = strings.Cut(host, "%")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone("").Unmap(), true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		bits := 8
		if i == len(parts)-1 {
			bits = 32 - 8*i
		}
		n, err := strconv.ParseUint(p, 0, bits)
		if err != nil {
			return netip.Addr{}, false
		}
		v = v<<bits | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// sameOrigin reports whether a and b name the same scheme, host and port (a
// missing port is the scheme's default).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

// portOf returns u's port, or the default port of its scheme.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// committed returns the answer to a blob commit req that was answered
// notFound after an earlier attempt got no answer: 201 Created, as the lost
// answer was, when the registry has the blob; else notFound itself.
func (t *retryTransport) committed(req *http.Request, notFound *http.Response) *http.Response {
	digest := req.URL.Query().Get("digest")
	i := strings.Index(req.URL.Path, "/blobs/uploads/")
	u := *req.URL
	u.Path, u.RawPath, u.RawQuery = req.URL.Path[:i]+"/blobs/"+digest, "", ""
	head, err := http.NewRequestWithContext(req.Context(), http.MethodHead, u.String(), nil)
	if err != nil {
		return notFound
	}
	for _, h := range []string{"Authorization", "User-Agent"} {
		if v := req.Header.Values(h); len(v) > 0 {
			head.Header[h] = v
		}
	}
	resp, err := t.next.RoundTrip(head)
	if err != nil {
		return notFound
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != digest {
		return notFound
	}
	drain(notFound)
	h := http.Header{}
	h.Set("Location", u.Path)
	h.Set("Docker-Content-Digest", digest)
	h.Set("Content-Length", "0")
	return &http.Response{
		Status: "201 Created", StatusCode: http.StatusCreated,
		Proto: notFound.Proto, ProtoMajor: notFound.ProtoMajor, ProtoMinor: notFound.ProtoMinor,
		Header: h, Body: http.NoBody, Request: req,
	}
}

// isBlobCommit reports whether req ends a blob upload: a PUT with a digest,
// and no body, to an upload session.
func isBlobCommit(req *http.Request) bool {
	return req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/blobs/uploads/") &&
		(req.Body == nil || req.Body == http.NoBody) && req.URL.Query().Get("digest") != ""
}

// newSession starts a blob upload session in the repository of the upload
// req and returns its location. It is sent once: its failure is a failed
// attempt of req. An answer that is not worth a retry (401 when a token has
// expired, 403, 404) is returned as refused, to be the answer to req, so that
// the layers above can act on it (renew the token) or report it.
func (t *retryTransport) newSession(req *http.Request) (loc *url.URL, refused *http.Response, err error) {
	i := strings.Index(req.URL.Path, "/blobs/uploads/")
	u := *req.URL
	u.Path, u.RawPath, u.RawQuery = req.URL.Path[:i+len("/blobs/uploads/")], "", ""
	post, err := http.NewRequestWithContext(req.Context(), http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("starting a new upload session: %w", err)
	}
	for _, h := range []string{"Authorization", "User-Agent"} {
		if v := req.Header.Values(h); len(v) > 0 {
			post.Header[h] = v
		}
	}
	post.Header.Set("Content-Type", "application/json")
	resp, err := t.next.RoundTrip(post)
	if err != nil {
		return nil, nil, fmt.Errorf("starting a new upload session: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		if !retryableStatus(resp.StatusCode) {
			return nil, resp, nil
		}
		return nil, nil, fmt.Errorf("starting a new upload session: %w", statusErrorOf(resp))
	}
	defer drain(resp)
	v := resp.Header.Get("Location")
	loc, err = url.Parse(v)
	if err != nil || v == "" {
		return nil, nil, fmt.Errorf("starting a new upload session: the registry answered no valid Location (%q)", v)
	}
	return post.URL.ResolveReference(loc), nil, nil
}

// giveUp returns the error of a request that failed for good.
func (t *retryTransport) giveUp(req *http.Request, attempts int, d time.Duration, last error) error {
	return fmt.Errorf("giving up on registry %s after %d attempts in %s: %s %s: %w",
		req.URL.Host, attempts, d.Round(time.Millisecond), req.Method, req.URL.Path, last)
}

// isBlobData reports whether req sends blob data to an upload session.
func isBlobData(req *http.Request) bool {
	if !strings.Contains(req.URL.Path, "/blobs/uploads/") || req.Body == nil || req.Body == http.NoBody {
		return false
	}
	return req.Method == http.MethodPatch || req.Method == http.MethodPut
}

// statusError is a registry answer that was not good enough.
type statusError struct {
	Code   int
	Status string // "503 Service Unavailable"
	Body   string // the start of the answer's body
}

func (e *statusError) Error() string {
	if e.Body == "" {
		return e.Status
	}
	return e.Status + ": " + e.Body
}

// statusErrorOf reads the start of resp's body into a statusError and closes it.
func statusErrorOf(resp *http.Response) error {
	e := &statusError{Code: resp.StatusCode, Status: resp.Status}
	if e.Status == "" {
		e.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		e.Body = strings.Join(strings.Fields(string(b)), " ")
		if len(e.Body) > 200 {
			e.Body = e.Body[:200] + "..."
		}
		drain(resp)
	}
	return e
}

// drain reads a little of what is left of resp's body, so that the
// connection can be used again, and closes it.
func drain(resp *http.Response) {
	if resp.Body == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// redactURL returns u without its query (upload states can be long).
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.String()
}
