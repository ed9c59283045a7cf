package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/xgo-build/xgo-build/magefiles/internal/faultproxy"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// faultPlatforms are the four platforms of the fault tests.
var faultPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x"}

// faultIndex is the index of four platforms on a one-layer base, each image with a 96 KiB
// layer of seeded random bytes (gzip cannot shrink them, so uploads are long enough to be
// cut in the middle). The same seed gives the same index digest.
func faultIndex(t *testing.T, seed int64) v1.ImageIndex {
	t.Helper()
	return seededIndex(t, seed, 16<<10, 96<<10, faultPlatforms...)
}

// faultSetup starts a registry and a fault proxy in front of it. It returns
// the repository team/app through the proxy and the same repository reached
// directly.
func faultSetup(t *testing.T, faults faultproxy.Faults) (proxied, direct name.Repository, proxy *faultproxy.Proxy) {
	t.Helper()
	reg := registrytest.Start(t)
	proxy, err := faultproxy.Start(reg.URL(), faults)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	proxied, err = ParseRepo(proxy.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	direct, err = ParseRepo(reg.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	return proxied, direct, proxy
}

// directOptions are options for checking a registry without faults.
func directOptions() []remote.Option {
	return Options(context.Background(), 4, false, testRetryPolicy(0))
}

// TestPushThroughFaults pushes four platforms through a proxy that answers
// 20% of requests 503 or 429 and cuts 10% of uploads mid-body: the push
// completes, and the registry holds the same index, by the same digest, as a
// push of the same build through no faults.
func TestPushThroughFaults(t *testing.T) {
	proxied, direct, proxy := faultSetup(t, faultproxy.Faults{FailRate: 0.2, CutRate: 0.1, Seed: 4})
	ctx := context.Background()

	clean, err := ParseRepo(direct.RegistryStr()+"/team/clean", false)
	if err != nil {
		t.Fatal(err)
	}
	want, err := PushIndex(ctx, clean, faultIndex(t, 1), []string{"1.0.0"}, directOptions())
	if err != nil {
		t.Fatalf("push through no faults: %v", err)
	}

	// One upload at a time, the requests arrive in the same order on every
	// run, so the seeded proxy injects the same faults: some answers 503
	// and 429, some uploads cut.
	// Retry-After (1 s from this proxy) is cut to 200 ms to keep the test
	// short; TestRetryAfterHonoured checks the full wait.
	policy := testRetryPolicy(20 * time.Second)
	policy.MaxRetryAfter = 200 * time.Millisecond
	idx := faultIndex(t, 1)
	n, size := blobCount(t, idx)
	res, err := PushIndex(ctx, proxied, idx, []string{"1.0.0", "latest"}, Options(ctx, 1, false, policy))
	stats := proxy.Stats()
	t.Logf("one at a time: %d requests, %d answered 503/429, %d uploads cut, %d forwarded", stats.Requests, stats.Failed, stats.Cut, stats.Forwarded)
	if err != nil {
		t.Fatalf("push through faults: %v", err)
	}
	if stats.Failed == 0 || stats.Cut == 0 {
		t.Fatalf("the proxy injected %d failures and %d cuts; the test needs both", stats.Failed, stats.Cut)
	}
	if res.Digest != want.Digest || res.BlobsUploaded != n || res.BytesUploaded != size || len(res.Tags) != 2 {
		t.Fatalf("push through faults: %+v, want digest %s, %d blobs (%d bytes) uploaded, two tags", res, want.Digest, n, size)
	}

	// Four at a time, into another repository.
	parallel, err := ParseRepo(proxied.RegistryStr()+"/team/parallel", false)
	if err != nil {
		t.Fatal(err)
	}
	res, err = PushIndex(ctx, parallel, faultIndex(t, 1), []string{"1.0.0"}, Options(ctx, 4, false, policy))
	after := proxy.Stats()
	t.Logf("four at a time: %d requests, %d answered 503/429, %d uploads cut", after.Requests-stats.Requests, after.Failed-stats.Failed, after.Cut-stats.Cut)
	if err != nil {
		t.Fatalf("parallel push through faults: %v", err)
	}
	if res.Digest != want.Digest || res.BlobsUploaded != n {
		t.Fatalf("parallel push through faults: %+v, want digest %s and %d blobs uploaded", res, want.Digest, n)
	}

	// What the registry itself holds, read without the proxy: both tags name
	// the index of the clean push, and every blob under it is whole.
	for _, ref := range []name.Reference{direct.Tag("1.0.0"), direct.Tag("latest"), parallel.Tag("1.0.0")} {
		ref, _ := name.ParseReference(strings.Replace(ref.String(), proxied.RegistryStr(), direct.RegistryStr(), 1), name.Insecure)
		got, err := remote.Index(ref, directOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := got.Digest(); d != want.Digest {
			t.Fatalf("%s is %s, want %s", ref, d, want.Digest)
		}
		if err := validate.Index(got); err != nil {
			t.Fatalf("validate.Index of %s: %v", ref, err)
		}
	}
}

// TestPushOutageThenResume cuts the registry off after some requests: the
// push fails with an error naming the registry and leaves no tag; after the
// outage ends, the next push completes and uploads only what is missing.
func TestPushOutageThenResume(t *testing.T) {
	proxied, direct, proxy := faultSetup(t, faultproxy.Faults{})
	ctx := context.Background()
	opts := Options(ctx, 4, false, testRetryPolicy(300*time.Millisecond))
	idx := faultIndex(t, 2)
	n, size := blobCount(t, idx)

	// Count the requests of the same push to another repository: the blob
	// phase (ping, manifest and blob HEADs, then POST, PATCH and PUT per
	// blob) is followed by a PUT per manifest and a HEAD and a PUT for the
	// tag. Cut the registry off n/2 requests before the blob phase ends: at
	// most n/2 blobs then lack their final PUT, and at least one does.
	probe, err := ParseRepo(proxied.RegistryStr()+"/team/probe", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PushIndex(ctx, probe, idx, []string{"latest"}, opts); err != nil {
		t.Fatal(err)
	}
	whole := proxy.Stats().Requests
	blobPhase := whole - (len(faultPlatforms) + 1) - 2
	proxy.Set(faultproxy.Faults{OutageAfter: whole + blobPhase - n/2})
	_, err = PushIndex(ctx, proxied, idx, []string{"1.0.0", "latest"}, opts)
	t.Logf("a whole push takes %d requests; the registry went down after %d of the next", whole, blobPhase-n/2)
	if err == nil {
		t.Fatal("push through an outage succeeded")
	}
	t.Logf("push through an outage: %v", err)
	if !strings.Contains(err.Error(), "giving up on registry "+proxy.Host()+" after ") {
		t.Fatalf("push through an outage: %v, want giving up on registry %s", err, proxy.Host())
	}
	for _, tag := range []string{"1.0.0", "latest"} {
		_, err := remote.Head(direct.Tag(tag), directOptions()...)
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
			t.Fatalf("HEAD %s after the failed push: %v, want 404", tag, err)
		}
	}
	tags, err := remote.List(direct, directOptions()...)
	var terr *transport.Error
	if err != nil && !(errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound) {
		t.Fatal(err)
	}
	if len(tags) != 0 {
		t.Fatalf("tags after the failed push: %v, want none", tags)
	}

	proxy.Heal()
	res, err := PushIndex(ctx, proxied, idx, []string{"1.0.0", "latest"}, opts)
	if err != nil {
		t.Fatalf("push after the outage: %v", err)
	}
	t.Logf("push after the outage: %d blobs (%d bytes) uploaded, %d blobs (%d bytes) skipped, of %d (%d bytes)",
		res.BlobsUploaded, res.BytesUploaded, res.BlobsSkipped, res.BytesSkipped, n, size)
	if res.BlobsSkipped == 0 || res.BytesSkipped == 0 || res.BlobsUploaded == 0 || res.BlobsUploaded+res.BlobsSkipped != n || res.BytesUploaded+res.BytesSkipped != size {
		t.Fatalf("push after the outage: %+v, want some of the %d blobs skipped and the rest uploaded", res, n)
	}
	got, err := remote.Index(direct.Tag("latest"), directOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != res.Digest {
		t.Fatalf("latest is %s, want %s", d, res.Digest)
	}
	if err := validate.Index(got); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
}

// TestPushGivesUp pushes to a registry that is down for good, answering
// every request 503 or 429, or closing every connection: the push fails once
// the retry timeout has passed, and not much later, naming the registry and
// the last failure.
func TestPushGivesUp(t *testing.T) {
	const timeout = 1500 * time.Millisecond
	for _, tc := range []struct {
		name   string
		faults faultproxy.Faults
		last   []string // one of these is the last failure
	}{
		{"errors", faultproxy.Faults{FailRate: 1, Seed: 3}, []string{"503 Service Unavailable: injected fault", "429 Too Many Requests: injected fault"}},
		{"outage", faultproxy.Faults{OutageAfter: 1, Seed: 3}, []string{"EOF", "connection reset by peer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxied, direct, proxy := faultSetup(t, tc.faults)
			ctx := context.Background()
			idx := faultIndex(t, 3)
			start := time.Now()
			_, err := PushIndex(ctx, proxied, idx, []string{"latest"}, Options(ctx, 4, false, testRetryPolicy(timeout)))
			elapsed := time.Since(start)
			t.Logf("gave up after %s, %d requests: %v", elapsed.Round(time.Millisecond), proxy.Stats().Requests, err)
			if err == nil {
				t.Fatal("push to a registry that is down succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, "giving up on registry "+proxy.Host()+" after ") {
				t.Fatalf("err = %v, want giving up on registry %s", err, proxy.Host())
			}
			// The message says how many attempts were made and how long they took: the
			// whole budget at least (the last attempt comes when it has passed), and the
			// push gives up soon after.
			var attempts int
			i := strings.Index(msg, " after ")
			if _, serr := fmt.Sscanf(msg[i+len(" after "):], "%d attempts in ", &attempts); serr != nil || attempts < 2 {
				t.Fatalf("err = %v, want the number of attempts (more than one) and the time spent", err)
			}
			if spent := spentIn(t, err); spent < timeout || elapsed < timeout || elapsed > timeout+5*time.Second {
				t.Fatalf("gave up after %s (%s since the request first failed), want the whole %s retried and not much more", elapsed, spent, timeout)
			}
			found := false
			for _, s := range tc.last {
				found = found || strings.Contains(msg, s)
			}
			if !found {
				t.Fatalf("err = %v, want the last failure, one of %q", err, tc.last)
			}
			if _, err := remote.Head(direct.Tag("latest"), directOptions()...); err == nil {
				t.Fatal("the tag exists after the failed push")
			}
		})
	}
}

// timedTransport records when each attempt was sent and when and how it was
// answered.
type timedTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []timedAttempt
}

type timedAttempt struct {
	sent, answered time.Time
	status         int
	retryAfter     string
}

func (tt *timedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	a := timedAttempt{sent: time.Now()}
	resp, err := tt.next.RoundTrip(req)
	a.answered = time.Now()
	if resp != nil {
		a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	tt.mu.Lock()
	tt.log = append(tt.log, a)
	tt.mu.Unlock()
	return resp, err
}

// TestRetryAfterHonoured sends one request through a proxy that answers
// everything 503 or 429 with Retry-After: 1, and checks, from the recorded
// times of the attempts, that each retry after a 429 was sent at least a
// second after the 429 arrived, while retries after a 503 follow the
// (much shorter) backoff; only the last wait may be cut short, to end when
// the retry timeout has passed, and the last attempt comes no sooner.
func TestRetryAfterHonoured(t *testing.T) {
	const timeout = 3500 * time.Millisecond
	_, _, proxy := faultSetup(t, faultproxy.Faults{FailRate: 1, RetryAfter: 1, Seed: 4})
	tt := &timedTransport{next: http.DefaultTransport}
	tr := &retryTransport{next: tt, policy: testRetryPolicy(timeout)}
	req, _ := http.NewRequest(http.MethodGet, "http://"+proxy.Host()+"/v2/", nil)
	_, err := tr.RoundTrip(req)
	end := time.Now()
	if err == nil || !strings.Contains(err.Error(), "giving up on registry") {
		t.Fatalf("err = %v, want giving up", err)
	}
	// retryTransport counts the timeout from a moment just after the first
	// answer was recorded: its deadline is no sooner than this one.
	deadline := tt.log[0].answered.Add(timeout)
	last := tt.log[len(tt.log)-1]
	if last.sent.Before(deadline) || end.Sub(last.answered) > time.Second {
		t.Fatalf("the last attempt was sent %s before the timeout passed, and the request gave up %s after its answer; want it sent then, and giving up at once",
			deadline.Sub(last.sent), end.Sub(last.answered))
	}
	var after429, after503 int
	for i := 1; i < len(tt.log); i++ {
		prev, cur := tt.log[i-1], tt.log[i]
		gap := cur.sent.Sub(prev.answered)
		t.Logf("attempt %d after %d (Retry-After %q): waited %s", i+1, prev.status, prev.retryAfter, gap.Round(time.Millisecond))
		switch prev.status {
		case http.StatusTooManyRequests:
			after429++
			if prev.retryAfter != "1" {
				t.Fatalf("429 with Retry-After %q, want 1", prev.retryAfter)
			}
			if gap < min(time.Second, deadline.Sub(prev.answered)) || (gap < time.Second && i != len(tt.log)-1) {
				t.Errorf("attempt %d of %d came %s after a 429 with Retry-After: 1", i+1, len(tt.log), gap)
			}
		case http.StatusServiceUnavailable:
			after503++
		default:
			t.Fatalf("attempt %d answered %d", i, prev.status)
		}
	}
	if after429 == 0 || after503 == 0 {
		t.Fatalf("%d retries after a 429 and %d after a 503; the seed must give both", after429, after503)
	}
}

// cutTransport sends only the first half of the body of the first cuts blob
// data uploads (PATCH) to the registry and then fails them, as a network that
// breaks mid-upload does: unlike the fault proxy's cuts, the registry reads
// part of the body into the upload session. It records the path (the upload
// session) of every PATCH and of each one it cut.
type cutTransport struct {
	next    http.RoundTripper
	mu      sync.Mutex
	cuts    int
	patches []string
	cut     []string
}

var errCut = errors.New("connection cut mid-upload")

func (c *cutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	cut := c.cuts > 0 && req.Method == http.MethodPatch && req.ContentLength > 1
	if req.Method == http.MethodPatch {
		c.patches = append(c.patches, req.URL.Path)
	}
	if cut {
		c.cuts--
		c.cut = append(c.cut, req.URL.Path)
	}
	c.mu.Unlock()
	if !cut {
		return c.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Body = &halfBody{r: req.Body, left: req.ContentLength / 2}
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		resp.Body.Close()
		return nil, fmt.Errorf("registry answered %d to a cut upload", resp.StatusCode)
	}
	return nil, err
}

// halfBody reads left bytes of r and then fails.
type halfBody struct {
	r    io.ReadCloser
	left int64
}

func (h *halfBody) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, errCut
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= int64(n)
	return n, err
}

func (h *halfBody) Close() error { return h.r.Close() }

// TestPushRestartsCutUploads cuts three blob uploads after half their body
// reached the registry. What a registry keeps of a broken PATCH is not
// something to rely on, so each is sent again whole in a new upload session,
// never to the session it was cut from; the push completes.
func TestPushRestartsCutUploads(t *testing.T) {
	reg := registrytest.Start(t)
	repo, err := ParseRepo(reg.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cut := &cutTransport{next: baseTransport(false), cuts: 3}
	opts := append(Options(ctx, 2, false, testRetryPolicy(10*time.Second)),
		remote.WithTransport(&retryTransport{next: cut, policy: testRetryPolicy(10 * time.Second)}))
	idx := faultIndex(t, 6)
	res, err := PushIndex(ctx, repo, idx, []string{"latest"}, opts)
	if err != nil {
		t.Fatalf("push with cut uploads: %v", err)
	}
	if len(cut.cut) != 3 {
		t.Fatalf("%d uploads were cut, want 3", len(cut.cut))
	}
	for _, p := range cut.cut {
		n := 0
		for _, q := range cut.patches {
			if q == p {
				n++
			}
		}
		if n != 1 {
			t.Errorf("upload session %s was sent %d PATCHes, want only the one that was cut", p, n)
		}
	}
	if got := strings.Count(reg.Output(), "client disconnected during blob PATCH"); got != 3 {
		t.Logf("the registry logged %d disconnected PATCHes, want 3 (the registry's own log wording may differ)", got)
	}
	if n, _ := blobCount(t, idx); res.BlobsUploaded != n || len(cut.patches) != n+3 {
		t.Fatalf("push with cut uploads: %+v after %d PATCHes, want %d blobs uploaded with %d PATCHes", res, len(cut.patches), n, n+3)
	}
	got, err := remote.Index(repo.Tag("latest"), directOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
}

// lostTransport delivers the first lose blob commits (PUT ?digest=) to the
// registry but loses their answers, as a connection that breaks after the
// request went through does.
type lostTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	lose int
	lost int
}

func (l *lostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || !isBlobCommit(req) {
		return resp, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == l.lose {
		return resp, nil
	}
	l.lost++
	drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("commit answered %s", resp.Status)
	}
	return nil, errors.New("connection reset: the answer was lost")
}

// TestPushLostCommitAnswers loses the answers of three blob commits that
// the registry carried out: sent again, each finds its session gone, and the
// push sees that the registry has the blob and goes on.
func TestPushLostCommitAnswers(t *testing.T) {
	reg := registrytest.Start(t)
	repo, err := ParseRepo(reg.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lost := &lostTransport{next: baseTransport(false), lose: 3}
	opts := append(Options(ctx, 2, false, testRetryPolicy(10*time.Second)),
		remote.WithTransport(&retryTransport{next: lost, policy: testRetryPolicy(10 * time.Second)}))
	idx := faultIndex(t, 7)
	res, err := PushIndex(ctx, repo, idx, []string{"latest"}, opts)
	if err != nil {
		t.Fatalf("push with lost commit answers: %v", err)
	}
	if lost.lost != 3 {
		t.Fatalf("%d answers lost, want 3", lost.lost)
	}
	if n, _ := blobCount(t, idx); res.BlobsSkipped+res.BlobsUploaded != n {
		t.Fatalf("push with lost commit answers: %+v, want %d blobs", res, n)
	}
	got, err := remote.Index(repo.Tag("latest"), directOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
}

// TestRetriesInOnePlace turns the retries of retryTransport off (timeout 0)
// and answers the index PUT 503, or breaks a blob upload (unexpected EOF,
// which go-containerregistry's own retries would take up): the push fails,
// the request having been sent once, so nothing retries behind
// retryTransport's back.
func TestRetriesInOnePlace(t *testing.T) {
	for _, target := range []string{"manifest", "blob"} {
		t.Run(target, func(t *testing.T) {
			reg := registrytest.Start(t)
			repo, err := ParseRepo(reg.Host()+"/team/app", false)
			if err != nil {
				t.Fatal(err)
			}
			idx := faultIndex(t, 8)
			want, _ := idx.Digest()
			var mu sync.Mutex
			sent := 0
			hit := func(r *http.Request) bool {
				if target == "manifest" {
					return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+want.String())
				}
				return r.Method == http.MethodPatch
			}
			rec := &recorder{next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if hit(r) {
					mu.Lock()
					sent++
					mu.Unlock()
					if r.Body != nil {
						r.Body.Close()
					}
					if target == "blob" {
						return nil, fmt.Errorf("reading the answer: %w", io.ErrUnexpectedEOF)
					}
					return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
						Body: http.NoBody, Header: http.Header{}, Request: r}, nil
				}
				return baseTransport(false).RoundTrip(r)
			})}
			ctx := context.Background()
			opts := append(Options(ctx, 1, false, testRetryPolicy(0)),
				remote.WithTransport(&retryTransport{next: rec, policy: testRetryPolicy(0)}))
			_, err = PushIndex(ctx, repo, idx, []string{"latest"}, opts)
			if err == nil || !strings.Contains(err.Error(), "giving up on registry "+reg.Host()+" after 1 attempts") {
				t.Fatalf("push with retries off and a 503: %v, want giving up after one attempt", err)
			}
			if sent != 1 {
				t.Fatalf("the failing %s request was sent %d times, want once", target, sent)
			}
		})
	}
}

// TestPushThroughFaultsWithCredentials pushes through the fault proxy to a
// registry that requires basic auth, with the credentials in the docker
// config: retried requests and restarted upload sessions carry them, and
// neither the password nor the user's auth string shows in what the push
// reports.
func TestPushThroughFaultsWithCredentials(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	proxy, err := faultproxy.Start(reg.URL(), faultproxy.Faults{FailRate: 0.2, CutRate: 0.3, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username() + ":" + reg.Password()))
	cfg := t.TempDir()
	config := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, proxy.Host(), auth)
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	repo, err := ParseRepo(proxy.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	policy := testRetryPolicy(20 * time.Second)
	policy.MaxRetryAfter = 200 * time.Millisecond
	idx := faultIndex(t, 9)
	res, err := PushIndex(ctx, repo, idx, []string{"latest"}, Options(ctx, 1, false, policy))
	stats := proxy.Stats()
	t.Logf("proxy: %d requests, %d answered 503/429, %d uploads cut", stats.Requests, stats.Failed, stats.Cut)
	if err != nil {
		t.Fatalf("push with credentials through faults: %v", err)
	}
	if stats.Failed == 0 || stats.Cut == 0 {
		t.Fatalf("the proxy injected %d failures and %d cuts; the test needs both", stats.Failed, stats.Cut)
	}
	if n, _ := blobCount(t, idx); res.BlobsUploaded != n {
		t.Fatalf("push: %+v, want %d blobs uploaded", res, n)
	}
	if out := fmt.Sprintf("%+v", res); strings.Contains(out, reg.Password()) || strings.Contains(out, auth) {
		t.Fatalf("the push result shows the credentials: %s", out)
	}

	// Down for good: the give-up message names the registry, not the credentials.
	proxy.Set(faultproxy.Faults{FailRate: 1, Seed: 9})
	other, err := ParseRepo(proxy.Host()+"/team/other", false)
	if err != nil {
		t.Fatal(err)
	}
	policy.Timeout = 300 * time.Millisecond
	_, err = PushIndex(ctx, other, idx, []string{"latest"}, Options(ctx, 1, false, policy))
	if err == nil || !strings.Contains(err.Error(), "giving up on registry "+proxy.Host()) {
		t.Fatalf("push to a registry that is down: %v, want giving up", err)
	}
	if strings.Contains(err.Error(), reg.Password()) || strings.Contains(err.Error(), auth) {
		t.Fatalf("the error shows the credentials: %v", err)
	}
}
