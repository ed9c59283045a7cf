package release

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
)

// metadataJSON is docker/metadata-action's JSON output for images ghcr.io/o/app, with the
// created time of the job that ran it.
const metadataJSON = `{
  "tags": ["ghcr.io/o/app:1.2.3", "ghcr.io/o/app:1.2", "ghcr.io/o/app:latest"],
  "labels": {
    "org.opencontainers.image.created": "2026-12-06T10:00:00.000Z",
    "org.opencontainers.image.description": "an app, with commas",
    "org.opencontainers.image.version": "1.2.3"
  },
  "annotations": [
    "manifest:org.opencontainers.image.created=2026-12-06T10:00:00.000Z",
    "manifest:org.opencontainers.image.description=an app, with commas",
    "index:org.opencontainers.image.version=1.2.3"
  ]
}`

func TestWithDockerMetadata(t *testing.T) {
	const (
		labels      = "org.opencontainers.image.description=an app, with commas\norg.opencontainers.image.version=1.2.3\n"
		annotations = "manifest:org.opencontainers.image.description=an app, with commas\nindex:org.opencontainers.image.version=1.2.3\n"
	)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string // the variables the release reads, as it sees them
	}{
		{
			name: "none",
			env:  map[string]string{"XGO_TAGS": "edge"},
			want: map[string]string{"XGO_REPO": "", "XGO_TAGS": "edge", "XGO_LABELS": "", "XGO_ANNOTATIONS": ""},
		},
		{
			name: "all from metadata",
			env:  map[string]string{metadataVar: metadataJSON},
			want: map[string]string{"XGO_REPO": "ghcr.io/o/app", "XGO_TAGS": "1.2.3,1.2,latest", "XGO_LABELS": labels, "XGO_ANNOTATIONS": annotations},
		},
		{
			name: "XGO variables win",
			env: map[string]string{metadataVar: metadataJSON, "XGO_REPO": "127.0.0.1:5000/x", "XGO_TAGS": "edge",
				"XGO_LABELS": "a=1", "XGO_ANNOTATIONS": "b=2"},
			want: map[string]string{"XGO_REPO": "127.0.0.1:5000/x", "XGO_TAGS": "edge", "XGO_LABELS": "a=1", "XGO_ANNOTATIONS": "b=2"},
		},
		{
			name: "XGO_REPO picks its tags",
			env: map[string]string{metadataVar: `{"tags": ["docker.io/o/app:1", "ghcr.io/o/app:2", "o/app:3"]}`,
				"XGO_REPO": "index.docker.io/o/app"},
			want: map[string]string{"XGO_REPO": "index.docker.io/o/app", "XGO_TAGS": "1,3"},
		},
		{
			name: "tags given, repository from metadata",
			env:  map[string]string{metadataVar: `{"tags": ["ghcr.io/o/app:2"]}`, "XGO_TAGS": "edge"},
			want: map[string]string{"XGO_REPO": "ghcr.io/o/app", "XGO_TAGS": "edge"},
		},
		{
			name: "no tags, no labels",
			env:  map[string]string{metadataVar: `{"tags": [], "labels": {"org.opencontainers.image.created": "2026-12-06T10:00:00Z"}}`},
			want: map[string]string{"XGO_REPO": "", "XGO_TAGS": "", "XGO_LABELS": ""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv, err := withDockerMetadata(envMap(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if got := getenv(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestWithDockerMetadataErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"not JSON", map[string]string{metadataVar: "tags=a"},
			"DOCKER_METADATA_OUTPUT_JSON is not the JSON output of docker/metadata-action: invalid character"},
		{"two values", map[string]string{metadataVar: "{} {}"},
			"DOCKER_METADATA_OUTPUT_JSON is not the JSON output of docker/metadata-action: more than one JSON value"},
		{"two repositories", map[string]string{metadataVar: `{"tags": ["ghcr.io/o/app:1", "docker.io/o/app:1"]}`},
			"DOCKER_METADATA_OUTPUT_JSON: the tags are of 2 repositories (ghcr.io/o/app, index.docker.io/o/app): set XGO_REPO to the one to push to"},
		{"none of XGO_REPO", map[string]string{metadataVar: `{"tags": ["ghcr.io/o/app:1"]}`, "XGO_REPO": "ghcr.io/o/other"},
			"DOCKER_METADATA_OUTPUT_JSON: no tag is of XGO_REPO=ghcr.io/o/other, only of ghcr.io/o/app"},
		{"bad tag", map[string]string{metadataVar: `{"tags": ["ghcr.io/o/app:bad tag"]}`},
			`DOCKER_METADATA_OUTPUT_JSON: tag "ghcr.io/o/app:bad tag" must be a reference repository:tag`},
		{"label with a line break", map[string]string{metadataVar: `{"labels": {"a": "1\n2"}}`},
			`DOCKER_METADATA_OUTPUT_JSON: labels: label "a" holds a line break`},
		{"bad label key", map[string]string{metadataVar: `{"labels": {"a b": "1"}}`},
			`DOCKER_METADATA_OUTPUT_JSON: labels: key "a b" must not hold blanks or control characters`},
		{"annotation scope", map[string]string{metadataVar: `{"annotations": ["index-descriptor:a=1"]}`},
			`DOCKER_METADATA_OUTPUT_JSON: annotations: scope "index-descriptor" is not supported`},
		{"annotation without =", map[string]string{metadataVar: `{"annotations": ["manifest:a"]}`},
			`DOCKER_METADATA_OUTPUT_JSON: annotations: entry "manifest:a" must be [scope:]key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := withDockerMetadata(envMap(tc.env))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want one starting %q", err, tc.want)
			}
		})
	}
}

// TestRunDockerMetadata releases with DOCKER_METADATA_OUTPUT_JSON alone naming the repository:
// the release pushes its tags, puts its labels in every config and its annotations on the
// manifests and the index, all but the job's created time; the images keep SOURCE_DATE_EPOCH.
// A bad value fails before anything is built.
func TestRunDockerMetadata(t *testing.T) {
	reg := registrytest.Start(t)
	repo := reg.Host() + "/meta/app"
	md := strings.ReplaceAll(metadataJSON, "ghcr.io/o/app", repo)
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	env := map[string]string{
		"XGO_PLATFORMS":     "linux/amd64,linux/arm64",
		"SOURCE_DATE_EPOCH": "86400",
		"XGO_CACHE":         "off",
		metadataVar:         md,
	}
	var out strings.Builder
	e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out}
	if err := run(t.Context(), e, stageRelease); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	rep := readReport(t, dir)
	if rep.Repository != repo || !reflect.DeepEqual(rep.Tags, []string{"1.2.3", "1.2", "latest"}) {
		t.Errorf("pushed to %s with tags %q, want %s with 1.2.3, 1.2, latest", rep.Repository, rep.Tags, repo)
	}
	ref, err := registry.ParseRef(repo+":1.2", false)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := idx.Digest(); err != nil || d.String() != rep.Digest {
		t.Errorf("tag 1.2 is %v (%v), want %s", d, err, rep.Digest)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	const created = "1970-01-02T00:00:00Z"
	wantIndex := map[string]string{"org.opencontainers.image.created": created, "org.opencontainers.image.version": "1.2.3"}
	if !reflect.DeepEqual(im.Annotations, wantIndex) {
		t.Errorf("index annotations %v, want %v", im.Annotations, wantIndex)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		wantManifest := map[string]string{"org.opencontainers.image.created": created, "org.opencontainers.image.description": "an app, with commas"}
		if !reflect.DeepEqual(m.Annotations, wantManifest) {
			t.Errorf("%s manifest annotations %v, want %v", d.Platform, m.Annotations, wantManifest)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		wantLabels := map[string]string{
			"org.opencontainers.image.created":     created,
			"org.opencontainers.image.description": "an app, with commas",
			"org.opencontainers.image.version":     "1.2.3",
		}
		if !reflect.DeepEqual(cf.Config.Labels, wantLabels) {
			t.Errorf("%s labels %v, want %v", d.Platform, cf.Config.Labels, wantLabels)
		}
	}

	bad := t.TempDir()
	env[metadataVar] = `{"tags": ["` + repo + `:1", "ghcr.io/o/app:1"]}`
	e.dir = bad
	err = run(t.Context(), e, stageRelease)
	if err == nil || !strings.Contains(err.Error(), "set XGO_REPO to the one to push to") {
		t.Errorf("tags of two repositories: %v", err)
	}
	if entries, _ := os.ReadDir(bad); len(entries) != 0 {
		t.Errorf("the failed run wrote %d files", len(entries))
	}
}
