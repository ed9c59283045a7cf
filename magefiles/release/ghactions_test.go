package release

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseGitHubOutput reads a GITHUB_OUTPUT file as the Actions runner does: name=value lines,
// and name<<DELIMITER ... DELIMITER blocks for values of several lines. It fails the test on
// anything else, and on a name given twice.
func parseGitHubOutput(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		var name, value string
		switch {
		case eq > 0 && (heredoc < 0 || eq < heredoc):
			name, value = line[:eq], line[eq+1:]
		case heredoc > 0:
			name = line[:heredoc]
			delim := line[heredoc+2:]
			var vs []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				vs = append(vs, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("GITHUB_OUTPUT: %s<<%s has no closing delimiter:\n%s", name, delim, data)
			}
			value = strings.Join(vs, "\n")
		default:
			t.Fatalf("GITHUB_OUTPUT: line %d %q is neither name=value nor name<<DELIMITER:\n%s", i+1, line, data)
		}
		if _, ok := out[name]; ok {
			t.Fatalf("GITHUB_OUTPUT: %s given twice:\n%s", name, data)
		}
		out[name] = value
	}
	return out
}

// testReport is a release of two platforms with two tags.
var testReport = releaseReport{
	Repository: "r.example/app", Digest: "sha256:ab", Reference: "r.example/app@sha256:ab",
	Tags: []string{"1.2.3", "latest"}, Created: "1970-01-02T00:00:00Z", Base: "scratch",
	Platforms: []platformReport{
		{Platform: "linux/amd64", Manifest: "sha256:a1", Binary: "bin/linux_amd64/app", Size: 2048, BuildSeconds: 1.25, BuildCPUSeconds: 2},
		{Platform: "linux/arm/v7", Manifest: "sha256:a2", Binary: "bin/linux_arm_v7/app", Size: 3 << 20, BuildSeconds: 2.5, BuildCPUSeconds: 3},
	},
	BlobsUploaded: 4, BytesUploaded: 5000, Seconds: 3.5, Cores: 2,
}

func TestStepOutputs(t *testing.T) {
	data, err := stepOutputs(testReport)
	if err != nil {
		t.Fatal(err)
	}
	got := parseGitHubOutput(t, string(data))
	metadata, err := marshalReport(testReport)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"digest":   "sha256:ab",
		"imageid":  "sha256:ab",
		"image":    "r.example/app@sha256:ab",
		"tags":     "r.example/app:1.2.3\nr.example/app:latest",
		"metadata": strings.TrimSuffix(string(metadata), "\n"),
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("output %s = %q, want %q", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("outputs %q, want only %d", got, len(want))
	}
	var rep releaseReport
	if err := json.Unmarshal([]byte(got["metadata"]), &rep); err != nil || rep.SchemaVersion != reportSchema || rep.Reference != testReport.Reference {
		t.Errorf("metadata output is not release.json: %v\n%s", err, got["metadata"])
	}
	// The delimiters are random: another write uses others.
	again, err := stepOutputs(testReport)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) == string(data) {
		t.Errorf("two writes of the outputs use the same delimiters:\n%s", data)
	}
}

func TestWriteOutput(t *testing.T) {
	for _, tt := range []struct {
		value  string
		inline bool
	}{
		{"sha256:ab", true},
		{"", true},
		{"a\nb", false},
		{"a\r\nb", false},
		{"=<<x=\n", false},
	} {
		var b strings.Builder
		if err := writeOutput(&b, "name", tt.value); err != nil {
			t.Fatal(err)
		}
		if inline := strings.HasPrefix(b.String(), "name="); inline != tt.inline {
			t.Errorf("value %q written as %q: inline %v, want %v", tt.value, b.String(), inline, tt.inline)
		}
		if !tt.inline && !strings.HasPrefix(b.String(), "name<<ghadelimiter_") {
			t.Errorf("value %q written as %q, want name<<ghadelimiter_...", tt.value, b.String())
		}
		if got := parseGitHubOutput(t, b.String())["name"]; got != tt.value && !strings.Contains(tt.value, "\r") {
			t.Errorf("value %q reads back as %q", tt.value, got)
		}
	}
}

func TestStepSummary(t *testing.T) {
	s := stepSummary(testReport)
	for _, want := range []string{
		"### Released `r.example/app@sha256:ab`\n",
		"Tags `1.2.3`, `latest`; 4 blobs uploaded (4.9 KiB), 0 the registry had (0 B); 3.5s on 2 cores.\n",
		"| platform | binary size | build | build CPU | manifest |\n|---|--:|--:|--:|---|\n" +
			"| `linux/amd64` | 2.0 KiB | 1.2s | 2.0s | `sha256:a1` |\n" +
			"| `linux/arm/v7` | 3.0 MiB | 2.5s | 3.0s | `sha256:a2` |\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

// TestWriteGitHubFiles checks that the outputs and the summary are appended to what the files
// hold (other steps' lines stay), to a path relative to the project directory too, and that
// nothing is written when the variables are unset.
func TestWriteGitHubFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "output"), []byte("other=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(dir, "summary.md")
	env := envMap(map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_STEP_SUMMARY": summary})
	if err := writeGitHubFiles(dir, env, testReport); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	if got := parseGitHubOutput(t, string(data)); got["other"] != "1" || got["image"] != testReport.Reference {
		t.Errorf("GITHUB_OUTPUT holds %q", got)
	}
	md, err := os.ReadFile(summary)
	if err != nil || string(md) != stepSummary(testReport) {
		t.Errorf("GITHUB_STEP_SUMMARY holds %q, %v", md, err)
	}

	empty := t.TempDir()
	if err := writeGitHubFiles(empty, envMap(nil), testReport); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("without GITHUB_OUTPUT and GITHUB_STEP_SUMMARY the run wrote %v", entries)
	}
	err = writeGitHubFiles(dir, envMap(map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "no", "such", "dir")}), testReport)
	if err == nil || !strings.HasPrefix(err.Error(), "writing to GITHUB_OUTPUT: ") {
		t.Errorf("unwritable GITHUB_OUTPUT: error %v, want one naming GITHUB_OUTPUT", err)
	}
}
