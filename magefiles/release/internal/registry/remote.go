// Package registry speaks to OCI registries for the release: it parses image references
// (plain HTTP only to loopback, or with XGO_INSECURE_REGISTRY), builds the options of every
// registry call (credentials from a Keychain: the logins of the environment and the docker
// config; the user agent, parallel uploads), owns the one
// HTTP transport below go-containerregistry's (the plain HTTP rule; every attempt bounded in
// time: an answer within 30 s of the request being sent, and no 30 s without progress on a
// body, see timeout.go; and retries by a RetryPolicy for the whole of its Timeout: backoff with
// full jitter, Retry-After, blob uploads restarted in a new session, credentials only to the
// registry's own host), and pushes an index in the order that keeps every tag on a complete
// image: blobs, manifests, their referrers (attestations), the index, the tags last.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// userAgent is what registries see in the User-Agent header.
const userAgent = "xgo-build"

// ParseRef parses an image reference the way docker does (Docker Hub and
// "latest" are the defaults). Plain HTTP is allowed only to a loopback registry
// or when insecure is true (XGO_INSECURE_REGISTRY=true). A reference that holds
// credentials is refused, and its error shows it redacted (see Redact).
func ParseRef(s string, insecure bool) (name.Reference, error) {
	if err := CheckNoCredentials(s); err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", Redact(s), err)
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	if !plainHTTPAllowed(ref.Context().RegistryStr(), insecure) {
		return ref, nil
	}
	return name.ParseReference(s, name.Insecure)
}

// ParseRepo parses a repository (no tag, no digest) with the rules of ParseRef.
func ParseRepo(s string, insecure bool) (name.Repository, error) {
	if err := CheckNoCredentials(s); err != nil {
		return name.Repository{}, fmt.Errorf("parsing repository %q: %w", Redact(s), err)
	}
	if HasScheme(s) {
		return name.Repository{}, fmt.Errorf("parsing repository %q: must not start with a URL scheme", s)
	}
	repo, err := name.NewRepository(s)
	if err != nil {
		return name.Repository{}, fmt.Errorf("parsing repository %q: %w", s, err)
	}
	if !plainHTTPAllowed(repo.RegistryStr(), insecure) {
		return repo, nil
	}
	return name.NewRepository(s, name.Insecure)
}

// plainHTTPAllowed reports whether host ("name[:port]") may be spoken to over
// plain HTTP: loopback hosts always, others only when insecure is true.
func plainHTTPAllowed(host string, insecure bool) bool {
	return insecure || isLoopback(host)
}

// isLoopback reports whether host ("name[:port]", "[::1]:port") is localhost,
// a name under .localhost, or a loopback IP address (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Explain adds what to do to an error of a registry call that a user can fix:
// access refused, a certificate nobody trusts, or a registry that answers an
// HTTPS request in plain HTTP. It also drops the query (upload session states,
// long and of no use to a reader) and any user information of the URL a
// failed request names.
func Explain(err error, registry string) error {
	err = withoutQuery(err)
	if plainAnswer(err) {
		return fmt.Errorf("registry %s answered an HTTPS request in plain HTTP; if it serves only plain HTTP and you trust "+
			"the network to it, set XGO_INSECURE_REGISTRY=true (loopback registries need not): %w", registry, err)
	}
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		return explainRefusal(err, terr, registry)
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return fmt.Errorf("registry %s presented a certificate signed by an unknown authority; "+
			"if you trust it, add its CA with SSL_CERT_FILE or SSL_CERT_DIR: %w", registry, err)
	}
	var hostname x509.HostnameError
	if errors.As(err, &hostname) {
		return fmt.Errorf("registry %s presented a certificate for another host: %w", registry, err)
	}
	return err
}

// plainAnswer reports whether err is the failure of an HTTPS request that the
// server answered in plain HTTP: net/http's ErrSchemeMismatch, or the TLS
// record header error it is made from (which a transport that wraps errors
// leaves as it is).
func plainAnswer(err error) bool {
	if errors.Is(err, http.ErrSchemeMismatch) {
		return true
	}
	var record tls.RecordHeaderError
	return errors.As(err, &record) && string(record.RecordHeader[:]) == "HTTP/"
}

// withoutQuery returns err, when it is a *url.Error, with the query and the
// user information of its URL left out.
func withoutQuery(err error) error {
	uerr, ok := err.(*url.Error)
	if !ok {
		return err
	}
	u, perr := url.Parse(uerr.URL)
	if perr != nil || (u.RawQuery == "" && u.User == nil) {
		return err
	}
	u.RawQuery, u.User = "", nil
	return &url.Error{Op: uerr.Op, URL: u.String(), Err: uerr.Err}
}

