package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRedact(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	for in, want := range map[string]string{
		"https://user:pass@registry.example/x": "https://xxxxx@registry.example/x",
		"user:pass@registry.example/x:1":       "xxxxx@registry.example/x:1",
		"token@ghcr.io/owner/app":              "xxxxx@ghcr.io/owner/app",
		"user:pass@host:5000":                  "xxxxx@host:5000",
		"a@b@registry.example/x":               "xxxxx@registry.example/x",
		"registry.example/x@" + digest:         "registry.example/x@" + digest,
		"alpine@" + digest:                     "alpine@" + digest,
		"alpine:3@" + digest:                   "alpine:3@" + digest,
		"127.0.0.1:5000/base:1":                "127.0.0.1:5000/base:1",
		"u:p@127.0.0.1:5000/base@" + digest:    "xxxxx@127.0.0.1:5000/base@" + digest,
		"https://registry.example/x":           "https://registry.example/x",
		"scratch":                              "scratch",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if err := CheckNoCredentials(in); (err != nil) != (in != want) {
			t.Errorf("CheckNoCredentials(%q) = %v", in, err)
		}
	}
}

// TestParseCredentials checks that ParseRef and ParseRepo refuse a reference with
// credentials, and that their errors do not show them.
func TestParseCredentials(t *testing.T) {
	const secret = "s3cret"
	for _, s := range []string{"https://user:" + secret + "@registry.example/x", "user:" + secret + "@registry.example/x"} {
		_, err := ParseRef(s, false)
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "docker login registry.example") {
			t.Errorf("ParseRef(%q): %v, want a refusal without the secret", s, err)
		}
		_, err = ParseRepo(s, false)
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "docker login registry.example") {
			t.Errorf("ParseRepo(%q): %v, want a refusal without the secret", s, err)
		}
	}
	if _, err := ParseRepo("https://registry.example/x", false); err == nil || !strings.Contains(err.Error(), "must not start with a URL scheme") {
		t.Errorf("ParseRepo with a scheme: %v", err)
	}
}

func TestExplainDropsUserinfo(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "https://user:s3cret@registry.example/v2/", Err: errors.New("EOF")}
	if got := Explain(err, "registry.example").Error(); got != `Get "https://registry.example/v2/": EOF` {
		t.Fatalf("Explain = %q", got)
	}
}

// TestExplainPlainHTTP sends an HTTPS request, through the transport of every registry
// call, to a server that answers in plain HTTP, as a registry that is not on loopback does
// when XGO_INSECURE_REGISTRY is not set: the explained error says what happened and names
// XGO_INSECURE_REGISTRY.
func TestExplainPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	// registry.example, a name that is not on loopback, reaches the server: HTTPS only.
	const host = "registry.example"
	bt := baseTransport(false)
	bt.next.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	ref, err := name.ParseReference(host + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Get(ref, remote.WithTransport(&retryTransport{next: bt, policy: RetryPolicy{}}))
	if err == nil {
		t.Fatal("an HTTPS request to a plain HTTP server succeeded")
	}
	got := Explain(err, host).Error()
	want := "registry " + host + " answered an HTTPS request in plain HTTP; if it serves only plain HTTP and you trust the network to it, set XGO_INSECURE_REGISTRY=true"
	if !strings.HasPrefix(got, want) {
		t.Errorf("Explain = %q\nwant it to start with %q", got, want)
	}
	// So does a plain http.Client over the transport.
	client := &http.Client{Transport: &retryTransport{next: bt, policy: RetryPolicy{}}}
	_, err = client.Get("https://" + host + "/v2/")
	if err == nil || !strings.HasPrefix(Explain(err, host).Error(), want) {
		t.Errorf("http.Client: %v, explained %v", err, Explain(err, host))
	}
}
