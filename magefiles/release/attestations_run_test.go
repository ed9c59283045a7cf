//go:build unix

package release

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	intoto "github.com/in-toto/attestation/go/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/attest"
)

// kongModule is a module whose program links a dependency (kong, which this module requires
// too, so it is in the module cache and its sums in go.sum), committed in git with an origin.
func kongModule(t *testing.T) string {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join("..", "..", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeModule(t, map[string]string{
		"go.mod":  "module example.com/app\n\ngo 1.26\n\nrequire github.com/alecthomas/kong v1.17.0\n",
		"go.sum":  string(sums),
		"main.go": "package main\n\nimport \"github.com/alecthomas/kong\"\n\nfunc main() { _ = kong.Name(\"app\") }\n",
		// The dist directories of the runs: else go stamps the second build as modified.
		".gitignore": "/dist*/\n",
	})
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "app")
	git(t, dir, "tag", "v1.2.3")
	git(t, dir, "remote", "add", "origin", "https://github.com/you/app.git")
	return dir
}

// versionModules returns the modules `go version -m` prints for bin, path -> version (a
// replacement's version for a replaced module).
func versionModules(t *testing.T, bin string) map[string]string {
	t.Helper()
	mods := map[string]string{}
	var last string
	sc := bufio.NewScanner(strings.NewReader(goVersionM(t, bin)))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		switch {
		case len(f) >= 3 && (f[0] == "mod" || f[0] == "dep"):
			last, mods[f[1]] = f[1], f[2]
		case len(f) >= 3 && f[0] == "=>":
			mods[last] = f[2]
		}
	}
	return mods
}

