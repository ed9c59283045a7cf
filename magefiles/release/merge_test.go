//go:build unix

package release

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// TestMageMergeMatchesOneRelease runs, with mage in a copy of testdata/userproject, three
// by-digest releases of one platform each, as three CI jobs would (separate processes, each
// with its own XGO_DIST and XGO_CACHE), against one registry; merges their records; and
// checks that the merged index has the digest of a single release of the same commit and
// platforms, and that the jobs pushed no index and no tag.
func TestMageMergeMatchesOneRelease(t *testing.T) {
	reg := registrytest.Start(t)
	p := newUserProject(t)
	repo := reg.Host() + "/merge/app"
	platforms := []string{"linux/amd64", "linux/arm64", "linux/riscv64"}
	// Compile the magefile once, before the jobs run it side by side.
	if out, err := p.run(t, "-l"); err != nil {
		t.Fatalf("mage -l: %v\n%s", err, out)
	}

	records := t.TempDir() // as actions/download-artifact leaves them: one directory a job
	var wg sync.WaitGroup
	outs, errs := make([]string, len(platforms)), make([]error, len(platforms))
	dists, ghOut := make([]string, len(platforms)), make([]string, len(platforms))
	for i, pl := range platforms {
		dists[i], ghOut[i] = t.TempDir(), filepath.Join(t.TempDir(), "github_output")
		wg.Go(func() {
			outs[i], errs[i] = p.run(t, "release", "XGO_REPO="+repo, "XGO_PLATFORMS="+pl, "XGO_PUSH_BY_DIGEST=true",
				"XGO_DIST="+dists[i], "XGO_CACHE="+t.TempDir(), "GITHUB_OUTPUT="+ghOut[i])
		})
	}
	wg.Wait()
	for i, pl := range platforms {
		if errs[i] != nil {
			t.Fatalf("job %s: %v\n%s", pl, errs[i], outs[i])
		}
		t.Logf("job %s:\n%s", pl, outs[i])
		file := filepath.Join(dists[i], "digests-"+strings.ReplaceAll(pl, "/", "_")+".json")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var rec digestRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Revision != p.commit || rec.Version != "v1.2.3" || rec.Repository != repo || len(rec.Platforms) != 1 || rec.Platforms[0].Platform != pl {
			t.Errorf("record of %s: %s", pl, data)
		}
		if got, err := os.ReadFile(ghOut[i]); err != nil || string(got) != "record="+file+"\n" {
			t.Errorf("GITHUB_OUTPUT of %s: %q, %v; want record=%s", pl, got, err, file)
		}
		if _, err := os.Stat(filepath.Join(dists[i], "release.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("job %s wrote release.json (stat: %v)", pl, err)
		}
		dir := filepath.Join(records, "digests-"+strings.ReplaceAll(pl, "/", "_"))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(file)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if tags := listTags(t, repo); len(tags) != 0 {
		t.Errorf("the by-digest jobs pushed tags %q", tags)
	}

	mergeDist := t.TempDir()
	out, err := p.run(t, "merge", "XGO_REPO="+repo, "XGO_MERGE="+records, "XGO_DIST="+mergeDist)
	if err != nil {
		t.Fatalf("mage merge: %v\n%s", err, out)
	}
	t.Logf("mage merge:\n%s", out)
	merged := readReportFile(t, filepath.Join(mergeDist, "release.json"))
	if want := []string{"1.2.3", "1.2", "1", "latest"}; !slices.Equal(merged.Tags, want) {
		t.Errorf("merge pushed tags %q, want %q", merged.Tags, want)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); lines[len(lines)-1] != merged.Reference {
		t.Errorf("merge's last line %q, want %s", lines[len(lines)-1], merged.Reference)
	}
	for i, pl := range platforms {
		if merged.Platforms[i].Platform != pl {
			t.Errorf("merged platform %d is %s, want %s", i, merged.Platforms[i].Platform, pl)
		}
	}

	singleDist := t.TempDir()
	out, err = p.run(t, "release", "XGO_REPO="+reg.Host()+"/single/app", "XGO_PLATFORMS="+strings.Join(platforms, ","),
		"XGO_DIST="+singleDist, "XGO_CACHE="+t.TempDir())
	if err != nil {
		t.Fatalf("mage release: %v\n%s", err, out)
	}
	single := readReportFile(t, filepath.Join(singleDist, "release.json"))
	if merged.Digest != single.Digest {
		t.Errorf("merged index %s, a single release of the same commit and platforms %s", merged.Digest, single.Digest)
	}
	for i := range single.Platforms {
		if merged.Platforms[i].Manifest != single.Platforms[i].Manifest {
			t.Errorf("%s: merged manifest %s, single release %s", single.Platforms[i].Platform, merged.Platforms[i].Manifest, single.Platforms[i].Manifest)
		}
	}
}

// readReportFile reads a release.json.
func readReportFile(t *testing.T, path string) releaseReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r releaseReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("reading %s: %v\n%s", path, err, data)
	}
	return r
}

