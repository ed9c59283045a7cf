package registrytest

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestStartServesAndStops(t *testing.T) {
	r := Start(t)
	if !strings.HasPrefix(r.Host(), "127.0.0.1:") {
		t.Fatalf("Host() = %q, want 127.0.0.1:PORT", r.Host())
	}
	if r.URL() != "http://"+r.Host() {
		t.Fatalf("URL() = %q", r.URL())
	}
	servesUntil(t, r, "Stop", r.Stop)
}

// servesUntil checks that r serves an empty catalog, that it no longer
// answers once stop (named name) has run, and that a second stop does nothing.
func servesUntil(t *testing.T, r *Registry, name string, stop func() error) {
	t.Helper()
	client := &http.Client{Transport: r.Transport()}
	if code, body := get(t, client, r.URL()+"/v2/_catalog"); code != http.StatusOK || !strings.Contains(body, `"repositories":[]`) {
		t.Fatalf("GET /v2/_catalog = %d %q, want 200 and an empty catalog", code, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Get(r.URL() + "/v2/"); err == nil {
		t.Fatalf("registry still answers after %s", name)
	}
	if err := stop(); err != nil {
		t.Fatalf("second %s: %v", name, err)
	}
}

func TestTwoRegistriesAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Host() == b.Host() || a.StorageDir() == b.StorageDir() {
		t.Fatalf("registries share a host or a storage dir: %s %s, %s %s", a.Host(), b.Host(), a.StorageDir(), b.StorageDir())
	}
}

func TestStartTLS(t *testing.T) {
	r := Start(t, WithTLS())
	if r.URL() != "https://"+r.Host() {
		t.Fatalf("URL() = %q, want https", r.URL())
	}
	if filepath.Base(r.CAFile()) != "ca.pem" {
		t.Fatalf("CAFile() = %q", r.CAFile())
	}
	trusted := &http.Client{Transport: r.Transport()}
	if code, _ := get(t, trusted, r.URL()+"/v2/"); code != http.StatusOK {
		t.Fatalf("GET /v2/ with the test CA = %d, want 200", code)
	}
	untrusted := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	_, err := untrusted.Get(r.URL() + "/v2/")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("GET /v2/ without the test CA: err = %v, want an unknown authority error", err)
	}
}

// fakeTB records how Start ended a test without ending the real one.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runFake(tb testing.TB, getenv func(string) string) *fakeTB {
	f := &fakeTB{TB: tb}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f, WithGetenv(getenv))
	}()
	<-done
	return f
}

func TestMissingBinarySkipsOrFailsOnCI(t *testing.T) {
	env := func(ci string) func(string) string {
		return func(k string) string {
			switch k {
			case "XGO_TEST_REGISTRY":
				return filepath.Join(t.TempDir(), "no-registry")
			case "CI":
				return ci
			}
			return ""
		}
	}
	f := runFake(t, env(""))
	if f.skipped == "" || f.failed != "" || !strings.Contains(f.skipped, "go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0") {
		t.Fatalf("without CI: skipped %q, failed %q; want a skip that says how to install the registry", f.skipped, f.failed)
	}
	f = runFake(t, env("true"))
	if f.failed == "" || f.skipped != "" || !strings.Contains(f.failed, "XGO_TEST_REGISTRY") {
		t.Fatalf("with CI=true: skipped %q, failed %q; want a failure naming XGO_TEST_REGISTRY", f.skipped, f.failed)
	}
}

func TestFindBinaryPrefersTheVariable(t *testing.T) {
	want := filepath.Join(t.TempDir(), "registry")
	_, err := findBinary(func(k string) string {
		if k == "XGO_TEST_REGISTRY" {
			return want
		}
		return ""
	})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), want) {
		t.Fatalf("findBinary with a missing XGO_TEST_REGISTRY: %v, want a not-exist error naming it", err)
	}
}

func TestStartHtpasswd(t *testing.T) {
	for _, opts := range [][]Option{{WithHtpasswd()}, {WithHtpasswd(), WithTLS()}} {
		r := Start(t, opts...)
		if r.Username() != "docker" || len(r.Password()) < 20 {
			t.Fatalf("credentials %q/%q, want docker and a random password", r.Username(), r.Password())
		}
		client := &http.Client{Transport: r.Transport()}
		for _, tc := range []struct {
			user, password string
			want           int
		}{
			{"", "", http.StatusUnauthorized},
			{r.Username(), r.Password() + "x", http.StatusUnauthorized},
			{r.Username(), r.Password(), http.StatusOK},
		} {
			req, _ := http.NewRequest(http.MethodGet, r.URL()+"/v2/", nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.password)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s GET /v2/ as %q: %d, want %d", r.URL(), tc.user, resp.StatusCode, tc.want)
			}
		}
		data, err := os.ReadFile(filepath.Join(r.DockerConfig(t), "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		auth := base64.StdEncoding.EncodeToString([]byte("docker:" + r.Password()))
		if want := `{"auths":{"` + r.Host() + `":{"auth":"` + auth + `"}}}`; string(data) != want {
			t.Errorf("docker config %s, want %s", data, want)
		}
	}
}

func TestRestartKeepsStorage(t *testing.T) {
	r := Start(t, WithHtpasswd())
	client := &http.Client{Transport: r.Transport()}
	do := func(method, url string, body []byte) *http.Response {
		t.Helper()
		if strings.HasPrefix(url, "/") {
			url = r.URL() + url
		}
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(r.Username(), r.Password())
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		resp.Body.Close()
		return resp
	}
	blob := []byte("a blob that survives a restart")
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(blob))
	resp := do(http.MethodPost, "/v2/test/blobs/uploads/", nil)
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusAccepted || err != nil {
		t.Fatalf("starting an upload: %s, %v", resp.Status, err)
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	if resp := do(http.MethodPut, loc.String(), blob); resp.StatusCode != http.StatusCreated {
		t.Fatalf("uploading a blob: %s, want 201", resp.Status)
	}
	host, password := r.Host(), r.Password()
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Get(r.URL() + "/v2/"); err == nil {
		t.Fatal("registry answers while stopped")
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	if r.Host() != host || r.Password() != password {
		t.Fatalf("after Restart: %s %q, want the same host and password", r.Host(), r.Password())
	}
	if resp := do(http.MethodHead, "/v2/test/blobs/"+digest, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD the blob after a restart: %s, want 200", resp.Status)
	}
	if err := r.Restart(); err != nil { // a running registry restarts too
		t.Fatal(err)
	}
	if resp := do(http.MethodHead, "/v2/test/blobs/"+digest, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD the blob after a second restart: %s, want 200", resp.Status)
	}
}
