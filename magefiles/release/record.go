package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A by-digest release (XGO_PUSH_BY_DIGEST=true) pushes its platforms' manifests and writes
// what it pushed to dist/digests-<platforms>.json, a digest record; merge reads the records of
// every job and pushes the index that one release of all their platforms would push. A record
// holds everything the index needs (each manifest's descriptor, the index annotations), what
// release.json says of each platform's build, and the attestations pushed with each manifest.

// recordKind is the kind of a digest record, and recordSchema its schema_version: it
// changes when a field is removed or changes its meaning, not when one is added.
const (
	recordKind   = "xgo-build digest record"
	recordSchema = 1
)

// digestRecord is the content of dist/digests-<platforms>.json.
type digestRecord struct {
	Kind          string `json:"kind"`           // recordKind
	SchemaVersion int    `json:"schema_version"` // recordSchema
	Repository    string `json:"repository"`     // where the manifests are
	Revision      string `json:"revision,omitempty"`
	Version       string `json:"version,omitempty"` // the git tag on HEAD, which the tags come from
	Created       string `json:"created"`
	Base          string `json:"base"`
	BaseDigest    string `json:"base_digest,omitempty"`
	// IndexAnnotations are the annotations the index of the release would have had.
	IndexAnnotations map[string]string `json:"index_annotations"`
	Platforms        []pushedManifest  `json:"platforms"`
}

// pushedManifest is one platform manifest a by-digest release pushed: its descriptor in the
// index to come, its annotations, and its build.
type pushedManifest struct {
	Platform    string            `json:"platform"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	MediaType   string            `json:"media_type"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Build       platformReport    `json:"build"` // as release.json shows it
	// Referrers are the manifest's attestations, pushed after it: merge checks that the
	// registry has them.
	Referrers []pushedReferrer `json:"referrers,omitempty"`
}

// pushedReferrer is a referrer (an attestation) of a manifest that a by-digest release pushed.
type pushedReferrer struct {
	ArtifactType string `json:"artifact_type"`
	Digest       string `json:"digest"`
	Size         int64  `json:"size"`
	MediaType    string `json:"media_type"`
}

// referrersBySubject returns the descriptors of referrers by the digest of their subject.
func referrersBySubject(referrers []v1.Image) (map[v1.Hash][]pushedReferrer, error) {
	out := map[v1.Hash][]pushedReferrer{}
	for _, ref := range referrers {
		m, err := ref.Manifest()
		if err != nil {
			return nil, err
		}
		if m.Subject == nil {
			return nil, errors.New("a referrer without a subject")
		}
		d, err := describe(ref)
		if err != nil {
			return nil, err
		}
		out[m.Subject.Digest] = append(out[m.Subject.Digest], pushedReferrer{
			ArtifactType: m.ArtifactType, Digest: d.Digest.String(), Size: d.Size, MediaType: string(d.MediaType),
		})
	}
	return out, nil
}

// recordPrefix begins the file name of every record, which merge looks for in a directory.
const recordPrefix = "digests-"

// recordName is the file name of the record of a release of targets:
// digests-<os>_<arch>[_<variant>].json, the platforms joined by "+", so that the records of
// jobs of different platforms can be put in one directory.
func recordName(targets []target) string {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = platformDir(t.Platform)
	}
	return recordPrefix + strings.Join(names, "+") + ".json"
}

// writeRecord writes rec as indented JSON to path atomically.
func writeRecord(path string, rec digestRecord) error {
	rec.Kind, rec.SchemaVersion = recordKind, recordSchema
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".digests-*.json")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// readRecord reads the digest record path.
func readRecord(path string) (digestRecord, error) {
	var rec digestRecord
	data, err := os.ReadFile(path)
	if err != nil {
		return rec, fmt.Errorf("reading the record %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("reading the record %s: %w", path, err)
	}
	switch {
	case rec.Kind != recordKind:
		return rec, fmt.Errorf("reading the record %s: not a digest record of xgo-build (kind %q, want %q)", path, rec.Kind, recordKind)
	case rec.SchemaVersion != recordSchema:
		return rec, fmt.Errorf("reading the record %s: schema_version %d, this xgo-build reads %d", path, rec.SchemaVersion, recordSchema)
	case len(rec.Platforms) == 0:
		return rec, fmt.Errorf("reading the record %s: it lists no platform", path)
	}
	return rec, nil
}

// recordFiles returns the record files that XGO_MERGE names (value): comma-separated files and
// directories, relative to dir; a directory gives every digests-*.json in it or below it, in
// lexical order. A directory without one, or a name that is neither, is an error.
func recordFiles(dir, value string) ([]string, error) {
	var files []string
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, errors.New("empty entry in the list")
		}
		path := entry
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", entry, errors.Unwrap(err))
		}
		if !fi.IsDir() {
			files = append(files, path)
			continue
		}
		n := len(files)
		err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasPrefix(d.Name(), recordPrefix) && strings.HasSuffix(d.Name(), ".json") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%q: %w", entry, err)
		}
		if len(files) == n {
			return nil, fmt.Errorf("directory %q holds no %s*.json record", entry, recordPrefix)
		}
	}
	return files, nil
}