// listTags returns the tags of repo, none when the registry does not know it, without those
// of the referrers tag scheme (sha256-<hex>: the lists of the attestations of the manifests
// pushed, on a registry without the referrers API).
func listTags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil && !strings.Contains(err.Error(), "NAME_UNKNOWN") {
		t.Fatalf("listing the tags of %s: %v", repo, err)
	}
	return slices.DeleteFunc(tags, referrersTag.MatchString)
}

// referrersTag matches the tags of the referrers tag scheme.
var referrersTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}$`)

// TestRunMergeRecords makes two by-digest releases in this process (linux/amd64 and
// linux/arm64, each its own dist) and merges their records: with a record missing, duplicated,
// of another commit, or naming a manifest the registry lacks, merge fails with one error that
// says so and pushes nothing; with the two records it pushes the index a single release of
// both platforms pushes, in the order XGO_PLATFORMS gives.
func TestRunMergeRecords(t *testing.T) {
	reg := registrytest.Start(t)
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	repo := reg.Host() + "/records/app"
	releaseIn := func(t *testing.T, vars map[string]string) string {
		t.Helper()
		env := map[string]string{"XGO_REPO": repo, "XGO_CACHE": "off", "SOURCE_DATE_EPOCH": "86400", "XGO_DIST": t.TempDir()}
		for k, v := range vars {
			env[k] = v
		}
		var out strings.Builder
		e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out, result: &out}
		if err := run(t.Context(), e, stageRelease); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		return env["XGO_DIST"]
	}
	amd64 := filepath.Join(releaseIn(t, map[string]string{"XGO_PLATFORMS": "linux/amd64", "XGO_PUSH_BY_DIGEST": "true"}), "digests-linux_amd64.json")
	if rec, err := readRecord(amd64); err != nil || len(rec.Platforms[0].Referrers) != 2 ||
		rec.Platforms[0].Referrers[0].Digest != rec.Platforms[0].Build.SBOM || rec.Platforms[0].Referrers[1].Digest != rec.Platforms[0].Build.Provenance {
		t.Fatalf("the record lists the referrers %+v (%v), want the SBOM and the provenance of its build", rec.Platforms[0].Referrers, err)
	}
	arm64 := filepath.Join(releaseIn(t, map[string]string{"XGO_PLATFORMS": "linux/arm64", "XGO_PUSH_BY_DIGEST": "true"}), "digests-linux_arm64.json")
	i386 := filepath.Join(releaseIn(t, map[string]string{"XGO_PLATFORMS": "linux/386", "XGO_PUSH_BY_DIGEST": "true"}), "digests-linux_386.json")
	// edited writes a copy of the record file, changed by edit, into a directory of its own.
	edited := func(t *testing.T, file string, edit func(*digestRecord)) string {
		rec, err := readRecord(file)
		if err != nil {
			t.Fatal(err)
		}
		edit(&rec)
		path := filepath.Join(t.TempDir(), filepath.Base(file))
		if err := writeRecord(path, rec); err != nil {
			t.Fatal(err)
		}
		return path
	}
	mergeRun := func(t *testing.T, vars map[string]string) (releaseReport, string, error) {
		t.Helper()
		env := map[string]string{"XGO_REPO": repo, "XGO_DIST": t.TempDir(), "XGO_TAGS": "merged"}
		for k, v := range vars {
			env[k] = v
		}
		var out, result strings.Builder
		err := merge(t.Context(), runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out, result: &result})
		if err != nil {
			if _, serr := os.Stat(filepath.Join(env["XGO_DIST"], "release.json")); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("a failed merge wrote release.json (stat: %v)", serr)
			}
			return releaseReport{}, out.String(), err
		}
		return readReportFile(t, filepath.Join(env["XGO_DIST"], "release.json")), result.String(), nil
	}

	for _, tt := range []struct {
		name  string
		vars  func(t *testing.T) map[string]string
		wants []string
	}{
		{"missing", func(*testing.T) map[string]string {
			return map[string]string{"XGO_MERGE": amd64 + "," + arm64, "XGO_PLATFORMS": "linux/amd64,linux/arm64,linux/riscv64"}
		}, []string{"no record for linux/riscv64, which XGO_PLATFORMS lists"}},
		{"not listed", func(*testing.T) map[string]string {
			return map[string]string{"XGO_MERGE": amd64 + "," + arm64, "XGO_PLATFORMS": "linux/amd64"}
		}, []string{arm64 + " has linux/arm64, which XGO_PLATFORMS does not list"}},
		{"duplicated", func(t *testing.T) map[string]string {
			return map[string]string{"XGO_MERGE": amd64 + "," + arm64 + "," + edited(t, amd64, func(*digestRecord) {})}
		}, []string{"linux/amd64 is in two records, " + amd64 + " and "}},
		{"other commit", func(t *testing.T) map[string]string {
			other := edited(t, arm64, func(r *digestRecord) { r.Revision = "0123456789abcdef0123456789abcdef01234567" })
			return map[string]string{"XGO_MERGE": amd64 + "," + other}
		}, []string{amd64 + " and ", " are not of one release: commit (none) against 0123456789abcdef0123456789abcdef01234567"}},
		{"not in the registry", func(t *testing.T) map[string]string {
			gone := edited(t, arm64, func(r *digestRecord) {
				r.Platforms[0].Digest = "sha256:" + strings.Repeat("0", 64)
			})
			return map[string]string{"XGO_MERGE": amd64 + "," + gone}
		}, []string{repo + "@sha256:" + strings.Repeat("0", 64) + " (linux/arm64, from ", ") is not in the registry"}},
		{"attestation not in the registry", func(t *testing.T) map[string]string {
			gone := edited(t, arm64, func(r *digestRecord) {
				r.Platforms[0].Referrers[0].Digest = "sha256:" + strings.Repeat("1", 64)
			})
			return map[string]string{"XGO_MERGE": amd64 + "," + gone}
		}, []string{repo + "@sha256:" + strings.Repeat("1", 64) + ", the application/spdx+json attestation of linux/arm64 (from ", "), is not in the registry"}},
		{"other repository", func(*testing.T) map[string]string {
			return map[string]string{"XGO_MERGE": amd64, "XGO_REPO": reg.Host() + "/elsewhere/app"}
		}, []string{amd64 + " was pushed to " + repo + ", not to XGO_REPO " + reg.Host() + "/elsewhere/app"}},
		{"no records", func(t *testing.T) map[string]string {
			return map[string]string{"XGO_MERGE": t.TempDir()}
		}, []string{"XGO_MERGE=", "holds no digests-*.json record"}},
		{"unset", func(*testing.T) map[string]string { return map[string]string{} }, []string{"XGO_MERGE is not set"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, out, err := mergeRun(t, tt.vars(t))
			if err == nil {
				t.Fatalf("merge succeeded:\n%s", out)
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if tags := listTags(t, repo); len(tags) != 0 {
				t.Errorf("a failed merge pushed tags %q", tags)
			}
		})
	}

	// Without XGO_PLATFORMS the order is the default list's (linux/386 after linux/amd64, not
	// before it as by name); XGO_PLATFORMS sets another: each merged index is a single
	// release's with that list.
	for _, platforms := range []string{"", "linux/arm64,linux/386,linux/amd64"} {
		records := filepath.Dir(amd64) + "," + filepath.Dir(arm64) + "," + filepath.Dir(i386)
		rep, result, err := mergeRun(t, map[string]string{"XGO_MERGE": records, "XGO_PLATFORMS": platforms})
		if err != nil {
			t.Fatalf("XGO_PLATFORMS=%q: merge: %v", platforms, err)
		}
		vars := map[string]string{"XGO_PLATFORMS": platforms, "XGO_REPO": reg.Host() + "/records/single"}
		if platforms == "" {
			vars["XGO_PLATFORMS"] = "linux/amd64,linux/386,linux/arm64"
		}
		single := readReportFile(t, filepath.Join(releaseIn(t, vars), "release.json"))
		if rep.Digest != single.Digest || result != rep.Reference+"\n" || !slices.Equal(rep.Tags, []string{"merged"}) {
			t.Errorf("XGO_PLATFORMS=%q: merged %s (result %q, tags %q), a single release %s", platforms, rep.Digest, result, rep.Tags, single.Digest)
		}
		var got []string
		for i, p := range rep.Platforms {
			got = append(got, p.Platform)
			// The SBOM is of the binary alone; the provenance names the repository.
			if p.SBOM == "" || p.SBOM != single.Platforms[i].SBOM || p.Provenance == "" {
				t.Errorf("XGO_PLATFORMS=%q: %s: merged SBOM %q, provenance %q; a single release's SBOM %q", platforms, p.Platform, p.SBOM, p.Provenance, single.Platforms[i].SBOM)
			}
		}
		if strings.Join(got, ",") != vars["XGO_PLATFORMS"] {
			t.Errorf("XGO_PLATFORMS=%q: merged platforms %s", platforms, got)
		}
	}
}
