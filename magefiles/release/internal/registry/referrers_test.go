package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/attest"
)

// testReferrers returns, for each image manifest of idx, two attestations whose subject it is
// (an SBOM and a provenance statement, of made-up content).
func testReferrers(t testing.TB, idx v1.ImageIndex) []v1.Image {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var refs []v1.Image
	for i, d := range m.Manifests {
		subject := v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest}
		for _, at := range []string{attest.SBOMType, attest.ProvenanceType} {
			ref, err := attest.Artifact(subject, at, []byte(fmt.Sprintf(`{"image":%d,"type":%q}`, i, at)), "doc.json",
				map[string]string{attest.PredicateTypeAnnotation: "https://example.com/" + at})
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, ref)
		}
	}
	return refs
}

// TestPushIndexReferrers pushes an index with the attestations of its manifests to the
// distribution registry, which has no referrers API: the referrers go after their subjects
// and before the index, the tags last; the registry then lists them, through the referrers
// tag scheme (a tag sha256-<subject hex> on an index of them), and a second push sends
// nothing.
func TestPushIndexReferrers(t *testing.T) {
	repo, rec, opts := pushSetup(t)
	ctx := context.Background()
	idx := testIndex(t, "linux/amd64", "linux/arm64", "linux/s390x")
	refs := testReferrers(t, idx)
	want, _ := idx.Digest()
	n, size := blobCount(t, idx)
	blobs, err := pushedBlobs(idx, refs)
	if err != nil {
		t.Fatal(err)
	}
	var refSize int64
	for h, s := range blobs {
		if _, ok := mustBlobs(t, idx)[h]; !ok {
			refSize += s
		}
	}
	if len(blobs) != n+1+len(refs) { // one empty config for all, one layer each
		t.Fatalf("%d blobs with the referrers, want %d", len(blobs), n+1+len(refs))
	}

	res, err := PushIndex(ctx, repo, idx, []string{"1.2.3", "latest"}, opts, refs...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != want || !slices.Equal(res.Tags, []string{"1.2.3", "latest"}) || res.BlobsUploaded != len(blobs) ||
		res.BytesUploaded != size+refSize || res.BlobsSkipped != 0 {
		t.Fatalf("first push: %+v, want every one of %d blobs uploaded", res, len(blobs))
	}

	// Order: each referrer after its subject, before the index; the tags after everything.
	reqs := rec.requests()
	put := func(ref string) int {
		t.Helper()
		for i, r := range reqs {
			if r == "PUT /v2/team/app/manifests/"+ref {
				return i
			}
		}
		t.Fatalf("no PUT of manifest %s in %v", ref, reqs)
		return -1
	}
	indexAt := put(want.String())
	for _, ref := range refs {
		d, _ := ref.Digest()
		m, _ := ref.Manifest()
		at := put(d.String())
		if subjectAt := put(m.Subject.Digest.String()); subjectAt > at {
			t.Errorf("referrer %s put before its subject %s", d, m.Subject.Digest)
		}
		if at > indexAt {
			t.Errorf("referrer %s put after the index", d)
		}
	}
	for _, tag := range res.Tags {
		if put(tag) < indexAt {
			t.Errorf("tag %s put before the index", tag)
		}
	}

	// The registry lists exactly each manifest's two referrers, through the tag scheme.
	m, _ := idx.IndexManifest()
	tags, err := remote.List(repo, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range m.Manifests {
		if !slices.Contains(tags, "sha256-"+d.Digest.Hex) {
			t.Errorf("no referrers tag sha256-%s in %q", d.Digest.Hex, tags)
		}
		listed, err := remote.Referrers(repo.Digest(d.Digest.String()), opts...)
		if err != nil {
			t.Fatal(err)
		}
		lm, _ := listed.IndexManifest()
		var got []string
		for _, ld := range lm.Manifests {
			got = append(got, ld.Digest.String()+" "+ld.ArtifactType)
		}
		var wantListed []string
		for _, ref := range refs[2*i : 2*i+2] {
			rd, _ := ref.Digest()
			rm, _ := ref.Manifest()
			wantListed = append(wantListed, rd.String()+" "+rm.ArtifactType)
		}
		slices.Sort(got)
		slices.Sort(wantListed)
		if !slices.Equal(got, wantListed) {
			t.Errorf("referrers of %s: %q, want %q", d.Digest, got, wantListed)
		}
	}

	// A second push sends nothing.
	before := len(rec.requests())
	res, err = PushIndex(ctx, repo, idx, []string{"1.2.3", "latest"}, opts, refs...)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsUploaded != 0 || res.BlobsSkipped != len(blobs) {
		t.Errorf("second push: %+v, want every blob skipped", res)
	}
	for _, r := range rec.requests()[before:] {
		if strings.HasPrefix(r, "PUT") || strings.HasPrefix(r, "POST") || strings.HasPrefix(r, "PATCH") {
			t.Errorf("second push sent %q", r)
		}
	}
}

// mustBlobs returns oci.IndexBlobs of idx.
func mustBlobs(t testing.TB, idx v1.ImageIndex) map[v1.Hash]int64 {
	t.Helper()
	b, err := pushedBlobs(idx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPushReferrersListsAnUnlistedManifest checks that a referrer whose manifest is in the
// registry but not in its subject's list (a push cut short between the two) is listed by the
// next push.
func TestPushReferrersListsAnUnlistedManifest(t *testing.T) {
	repo, _, opts := pushSetup(t)
	idx := testIndex(t, "linux/amd64")
	refs := testReferrers(t, idx)
	if _, err := PushManifests(context.Background(), repo, idx, opts); err != nil {
		t.Fatal(err)
	}
	d, _ := refs[0].Digest()
	// Without the tag scheme, the manifest goes in and the list is left as it was.
	err := remote.Write(repo.Digest(d.String()), refs[0], append(opts, remote.WithReferrersTagFallback(false))...)
	if err == nil || !strings.Contains(err.Error(), "referrers tag fallback is disabled") {
		t.Fatalf("writing a referrer without the tag scheme: %v", err)
	}
	if _, err := remote.Head(repo.Digest(d.String()), opts...); err != nil {
		t.Fatalf("the referrer's manifest is not there: %v", err)
	}
	m, _ := idx.IndexManifest()
	subject := repo.Digest(m.Manifests[0].Digest.String())
	if listed := referrerDigests(t, subject, opts); len(listed) != 0 {
		t.Fatalf("listed before the push: %v", listed)
	}
	if _, err := PushManifests(context.Background(), repo, idx, opts, refs...); err != nil {
		t.Fatal(err)
	}
	listed := referrerDigests(t, subject, opts)
	for _, ref := range refs {
		rd, _ := ref.Digest()
		if !slices.Contains(listed, rd) {
			t.Errorf("referrer %s not listed after the push: %v", rd, listed)
		}
	}
}

// referrerDigests lists the referrers of subject.
func referrerDigests(t testing.TB, subject name.Digest, opts []remote.Option) []v1.Hash {
	t.Helper()
	listed, err := remote.Referrers(subject, opts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := listed.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, d := range m.Manifests {
		ds = append(ds, d.Digest)
	}
	return ds
}

// TestPushReferrerFailure checks that a referrer the registry refuses fails the push with a
// ReferrerError naming it, before the index and any tag.
func TestPushReferrerFailure(t *testing.T) {
	repo, rec, opts := pushSetup(t)
	idx := testIndex(t, "linux/amd64")
	refs := testReferrers(t, idx)
	bad, _ := refs[1].Digest()
	rec.fail = func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+bad.String())
	}
	_, err := PushIndex(context.Background(), repo, idx, []string{"latest"}, opts, refs...)
	var refErr *ReferrerError
	if !errors.As(err, &refErr) || refErr.Referrer != bad || refErr.ArtifactType != attest.ProvenanceType {
		t.Fatalf("push with a referrer refused: %v, want a ReferrerError for %s", err, bad)
	}
	want, _ := idx.Digest()
	for _, r := range rec.requests() {
		if r == "PUT /v2/team/app/manifests/"+want.String() || r == "PUT /v2/team/app/manifests/latest" {
			t.Errorf("%q sent after the referrer failed", r)
		}
	}
}
