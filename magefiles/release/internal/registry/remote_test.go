package registry

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000":       true,
		"127.0.0.1":            true,
		"127.3.2.1:80":         true,
		"[::1]:5000":           true,
		"::1":                  true,
		"localhost:5000":       true,
		"LOCALHOST":            true,
		"registry.localhost":   true,
		"10.0.0.1:5000":        false,
		"192.168.1.2:5000":     false,
		"registry.example:443": false,
		"index.docker.io":      false,
		"localhost.example":    false,
		"128.0.0.1:5000":       false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseRefScheme(t *testing.T) {
	for _, tc := range []struct {
		ref      string
		insecure bool
		want     string // scheme
		registry string
	}{
		{"127.0.0.1:5000/app:v1", false, "http", "127.0.0.1:5000"},
		{"localhost:5000/app", false, "http", "localhost:5000"},
		{"127.0.0.2:5000/app", false, "http", "127.0.0.2:5000"},
		{"registry.example/team/app:1", false, "https", "registry.example"},
		{"registry.example/team/app:1", true, "http", "registry.example"},
		{"alpine:3.20", false, "https", "index.docker.io"},
	} {
		ref, err := ParseRef(tc.ref, tc.insecure)
		if err != nil {
			t.Errorf("ParseRef(%q, %v): %v", tc.ref, tc.insecure, err)
			continue
		}
		if got := ref.Context().Scheme(); got != tc.want || ref.Context().RegistryStr() != tc.registry {
			t.Errorf("ParseRef(%q, %v): scheme %s registry %s, want %s %s", tc.ref, tc.insecure, got, ref.Context().RegistryStr(), tc.want, tc.registry)
		}
		repo, err := ParseRepo(ref.Context().Name(), tc.insecure)
		if err != nil || repo.Scheme() != tc.want {
			t.Errorf("ParseRepo(%q, %v) = %v (scheme %s), %v; want scheme %s", ref.Context().Name(), tc.insecure, repo, repo.Scheme(), err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "UPPER/case", "a b", "registry.example/app@sha256:123"} {
		if _, err := ParseRef(s, false); err == nil {
			t.Errorf("ParseRef(%q) succeeded, want an error", s)
		}
	}
	for _, s := range []string{"", "registry.example/app:v1", "registry.example/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"} {
		if _, err := ParseRepo(s, false); err == nil {
			t.Errorf("ParseRepo(%q) succeeded, want an error", s)
		}
	}
}

// TestTransportRefusesPlainHTTP checks the rule without any network: a plain
// HTTP request to a registry that is not loopback fails before it is sent.
func TestTransportRefusesPlainHTTP(t *testing.T) {
	sent := 0
	tr := &registryTransport{next: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})}
	for _, u := range []string{"http://10.1.2.3:5000/v2/", "http://registry.example/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := tr.RoundTrip(req)
		if !errors.Is(err, errPlainHTTP) {
			t.Errorf("GET %s: err = %v, want errPlainHTTP", u, err)
		}
	}
	if sent != 0 {
		t.Fatalf("%d refused requests were sent", sent)
	}
	for _, u := range []string{"http://127.0.0.1:5000/v2/", "https://registry.example/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := tr.RoundTrip(req); err != nil {
			t.Errorf("GET %s: %v", u, err)
		}
	}
	tr.insecure = true
	req, _ := http.NewRequest(http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Errorf("GET with insecure: %v", err)
	}
	if sent != 3 {
		t.Fatalf("sent %d requests, want 3", sent)
	}
}

func TestTransportRecordsBlobUploads(t *testing.T) {
	tr := &registryTransport{next: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusCreated, Body: http.NoBody, Request: req}, nil
	})}
	tally := &uploadTally{digests: map[string]bool{}}
	ctx := context.WithValue(context.Background(), tallyKey{}, tally)
	for _, r := range []struct{ method, url string }{
		{http.MethodPut, "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=x&digest=sha256%3Aaaa"},
		{http.MethodPut, "http://127.0.0.1:5000/v2/app/manifests/sha256:bbb"},
		{http.MethodPost, "http://127.0.0.1:5000/v2/app/blobs/uploads/?mount=sha256%3Accc&from=other"},
	} {
		req, _ := http.NewRequestWithContext(ctx, r.method, r.url, nil)
		if _, err := tr.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	if len(tally.digests) != 1 || !tally.digests["sha256:aaa"] {
		t.Fatalf("recorded %v, want only sha256:aaa", tally.digests)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestExplainDropsQuery(t *testing.T) {
	inner := errors.New("EOF")
	err := &url.Error{Op: "Patch", URL: "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=long&digest=sha256%3Aaa", Err: inner}
	got := Explain(err, "127.0.0.1:5000")
	if got.Error() != `Patch "http://127.0.0.1:5000/v2/app/blobs/uploads/abc": EOF` || !errors.Is(got, inner) {
		t.Fatalf("Explain = %v, want the URL without its query, wrapping the cause", got)
	}
	plain := errors.New("other")
	if Explain(plain, "127.0.0.1:5000") != plain {
		t.Fatal("Explain changed an error that is not a *url.Error")
	}
}
