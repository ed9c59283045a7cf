package release

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GitHub Actions gives every step two files to append to: GITHUB_OUTPUT, the step's outputs
// (steps.<id>.outputs.<name>), and GITHUB_STEP_SUMMARY, Markdown shown on the run's page. A
// release that completed appends to each that is set; a failed one appends nothing.
//
// The outputs use the names of docker/build-push-action where it has them:
//
//	digest    the index digest, sha256:...
//	imageid   the same digest: a multi-platform image's ID is its index digest
//	metadata  the content of dist/release.json
//	image     the pushed reference, repo@sha256:...
//	tags      the tagged references, repo:tag, one a line (as docker/metadata-action's tags)

// writeGitHubFiles appends the outputs and the summary of the release rep to the files that
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY name (relative to dir), when they are set.
func writeGitHubFiles(dir string, getenv func(string) string, rep releaseReport) error {
	if path := getenv("GITHUB_OUTPUT"); path != "" {
		outputs, err := stepOutputs(rep)
		if err != nil {
			return err
		}
		if err := appendFile(dir, "GITHUB_OUTPUT", path, outputs); err != nil {
			return err
		}
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendFile(dir, "GITHUB_STEP_SUMMARY", path, []byte(stepSummary(rep))); err != nil {
			return err
		}
	}
	return nil
}

// appendFile appends data to the file path (relative to dir) that the variable name gives, in
// one write.
func appendFile(dir, name, path string, data []byte) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("writing to %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing to %s %q: %w", name, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing to %s %q: %w", name, path, err)
	}
	return nil
}

// stepOutputs returns the step outputs of rep in the format of GITHUB_OUTPUT.
func stepOutputs(rep releaseReport) ([]byte, error) {
	metadata, err := marshalReport(rep)
	if err != nil {
		return nil, fmt.Errorf("writing to GITHUB_OUTPUT: %w", err)
	}
	tags := make([]string, len(rep.Tags))
	for i, t := range rep.Tags {
		tags[i] = rep.Repository + ":" + t
	}
	var b strings.Builder
	for _, o := range [][2]string{
		{"digest", rep.Digest},
		{"imageid", rep.Digest},
		{"image", rep.Reference},
		{"tags", strings.Join(tags, "\n")},
		{"metadata", strings.TrimSuffix(string(metadata), "\n")},
	} {
		if err := writeOutput(&b, o[0], o[1]); err != nil {
			return nil, err
		}
	}
	return []byte(b.String()), nil
}

// writeOutput writes one output to b as GitHub reads GITHUB_OUTPUT: name=value, or, for a
// value of several lines, name<<DELIMITER, the value, and DELIMITER, with a random delimiter
// that is on no line of the value (as @actions/core writes outputs).
func writeOutput(b *strings.Builder, name, value string) error {
	if !strings.Contains(value, "\n") && !strings.Contains(value, "\r") {
		fmt.Fprintf(b, "%s=%s\n", name, value)
		return nil
	}
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return fmt.Errorf("writing the %s output to GITHUB_OUTPUT: %w", name, err)
	}
	delim := "ghadelimiter_" + hex.EncodeToString(random[:])
	if strings.Contains(value, delim) {
		return fmt.Errorf("writing the %s output to GITHUB_OUTPUT: the value holds the delimiter %s", name, delim)
	}
	fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
	return nil
}

// stepSummary returns the Markdown job summary of rep: the reference, the tags, the upload,
// and a table of the platforms.
func stepSummary(rep releaseReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Released `%s`\n\n", rep.Reference)
	tags := make([]string, len(rep.Tags))
	for i, t := range rep.Tags {
		tags[i] = "`" + t + "`"
	}
	fmt.Fprintf(&b, "Tags %s; %d blobs uploaded (%s), %d the registry had (%s); %.1fs on %d cores.\n\n",
		strings.Join(tags, ", "), rep.BlobsUploaded, formatSize(rep.BytesUploaded), rep.BlobsSkipped, formatSize(rep.BytesSkipped), rep.Seconds, rep.Cores)
	b.WriteString("| platform | binary size | build | build CPU | manifest |\n|---|--:|--:|--:|---|\n")
	for _, p := range rep.Platforms {
		fmt.Fprintf(&b, "| `%s` | %s | %.1fs | %.1fs | `%s` |\n", p.Platform, formatSize(p.Size), p.BuildSeconds, p.BuildCPUSeconds, p.Manifest)
	}
	b.WriteString("\n")
	return b.String()
}
