package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
)

// recorder logs the requests a push sends ("PUT /v2/.../manifests/x") and can
// fail chosen ones, under the retries of Options.
type recorder struct {
	next http.RoundTripper
	fail func(*http.Request) bool

	mu   sync.Mutex
	reqs []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	if r.fail != nil && r.fail(req) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("injected failure")
	}
	return r.next.RoundTrip(req)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// pushSetup starts a registry and returns a repository in it and options
// whose requests rec records, under the retries (with testRetryPolicy).
func pushSetup(t *testing.T, regOpts ...registrytest.Option) (name.Repository, *recorder, []remote.Option) {
	t.Helper()
	reg := registrytest.Start(t, regOpts...)
	repo, err := ParseRepo(reg.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: baseTransport(false)}
	opts := append(Options(context.Background(), 4, false, DefaultRetryPolicy()),
		remote.WithTransport(&retryTransport{next: rec, policy: testRetryPolicy(time.Second)}))
	return repo, rec, opts
}

// blobCount returns the number and total size of the distinct blobs under idx.
func blobCount(t *testing.T, idx v1.ImageIndex) (int, int64) {
	t.Helper()
	blobs, err := oci.IndexBlobs(idx)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, s := range blobs {
		size += s
	}
	return len(blobs), size
}

func TestPushIndex(t *testing.T) {
	repo, rec, opts := pushSetup(t)
	ctx := context.Background()
	idx := testIndex(t, "linux/amd64", "linux/arm64", "linux/arm/v7")
	want, _ := idx.Digest()
	n, size := blobCount(t, idx)
	if n != 8 { // three configs, three binaries, two base layers shared by all
		t.Fatalf("the test index has %d blobs, want 8", n)
	}

	res, err := PushIndex(ctx, repo, idx, []string{"1.2.3", "latest"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantRes := PushResult{Digest: want, Tags: []string{"1.2.3", "latest"}, BlobsUploaded: n, BytesUploaded: size}
	if !reflect.DeepEqual(res, wantRes) {
		t.Fatalf("first push: %+v, want %+v", res, wantRes)
	}

	// Order: every manifest by digest, the index last among them, then the tags.
	m, _ := idx.IndexManifest()
	manifestPut := func(ref string) int {
		for i, r := range rec.requests() {
			if r == "PUT /v2/team/app/manifests/"+ref {
				return i
			}
		}
		t.Fatalf("no PUT of manifest %s in %v", ref, rec.requests())
		return -1
	}
	indexAt := manifestPut(want.String())
	for _, d := range m.Manifests {
		if at := manifestPut(d.Digest.String()); at > indexAt {
			t.Errorf("image manifest %s put after the index", d.Digest)
		}
	}
	for _, tag := range []string{"1.2.3", "latest"} {
		at := manifestPut(tag)
		for i, r := range rec.requests() {
			if i > at && (strings.Contains(r, "/blobs/") || strings.Contains(r, "/manifests/sha256:")) && strings.HasPrefix(r, "P") {
				t.Errorf("%q sent after tag %s", r, tag)
			}
		}
		if at < indexAt {
			t.Errorf("tag %s put before the index", tag)
		}
	}

	// What the registry has: the tags resolve to the whole index.
	for _, tag := range []string{"1.2.3", "latest"} {
		got, err := remote.Index(repo.Tag(tag), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := got.Digest(); d != want {
			t.Fatalf("tag %s is %s, want %s", tag, d, want)
		}
		if err := validate.Index(got); err != nil {
			t.Fatalf("validate.Index of the pushed index: %v", err)
		}
	}

	// A second push of the same index uploads nothing.
	before := len(rec.requests())
	res, err = PushIndex(ctx, repo, idx, []string{"1.2.3", "latest"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantRes = PushResult{Digest: want, Tags: []string{"1.2.3", "latest"}, BlobsSkipped: n, BytesSkipped: size}
	if !reflect.DeepEqual(res, wantRes) {
		t.Fatalf("second push: %+v, want %+v", res, wantRes)
	}
	for _, r := range rec.requests()[before:] {
		if strings.HasPrefix(r, "PUT") || strings.HasPrefix(r, "POST") || strings.HasPrefix(r, "PATCH") {
			t.Errorf("second push sent %q", r)
		}
	}
}

func TestPushIndexUploadsOnlyWhatIsMissing(t *testing.T) {
	repo, _, opts := pushSetup(t)
	ctx := context.Background()
	idx := testIndex(t, "linux/amd64", "linux/s390x")
	m, _ := idx.IndexManifest()
	first, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Digest(m.Manifests[0].Digest.String()), first, opts...); err != nil {
		t.Fatal(err)
	}
	n, size := blobCount(t, idx)
	res, err := PushIndex(ctx, repo, idx, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The amd64 image brought its config, its binary and the two base
	// layers; the s390x image needs only its config and binary.
	if res.BlobsUploaded != 2 || res.BlobsSkipped != n-2 || res.BytesUploaded+res.BytesSkipped != size || res.BytesUploaded == 0 {
		t.Fatalf("push after one image was present: %+v, want 2 uploaded and %d skipped", res, n-2)
	}
	if len(res.Tags) != 0 {
		t.Fatalf("tags %v, want none", res.Tags)
	}
	if _, err := remote.Head(repo.Digest(res.Digest.String()), opts...); err != nil {
		t.Fatalf("the index is not there by digest: %v", err)
	}
}

func TestPushIndexFailureLeavesNoTag(t *testing.T) {
	repo, rec, opts := pushSetup(t)
	idx := testIndex(t, "linux/amd64", "linux/arm64")
	want, _ := idx.Digest()
	rec.fail = func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+want.String())
	}
	res, err := PushIndex(context.Background(), repo, idx, []string{"latest"}, opts)
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), want.String()) {
		t.Fatalf("push with the index PUT failing: %v, want the failure naming the index", err)
	}
	if len(res.Tags) != 0 {
		t.Fatalf("tags %v after a failure", res.Tags)
	}
	for _, r := range rec.requests() {
		if r == "PUT /v2/team/app/manifests/latest" {
			t.Fatal("a tag was sent after the index failed")
		}
	}
	rec.fail = nil
	_, err = remote.Head(repo.Tag("latest"), opts...)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD latest after the failed push: %v, want 404", err)
	}

	// The next push completes, uploading no blob again.
	n, _ := blobCount(t, idx)
	res, err = PushIndex(context.Background(), repo, idx, []string{"latest"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsUploaded != 0 || res.BlobsSkipped != n || !reflect.DeepEqual(res.Tags, []string{"latest"}) {
		t.Fatalf("retry push: %+v, want every blob skipped and the tag pushed", res)
	}
}

func TestPushIndexRejectsBadTagsFirst(t *testing.T) {
	rec := &recorder{next: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("no request should be sent")
	})}
	repo, err := ParseRepo("127.0.0.1:1/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(Options(context.Background(), 1, false, DefaultRetryPolicy()), remote.WithTransport(rec))
	_, err = PushIndex(context.Background(), repo, testIndex(t, "linux/amd64"), []string{"ok", "bad tag"}, opts)
	if err == nil || !strings.Contains(err.Error(), `invalid tag "bad tag"`) {
		t.Fatalf("err = %v, want an invalid tag error", err)
	}
	if reqs := rec.requests(); len(reqs) != 0 {
		t.Fatalf("sent %v before rejecting the tag", reqs)
	}
}

// TestPushIndexWithCredentials pushes to a registry that requires basic auth,
// with the credentials found through the docker config (DOCKER_CONFIG) as a
// user's would be; wrong credentials fail without showing the password.
func TestPushIndexWithCredentials(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	repo, err := ParseRepo(reg.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	idx := testIndex(t, "linux/amd64")
	ctx := context.Background()

	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials
	_, err = PushIndex(ctx, repo, idx, []string{"latest"}, Options(ctx, 2, false, DefaultRetryPolicy()))
	if err == nil || !strings.Contains(err.Error(), "registry "+reg.Host()+" refused access (401 Unauthorized); log in with `docker login") {
		t.Fatalf("push without credentials: %v, want a refused access error that says how to log in", err)
	}

	// Wrong credentials: refused, and the password is not in the message.
	cfg := reg.DockerConfig(t)
	data, err := os.ReadFile(filepath.Join(cfg, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	good := base64.StdEncoding.EncodeToString([]byte("docker:" + reg.Password()))
	wrongPassword := reg.Password() + "-wrong"
	bad := strings.Replace(string(data), good, base64.StdEncoding.EncodeToString([]byte("docker:"+wrongPassword)), 1)
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	_, err = PushIndex(ctx, repo, idx, []string{"latest"}, Options(ctx, 2, false, DefaultRetryPolicy()))
	if err == nil || !strings.Contains(err.Error(), "refused access (401") {
		t.Fatalf("push with a wrong password: %v, want refused access", err)
	}
	if strings.Contains(err.Error(), reg.Password()) {
		t.Fatalf("the error shows the password: %v", err)
	}

	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
	res, err := PushIndex(ctx, repo, idx, []string{"latest"}, Options(ctx, 2, false, DefaultRetryPolicy()))
	if err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	if n, _ := blobCount(t, idx); res.BlobsUploaded != n {
		t.Fatalf("push with credentials: %+v, want %d blobs uploaded", res, n)
	}
}

// TestPushIndexTLS pushes to a registry with a self-signed certificate: it
// works when the CA is trusted through SSL_CERT_FILE and fails with a message
// saying so otherwise. Go reads SSL_CERT_FILE once per process, so each push
// runs in a child process of this test binary.
func TestPushIndexTLS(t *testing.T) {
	if host := os.Getenv("XGO_TEST_TLS_HOST"); host != "" {
		pushTLSChild(t, host)
		return
	}
	reg := registrytest.Start(t, registrytest.WithTLS())
	child := func(certFile string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestPushIndexTLS$", "-test.v", "-test.count=1")
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "SSL_CERT_FILE=") && !strings.HasPrefix(kv, "SSL_CERT_DIR=") {
				env = append(env, kv)
			}
		}
		env = append(env, "XGO_TEST_TLS_HOST="+reg.Host(), "DOCKER_CONFIG="+t.TempDir())
		if certFile != "" {
			env = append(env, "SSL_CERT_FILE="+certFile)
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child push: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := child(reg.CAFile()); !strings.Contains(out, "RESULT pushed sha256:") {
		t.Fatalf("push with the CA trusted:\n%s", out)
	}
	out := child("")
	if !strings.Contains(out, "RESULT error") || !strings.Contains(out, "registry "+reg.Host()+" presented a certificate signed by an unknown authority") {
		t.Fatalf("push without the CA trusted:\n%s\nwant an unknown authority error naming the registry", out)
	}
}

// pushTLSChild is the child process of TestPushIndexTLS: it pushes to host and
// reports the result in its output.
func pushTLSChild(t *testing.T, host string) {
	repo, err := ParseRepo(host+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := PushIndex(ctx, repo, testIndex(t, "linux/amd64"), []string{"latest"}, Options(ctx, 2, false, DefaultRetryPolicy()))
	if err != nil {
		t.Logf("RESULT error %v", err)
		return
	}
	t.Logf("RESULT pushed %s", res.Digest)
}

// TestPushIndexRetries answers the first attempt to commit each blob and each
// manifest (every distinct PUT) with 503 Service Unavailable: the push retries
// and completes with the same index.
func TestPushIndexRetries(t *testing.T) {
	repo, rec, opts := pushSetup(t)
	var mu sync.Mutex
	failed := map[string]bool{}
	unavailable := 0
	next := rec.next
	rec.next = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodPut {
			key := req.URL.Path // a manifest
			if strings.Contains(key, "/blobs/uploads/") {
				key = req.URL.Query().Get("digest")
			}
			mu.Lock()
			fail := !failed[key]
			failed[key] = true
			if fail {
				unavailable++
			}
			mu.Unlock()
			if fail {
				if req.Body != nil {
					req.Body.Close()
				}
				return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
					Body: http.NoBody, Header: http.Header{}, Request: req}, nil
			}
		}
		return next.RoundTrip(req)
	})
	idx := testIndex(t, "linux/amd64", "linux/arm64")
	res, err := PushIndex(context.Background(), repo, idx, []string{"latest"}, opts)
	if err != nil {
		t.Fatalf("push through 503s: %v", err)
	}
	if want, _ := idx.Digest(); res.Digest != want || !reflect.DeepEqual(res.Tags, []string{"latest"}) {
		t.Fatalf("push through 503s: %+v", res)
	}
	if n, _ := blobCount(t, idx); res.BlobsUploaded != n {
		t.Fatalf("push through 503s: %+v, want %d blobs uploaded", res, n)
	}
	// Six blobs, two image manifests, the index and the tag.
	if unavailable != 10 {
		t.Fatalf("%d requests were answered 503, want 10", unavailable)
	}
	got, err := remote.Index(repo.Tag("latest"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Fatal(err)
	}
}
