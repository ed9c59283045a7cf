package release

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// platformReport is one platform's line of the summary and of release.json.
type platformReport struct {
	Platform     string  `json:"platform"`
	Manifest     string  `json:"manifest_digest,omitempty"`
	Binary       string  `json:"binary"` // path relative to the dist directory
	Size         int64   `json:"binary_size"`
	BuildSeconds float64 `json:"build_seconds"`
	// BuildCPUSeconds is the CPU time (user and system) of the platform's go build, its
	// compiler and linker processes included.
	BuildCPUSeconds float64 `json:"build_cpu_seconds"`
	// Smoke is how the binary's smoke run went (XGO_SMOKE): "ok", or "not run: <why>";
	// omitted without XGO_SMOKE.
	Smoke string `json:"smoke,omitempty"`
	// SBOM and Provenance are the manifest digests of the image's attestations, the OCI
	// referrers of Manifest (XGO_SBOM, XGO_PROVENANCE); omitted for one turned off.
	SBOM       string `json:"sbom_digest,omitempty"`
	Provenance string `json:"provenance_digest,omitempty"`
}

// reportSchema is the schema_version of dist/release.json: it changes when a field is
// removed or changes its meaning, not when one is added.
const reportSchema = 1

// releaseReport is the content of dist/release.json, written after a successful push; the
// README's table of its fields is checked against the json names here.
type releaseReport struct {
	SchemaVersion int              `json:"schema_version"` // reportSchema, set by marshalReport
	Repository    string           `json:"repository"`
	Digest        string           `json:"digest"`    // index digest
	Reference     string           `json:"reference"` // repository@digest
	Tags          []string         `json:"tags"`      // tags pushed
	Version       string           `json:"version,omitempty"`
	Revision      string           `json:"revision,omitempty"`
	Created       string           `json:"created"`
	Base          string           `json:"base"`
	BaseDigest    string           `json:"base_digest,omitempty"`
	Platforms     []platformReport `json:"platforms"`
	BlobsUploaded int              `json:"blobs_uploaded"`
	BlobsSkipped  int              `json:"blobs_skipped"`
	BytesUploaded int64            `json:"bytes_uploaded"`
	BytesSkipped  int64            `json:"bytes_skipped"`
	// Seconds is the wall time of the whole run, from reading the configuration to the push
	// of the last tag; Cores is the number of CPUs the builds shared.
	Seconds float64 `json:"seconds"`
	Cores   int     `json:"cores"`
}

// newPlatformReport describes one built binary; the caller adds its image manifest.
func newPlatformReport(dist string, r buildResult) platformReport {
	rel, err := filepath.Rel(dist, r.Path)
	if err != nil {
		rel = r.Path
	}
	return platformReport{
		Platform:        r.Platform.String(),
		Binary:          filepath.ToSlash(rel),
		Size:            r.Size,
		BuildSeconds:    r.Duration.Round(time.Millisecond).Seconds(),
		BuildCPUSeconds: r.CPU.Round(time.Millisecond).Seconds(),
	}
}

// progressLine is the line printed when a platform's binary is built and verified.
func progressLine(r buildResult) string {
	return fmt.Sprintf("built %-22s %7.1fs %10s", r.Platform, r.Duration.Seconds(), formatSize(r.Size))
}

// formatSize shows n bytes in binary units with one decimal.
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// writeSummary prints the table of platforms, the total build time against wall time, and the
// compile work (the CPU time of the go builds spread over cores) against wall time: a run that
// wastes nothing takes little longer than its compile work.
func writeSummary(w io.Writer, rows []platformReport, wall time.Duration, cores int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	withManifest := len(rows) > 0 && rows[0].Manifest != ""
	header := "PLATFORM\tBUILD\tSIZE\t"
	if withManifest {
		header += "MANIFEST\t"
	}
	fmt.Fprintln(tw, header)
	var sum, cpu float64
	var size int64
	for _, r := range rows {
		line := fmt.Sprintf("%s\t%.1fs\t%s\t", r.Platform, r.BuildSeconds, formatSize(r.Size))
		if withManifest {
			line += shortDigest(r.Manifest) + "\t"
		}
		fmt.Fprintln(tw, line)
		sum += r.BuildSeconds
		cpu += r.BuildCPUSeconds
		size += r.Size
	}
	fmt.Fprintf(tw, "%d platforms\t%.1fs\t%s\t\n", len(rows), sum, formatSize(size))
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "builds took %.1fs in sum, the whole run %.1fs\n", sum, wall.Seconds()); err != nil {
		return err
	}
	cores = max(cores, 1)
	work := cpu / float64(cores)
	unit := "cores"
	if cores == 1 {
		unit = "core"
	}
	line := fmt.Sprintf("compile work: %.1fs of go build CPU time, %.1fs over %d %s", cpu, work, cores, unit)
	if work > 0 {
		line += fmt.Sprintf("; the whole run took %.2fx that", wall.Seconds()/work)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// shortDigest abbreviates "sha256:<hex>" to the algorithm and 12 hex digits.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}

// marshalReport returns r as release.json holds it: indented JSON of schema reportSchema,
// with a final newline.
func marshalReport(r releaseReport) ([]byte, error) {
	r.SchemaVersion = reportSchema
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// writeReport writes r as marshalReport gives it to path atomically: a reader sees the old
// file or the complete new one, never a partial file.
func writeReport(path string, r releaseReport) error {
	data, err := marshalReport(r)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".release-*.json")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
