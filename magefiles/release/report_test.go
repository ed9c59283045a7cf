package release

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		2_500_000: "2.4 MiB", 1 << 30: "1.0 GiB", 5 << 40: "5.0 TiB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	rows := []platformReport{
		{Platform: "linux/amd64", Manifest: "sha256:0123456789abcdef0123", Size: 2 << 20, BuildSeconds: 1.25, BuildCPUSeconds: 2.0},
		{Platform: "linux/arm/v7", Manifest: "sha256:fedcba9876543210fedc", Size: 1 << 20, BuildSeconds: 2.5, BuildCPUSeconds: 4.0},
	}
	var b strings.Builder
	if err := writeSummary(&b, rows, 3300*time.Millisecond, 2); err != nil {
		t.Fatal(err)
	}
	want := `   PLATFORM  BUILD     SIZE             MANIFEST
linux/amd64   1.2s  2.0 MiB  sha256:0123456789ab
linux/arm/v7   2.5s  1.0 MiB  sha256:fedcba987654
2 platforms   3.8s  3.0 MiB
builds took 3.8s in sum, the whole run 3.3s
compile work: 6.0s of go build CPU time, 3.0s over 2 cores; the whole run took 1.10x that
`
	got := b.String()
	// Compare the words of each line; column padding is tabwriter's.
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(gl) != len(wl) {
		t.Fatalf("summary has %d lines, want %d:\n%s", len(gl), len(wl), got)
	}
	for i := range gl {
		if strings.Join(strings.Fields(gl[i]), " ") != strings.Join(strings.Fields(wl[i]), " ") {
			t.Errorf("line %d = %q, want %q", i, gl[i], wl[i])
		}
	}
	b.Reset()
	rows[0].Manifest, rows[1].Manifest = "", ""
	rows[0].BuildCPUSeconds, rows[1].BuildCPUSeconds = 0, 0
	if err := writeSummary(&b, rows, time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "MANIFEST") {
		t.Errorf("binaries summary has a manifest column:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "compile work: 0.0s of go build CPU time, 0.0s over 1 core\n") {
		t.Errorf("summary without CPU time:\n%s", b.String())
	}
}

func TestWriteReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dist", "release.json")
	r := releaseReport{Repository: "r.example/app", Digest: "sha256:ab", Tags: []string{"latest"},
		Platforms: []platformReport{{Platform: "linux/amd64", Binary: "bin/linux_amd64/app", Size: 3, BuildSeconds: 0.5, BuildCPUSeconds: 0.75}},
		Seconds:   1.5, Cores: 2}
	if err := writeReport(path, r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	p := back["platforms"].([]any)[0].(map[string]any)
	if back["digest"] != "sha256:ab" || p["binary_size"] != 3.0 || p["build_seconds"] != 0.5 || p["platform"] != "linux/amd64" ||
		p["build_cpu_seconds"] != 0.75 || back["seconds"] != 1.5 || back["cores"] != 2.0 {
		t.Errorf("release.json = %s", data)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("dist holds %v, %v; want only release.json (no temporary file left)", entries, err)
	}
}

// TestReportFieldsDocumented checks that the README's table of dist/release.json names every
// field that releaseReport and platformReport write, and no other, and that a written report
// carries schema_version reportSchema.
func TestReportFieldsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n#### dist/release.json\n")
	if !ok {
		t.Fatal("README.md has no heading #### dist/release.json")
	}
	documented := map[string]bool{}
	inTable := false
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "|"), "|")
		for name := range strings.SplitSeq(first, ",") {
			if name = strings.TrimSpace(name); strings.HasPrefix(name, "`") {
				documented[strings.Trim(name, "`")] = true
			}
		}
	}
	written := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[releaseReport]()) {
		if name := jsonName(f); name != "-" {
			written[name] = true
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[platformReport]()) {
		if name := jsonName(f); name != "-" {
			written["platforms[]."+name] = true
		}
	}
	for name := range written {
		if !documented[name] {
			t.Errorf("release.json field %s is not in the README's table", name)
		}
	}
	for name := range documented {
		if !written[name] {
			t.Errorf("the README's table of release.json has %s, which release.json does not have", name)
		}
	}

	path := filepath.Join(t.TempDir(), "release.json")
	if err := writeReport(path, releaseReport{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil || back["schema_version"] != float64(reportSchema) || reportSchema != 1 {
		t.Errorf("release.json = %s (%v); want schema_version 1", data, err)
	}
}

// jsonName is the name encoding/json gives the field f, "-" for none.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}