// layerOf returns the content of the one layer of the artifact ref in the registry.
func layerOf(t *testing.T, ref name.Digest) (*v1.Manifest, []byte) {
	t.Helper()
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%s: %d layers, %v", ref, len(layers), err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

// layoutEntries returns the descriptors of dist/oci's index.json.
func layoutEntries(t *testing.T, dist string) []v1.Descriptor {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dist, "oci", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.Manifests
}

// TestRunAttestations releases a program with a dependency, for two platforms, to a real
// registry (distribution's, which has no referrers API: go-containerregistry keeps the
// referrers under the tag scheme) and checks its attestations: the registry lists exactly the
// SBOM and the provenance of each platform manifest, those release.json names; the SBOM
// names every module `go version -m` prints of the binary; the provenance's subject is the
// manifest; dist/oci lists the index, named, then the attestations. The same commit released
// again with fresh caches (the layer cache and GOCACHE) gives the same index and attestation
// digests; XGO_SBOM=off and XGO_PROVENANCE=off give none, and the same index.
func TestRunAttestations(t *testing.T) {
	reg := registrytest.Start(t)
	dir := kongModule(t)
	repo := reg.Host() + "/attest/app"
	vars := map[string]string{
		"XGO_PLATFORMS": "linux/amd64,linux/arm64",
		"XGO_REPO":      repo,
		"XGO_CACHE":     t.TempDir(),
		"XGO_DIST":      "dist",
	}
	release := func(vars map[string]string, environ []string) releaseReport {
		t.Helper()
		var out strings.Builder
		e := runEnv{dir: dir, getenv: envMap(vars), environ: environ, out: &out}
		if err := run(t.Context(), e, stageRelease); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		return readReportFile(t, filepath.Join(dir, vars["XGO_DIST"], "release.json"))
	}
	rep := release(vars, os.Environ())

	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	var referrers []string
	for _, p := range rep.Platforms {
		if p.SBOM == "" || p.Provenance == "" || p.SBOM == p.Provenance {
			t.Fatalf("release.json %s: sbom %q, provenance %q", p.Platform, p.SBOM, p.Provenance)
		}
		referrers = append(referrers, p.SBOM, p.Provenance)
		subject := r.Digest(p.Manifest)

		listed, err := remote.Referrers(subject)
		if err != nil {
			t.Fatalf("listing the referrers of %s: %v", subject, err)
		}
		lm, err := listed.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range lm.Manifests {
			got[d.ArtifactType] = d.Digest.String()
			if d.ArtifactType == attest.ProvenanceType && d.Annotations[attest.PredicateTypeAnnotation] != attest.SLSAProvenance {
				t.Errorf("%s: the provenance's descriptor has annotations %v", p.Platform, d.Annotations)
			}
		}
		want := map[string]string{attest.SBOMType: p.SBOM, attest.ProvenanceType: p.Provenance}
		if len(lm.Manifests) != 2 || !maps.Equal(got, want) {
			t.Errorf("%s: the registry lists the referrers %v, want %v", p.Platform, lm.Manifests, want)
		}

		// The SBOM names every module of the binary, as go version -m prints them.
		m, data := layerOf(t, r.Digest(p.SBOM))
		if m.Subject == nil || m.Subject.Digest.String() != p.Manifest || m.ArtifactType != attest.SBOMType {
			t.Errorf("%s: SBOM manifest subject %v, artifactType %q", p.Platform, m.Subject, m.ArtifactType)
		}
		doc, err := spdxjson.Read(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: reading the SBOM: %v\n%s", p.Platform, err, data)
		}
		packages := map[string]string{}
		for _, pkg := range doc.Packages {
			packages[pkg.PackageName] = pkg.PackageVersion
		}
		mods := versionModules(t, filepath.Join(dir, "dist", filepath.FromSlash(p.Binary)))
		if _, ok := mods["github.com/alecthomas/kong"]; !ok {
			t.Fatalf("go version -m lists %v: the test program lost its dependency", mods)
		}
		for path, version := range mods {
			// The main module is the application's package: its main package is the root.
			if v, ok := packages[path]; !ok || v != version {
				t.Errorf("%s: the SBOM has %s at %q (%v), go version -m prints %s", p.Platform, path, v, ok, version)
			}
		}

		// The provenance is of the manifest, built from the commit.
		m, data = layerOf(t, r.Digest(p.Provenance))
		if m.Subject == nil || m.Subject.Digest.String() != p.Manifest || m.Annotations[attest.PredicateTypeAnnotation] != attest.SLSAProvenance {
			t.Errorf("%s: provenance manifest subject %v, annotations %v", p.Platform, m.Subject, m.Annotations)
		}
		var st intoto.Statement
		if err := protojson.Unmarshal(data, &st); err != nil {
			t.Fatalf("%s: reading the provenance: %v\n%s", p.Platform, err, data)
		}
		if len(st.Subject) != 1 || "sha256:"+st.Subject[0].Digest["sha256"] != p.Manifest || st.Subject[0].Name != r.Name() {
			t.Errorf("%s: provenance subject %v, want %s@%s", p.Platform, st.Subject, r.Name(), p.Manifest)
		}
		pred := st.Predicate.AsMap()
		bd := pred["buildDefinition"].(map[string]any)
		params := bd["externalParameters"].(map[string]any)
		env := params["env"].(map[string]any)
		if params["platform"] != p.Platform || params["main"] != "example.com/app" || env["CGO_ENABLED"] != "0" {
			t.Errorf("%s: external parameters %v", p.Platform, params)
		}
		if src, _ := json.Marshal(bd["resolvedDependencies"]); !strings.Contains(string(src), `"gitCommit":"`+rep.Revision+`"`) ||
			!strings.Contains(string(src), `"uri":"git+https://github.com/you/app@refs/tags/v1.2.3"`) {
			t.Errorf("%s: resolved dependencies %s, want the commit %s", p.Platform, src, rep.Revision)
		}
		if strings.Contains(string(data), os.Getenv("HOME")+"/") || strings.Contains(string(data), dir) {
			t.Errorf("%s: the provenance holds a local path:\n%s", p.Platform, data)
		}
	}

	// dist/oci: the index first, named by the first tag, then the attestations.
	entries := layoutEntries(t, filepath.Join(dir, "dist"))
	if len(entries) != 5 || entries[0].Digest.String() != rep.Digest || entries[0].Annotations["org.opencontainers.image.ref.name"] != "1.2.3" {
		t.Fatalf("dist/oci/index.json lists %v, want the index %s named 1.2.3, then 4 attestations", entries, rep.Digest)
	}
	var inLayout []string
	for _, d := range entries[1:] {
		inLayout = append(inLayout, d.Digest.String())
		if d.ArtifactType != attest.SBOMType && d.ArtifactType != attest.ProvenanceType {
			t.Errorf("dist/oci/index.json entry %s has artifactType %q", d.Digest, d.ArtifactType)
		}
	}
	if !slices.Equal(inLayout, referrers) {
		t.Errorf("dist/oci lists the attestations %q, release.json %q", inLayout, referrers)
	}
	// As the README reads it: skopeo selects the index by its name.
	skopeo := testenv.Command(t, "skopeo", "install it with `apt-get install skopeo`")
	raw, err := exec.Command(skopeo, "inspect", "--raw", "oci:"+filepath.Join(dir, "dist", "oci")+":1.2.3").Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw oci:dist/oci:1.2.3: %v", err)
	}
	if h, _, err := v1.SHA256(bytes.NewReader(bytes.TrimSpace(raw))); err != nil || h.String() != rep.Digest {
		t.Errorf("skopeo inspect --raw oci:dist/oci:1.2.3 gives %s (%v), want the index %s:\n%s", h, err, rep.Digest, raw)
	}

	// The same commit again, with fresh caches: the same digests, everything.
	again := maps.Clone(vars)
	again["XGO_CACHE"], again["XGO_DIST"] = t.TempDir(), "dist-again"
	rep2 := release(again, append(os.Environ(), "GOCACHE="+t.TempDir()))
	if rep2.Digest != rep.Digest {
		t.Errorf("the second release's index is %s, the first's %s", rep2.Digest, rep.Digest)
	}
	for i, p := range rep2.Platforms {
		if p.Manifest != rep.Platforms[i].Manifest || p.SBOM != rep.Platforms[i].SBOM || p.Provenance != rep.Platforms[i].Provenance {
			t.Errorf("%s: the second release has %s, %s, %s; the first %s, %s, %s", p.Platform, p.Manifest, p.SBOM, p.Provenance,
				rep.Platforms[i].Manifest, rep.Platforms[i].SBOM, rep.Platforms[i].Provenance)
		}
	}
	if rep2.BlobsUploaded != 0 {
		t.Errorf("the second release uploaded %d blobs", rep2.BlobsUploaded)
	}

	// Off: no attestation, the same index.
	off := maps.Clone(vars)
	off["XGO_SBOM"], off["XGO_PROVENANCE"], off["XGO_DIST"], off["XGO_REPO"] = "off", "off", "dist-off", reg.Host()+"/attest/off"
	rep3 := release(off, os.Environ())
	if rep3.Digest != rep.Digest {
		t.Errorf("without attestations the index is %s, with them %s", rep3.Digest, rep.Digest)
	}
	offRepo, err := name.NewRepository(off["XGO_REPO"], name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep3.Platforms {
		if p.SBOM != "" || p.Provenance != "" {
			t.Errorf("%s: release.json names attestations with both off: %q, %q", p.Platform, p.SBOM, p.Provenance)
		}
		listed, err := remote.Referrers(offRepo.Digest(p.Manifest))
		if err != nil {
			t.Fatal(err)
		}
		if lm, _ := listed.IndexManifest(); len(lm.Manifests) != 0 {
			t.Errorf("%s: with both off the registry lists referrers %v", p.Platform, lm.Manifests)
		}
	}
	if tags, err := remote.List(offRepo); err != nil || !slices.Equal(slices.Sorted(slices.Values(tags)), slices.Sorted(slices.Values(rep3.Tags))) {
		t.Errorf("with both off the repository has the tags %q (%v), want only the release's %q", tags, err, rep3.Tags)
	}
	if entries := layoutEntries(t, filepath.Join(dir, "dist-off")); len(entries) != 1 {
		t.Errorf("with both off dist/oci lists %d entries, want the index alone", len(entries))
	}

	// One off: the other alone.
	one := maps.Clone(vars)
	one["XGO_SBOM"], one["XGO_DIST"] = "off", "dist-one"
	var out strings.Builder
	if err := run(t.Context(), runEnv{dir: dir, getenv: envMap(one), environ: os.Environ(), out: &out}, stageImage); err != nil {
		t.Fatalf("image with XGO_SBOM=off: %v\n%s", err, out.String())
	}
	entries = layoutEntries(t, filepath.Join(dir, "dist-one"))
	if len(entries) != 3 || entries[1].ArtifactType != attest.ProvenanceType || entries[2].ArtifactType != attest.ProvenanceType {
		t.Errorf("with XGO_SBOM=off dist/oci lists %v, want the index and two provenances", entries)
	}
	if entries[1].Digest.String() != rep.Platforms[0].Provenance {
		t.Errorf("the image target's provenance %s, the release's %s: the same build gives the same attestation", entries[1].Digest, rep.Platforms[0].Provenance)
	}
}
