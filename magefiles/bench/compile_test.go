package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCompileWork(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "release.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"digest": "sha256:ab", "seconds": 3.5, "cores": 2, "platforms": [
		{"platform": "linux/amd64", "build_cpu_seconds": 1.25},
		{"platform": "linux/arm64", "build_cpu_seconds": 1.75}]}`)
	w, err := readCompileWork(path)
	if err != nil {
		t.Fatal(err)
	}
	if w != (CompileWork{BuildCPU: 3, Cores: 2, RunSeconds: 3.5}) || w.Seconds() != 1.5 {
		t.Errorf("readCompileWork = %+v (%v s of work), want 3 s CPU, 2 cores, run 3.5 s (1.5 s)", w, w.Seconds())
	}
	// A release.json from before the CPU time was recorded is an error, not a zero ratio.
	write(`{"digest": "sha256:ab", "platforms": [{"platform": "linux/amd64", "build_seconds": 1}]}`)
	if _, err := readCompileWork(path); err == nil || !strings.Contains(err.Error(), "no build CPU time") {
		t.Errorf("release.json without CPU time: err = %v", err)
	}
	write(`{`)
	if _, err := readCompileWork(path); err == nil {
		t.Error("truncated release.json: no error")
	}
}

func TestWriteCompileWork(t *testing.T) {
	r := sampleResults()
	var b bytes.Buffer
	writeMarkdown(&b, r, "")
	if strings.Contains(b.String(), "compile work") {
		t.Errorf("results without compile work show the section:\n%s", b.String())
	}
	c := &r.Cases[1]                                                                    // the release case
	c.Ours.Samples[0].Compile = &CompileWork{BuildCPU: 0.6, Cores: 2, RunSeconds: 0.33} // wall 0.40 s
	c.Ours.Samples[1].Compile = &CompileWork{BuildCPU: 0.5, Cores: 2, RunSeconds: 0.25} // wall 0.30 s
	b.Reset()
	writeMarkdown(&b, r, "")
	// Ratios per run: whole 0.40/0.30 = 1.333 and 0.30/0.25 = 1.2; release 1.1 and 1.0.
	want := "| Release vs ko: hello, 8 platforms, warm <&> | 550.0 ms | 275.0 ms | 1.27x | 1.05x | 2 |\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("markdown lacks %q; got:\n%s", want, b.String())
	}
}
