package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// metadataVar is the variable docker/metadata-action exports its result in.
const metadataVar = "DOCKER_METADATA_OUTPUT_JSON"

// dockerMetadata is the part of docker/metadata-action's JSON output the release reads: full
// image references (repository:tag), config labels, and annotations as [scope:]key=value.
type dockerMetadata struct {
	Tags        []string          `json:"tags"`
	Labels      map[string]string `json:"labels"`
	Annotations []string          `json:"annotations"`
}

// createdKey is the one label and annotation of docker/metadata-action that the release does
// not take: it is the time the job ran, and the release stamps its images with the commit
// time (or SOURCE_DATE_EPOCH) so that the same commit gives the same digests.
const createdKey = "org.opencontainers.image.created"

// withDockerMetadata returns a getenv that answers XGO_REPO, XGO_TAGS, XGO_LABELS and
// XGO_ANNOTATIONS from DOCKER_METADATA_OUTPUT_JSON where getenv gives them no value, so that
// a job that runs docker/metadata-action gets its tags, labels and annotations unless an
// XGO_* variable says otherwise. The tags must name one repository, or XGO_REPO picks the
// tags of its repository among them. Without the variable it returns getenv itself; a value
// that is not metadata-action's JSON, or whose entries are not valid, is one error naming the
// variable.
func withDockerMetadata(getenv func(string) string) (func(string) string, error) {
	raw := strings.TrimSpace(getenv("DOCKER_METADATA_OUTPUT_JSON"))
	if raw == "" {
		return getenv, nil
	}
	var md dockerMetadata
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&md); err != nil {
		return nil, fmt.Errorf("%s is not the JSON output of docker/metadata-action: %w", metadataVar, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s is not the JSON output of docker/metadata-action: more than one JSON value", metadataVar)
	}
	set := map[string]string{}
	if given := getenv("XGO_TAGS"); strings.TrimSpace(given) == "" || strings.TrimSpace(getenv("XGO_REPO")) == "" {
		repo, tags, err := metadataTags(md.Tags, getenv("XGO_REPO"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", metadataVar, err)
		}
		if repo != "" && strings.TrimSpace(getenv("XGO_REPO")) == "" {
			set["XGO_REPO"] = repo
		}
		if len(tags) > 0 && strings.TrimSpace(given) == "" {
			set["XGO_TAGS"] = strings.Join(tags, ",")
		}
	}
	if strings.TrimSpace(getenv("XGO_LABELS")) == "" {
		delete(md.Labels, createdKey)
		v, err := metadataLabels(md.Labels)
		if err == nil && v != "" {
			_, err = parseLabels(v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: labels: %w", metadataVar, err)
		}
		if v != "" {
			set["XGO_LABELS"] = v
		}
	}
	if strings.TrimSpace(getenv("XGO_ANNOTATIONS")) == "" {
		v, err := metadataAnnotations(md.Annotations)
		if err == nil && v != "" {
			_, err = parseAnnotations(v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: annotations: %w", metadataVar, err)
		}
		if v != "" {
			set["XGO_ANNOTATIONS"] = v
		}
	}
	if len(set) == 0 {
		return getenv, nil
	}
	return func(k string) string {
		if v, ok := set[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// metadataTags splits metadata-action's image references into the repository to push to and
// its tags, in the order given. With repo set (XGO_REPO), the references of other repositories
// are left out, and none of repo's is an error; without it, every reference must name the same
// repository. No references give no repository and no tags.
func metadataTags(refs []string, repo string) (string, []string, error) {
	repo = strings.TrimSpace(repo)
	var want string
	if repo != "" {
		r, err := name.NewRepository(repo)
		if err != nil {
			return "", nil, nil // XGO_REPO's own check reports it
		}
		want = r.Name()
	}
	var (
		tags  []string
		repos []string // every repository named, in order, each once
		first string   // the first reference's repository, as written
	)
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		t, err := name.NewTag(ref)
		if err != nil {
			return "", nil, fmt.Errorf("tag %q must be a reference repository:tag: %w", ref, err)
		}
		got := t.Context().Name()
		if !slices.Contains(repos, got) {
			repos = append(repos, got)
		}
		if first == "" {
			first = strings.TrimSuffix(ref, ":"+t.TagStr())
		}
		if want == "" || got == want {
			tags = append(tags, t.TagStr())
		}
	}
	switch {
	case len(refs) == 0:
		return "", nil, nil
	case want != "" && len(tags) == 0:
		return "", nil, fmt.Errorf("no tag is of XGO_REPO=%s, only of %s", repo, strings.Join(repos, ", "))
	case want == "" && len(repos) > 1:
		return "", nil, fmt.Errorf("the tags are of %d repositories (%s): set XGO_REPO to the one to push to", len(repos), strings.Join(repos, ", "))
	}
	return first, tags, nil
}

// metadataLabels writes labels as an XGO_LABELS value, one key=value a line (so a value may
// hold commas), sorted by key. A label that holds a line break cannot be one line: it is an
// error.
func metadataLabels(labels map[string]string) (string, error) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if strings.ContainsAny(k+labels[k], "\r\n") {
			return "", fmt.Errorf("label %q holds a line break", k)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, labels[k])
	}
	return b.String(), nil
}

// metadataAnnotations writes metadata-action's annotations as an XGO_ANNOTATIONS value, one
// entry a line, leaving out the created time (see createdKey). An entry that holds a line
// break cannot be one line: it is an error.
func metadataAnnotations(entries []string) (string, error) {
	var b bytes.Buffer
	for _, e := range entries {
		if strings.ContainsAny(e, "\r\n") {
			return "", fmt.Errorf("entry %q holds a line break", e)
		}
		k, _, ok := strings.Cut(e, "=")
		if !ok {
			return "", fmt.Errorf("entry %q must be [scope:]key=value", e)
		}
		if _, key, scoped := strings.Cut(k, ":"); key == createdKey || (!scoped && k == createdKey) {
			continue
		}
		b.WriteString(strings.TrimSpace(e))
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "", nil
	}
	return b.String(), nil
}