// Options returns the options of every registry call: ctx,
// credentials from keychain (the first given; without one, NewKeychain(nil, nil):
// the docker config alone, credential helpers included), the xgo-build user
// agent, at most jobs parallel uploads, and the transport of NewTransport, which
// alone retries failed requests by policy (go-containerregistry's own retries
// are turned off, so that no failure is retried twice over), its refusals
// marked for Explain.
func Options(ctx context.Context, jobs int, insecure bool, policy RetryPolicy, keychain ...*Keychain) []remote.Option {
	if jobs < 1 {
		jobs = 1
	}
	kc := NewKeychain(nil, nil)
	if len(keychain) > 0 && keychain[0] != nil {
		kc = keychain[0]
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithUserAgent(userAgent),
		remote.WithJobs(jobs),
		remote.WithTransport(&refusalTransport{next: NewTransport(insecure, policy), keychain: kc}),
		remote.WithRetryPredicate(neverRetry),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryStatusCodes(),
	}
}

// neverRetry is go-containerregistry's retry predicate: retryTransport decides.
func neverRetry(error) bool { return false }

// registryTransport is the innermost HTTP layer of registry calls (go-containerregistry
// adds auth and the user agent around it, retryTransport retries it). It enforces the
// plain HTTP rule, bounds each request in time (see timeout.go) and records finished
// blob uploads for PushIndex.
type registryTransport struct {
	next     http.RoundTripper
	insecure bool
	// answerTimeout bounds the wait for the answer to a request sent whole, and
	// idleTimeout the time a request or response body goes without progress;
	// 0 is no bound.
	answerTimeout time.Duration
	idleTimeout   time.Duration
}

// NewTransport returns the transport of registry calls: retries by policy
// around registryTransport, based on remote.DefaultTransport.
func NewTransport(insecure bool, policy RetryPolicy) http.RoundTripper {
	return &retryTransport{next: baseTransport(insecure), policy: policy}
}

// baseTransport returns a registryTransport based on remote.DefaultTransport,
// with the default bounds: defaultAnswerTimeout and defaultIdleTimeout.
func baseTransport(insecure bool) *registryTransport {
	next := remote.DefaultTransport
	if t, ok := next.(*http.Transport); ok {
		next = t.Clone()
	}
	return &registryTransport{next: next, insecure: insecure,
		answerTimeout: defaultAnswerTimeout, idleTimeout: defaultIdleTimeout}
}

// errPlainHTTP is returned for a plain HTTP request that is not allowed.
var errPlainHTTP = errors.New("plain HTTP is allowed only to loopback registries (set XGO_INSECURE_REGISTRY=true to allow it)")

// RoundTrip implements http.RoundTripper.
func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !plainHTTPAllowed(req.URL.Host, t.insecure) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing http://%s: %w", req.URL.Host, errPlainHTTP)
	}
	resp, err := t.send(req)
	if err == nil && req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated &&
		strings.Contains(req.URL.Path, "/blobs/uploads/") {
		recordUpload(req.Context(), req.URL.Query().Get("digest"))
	}
	return resp, err
}

// send sends req through next, bounded by the timeouts when there are any.
func (t *registryTransport) send(req *http.Request) (*http.Response, error) {
	if t.answerTimeout <= 0 && t.idleTimeout <= 0 {
		return t.next.RoundTrip(req)
	}
	return bounded(t.next, req, t.answerTimeout, t.idleTimeout)
}

// IsNotFound reports whether a registry said that the repository or manifest
// does not exist.
func IsNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}

// HasRepository reports whether the registry knows repo, asking for one tag of it (a
// registry may answer MANIFEST_UNKNOWN for a digest in a repository it does not have at all).
// An answer other than "not found" counts as knowing it.
func HasRepository(ctx context.Context, repo name.Repository, opts []remote.Option) bool {
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx), remote.WithPageSize(1))
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return true
	}
	_, err = p.Lister(ctx, repo)
	return !IsNotFound(err)
}

// MissingManifest returns the digest of the manifest a registry said it does not have, when
// err (see IsNotFound) answers a request for a manifest by digest: a reference
// repo@sha256:..., or the digest a tag points at. It reports false for a repository the
// registry does not know (NAME_UNKNOWN) and for a request by tag.
func MissingManifest(err error) (digest string, ok bool) {
	var terr *transport.Error
	if !IsNotFound(err) || !errors.As(err, &terr) || terr.Request == nil || terr.Request.URL == nil {
		return "", false
	}
	for _, d := range terr.Errors {
		if d.Code == transport.NameUnknownErrorCode {
			return "", false
		}
	}
	_, id, found := strings.Cut(terr.Request.URL.Path, "/manifests/")
	if !found || !digestStart.MatchString(id) {
		return "", false
	}
	return id, true
}
