package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Results is everything one bench run measured and the conditions it ran under.
type Results struct {
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"` // the whole run, setup included
	Quick    bool      `json:"quick"`
	Machine  Machine   `json:"machine"`
	Versions []Version `json:"versions"`
	Cases    []Case    `json:"cases"`
	Notes    []string  `json:"notes"`
}

// Version names one tool the run used and the version it reported.
type Version struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Case is one comparison: the same work done by our tool and by the alternative.
type Case struct {
	Group  string `json:"group"` // "Native vs emulated", "Release vs ko", "Shim overhead"
	Name   string `json:"name"`  // what was built and how, e.g. "hello, linux/arm64, cold cache"
	Ours   Side   `json:"ours"`
	Theirs Side   `json:"theirs"`
}

// Side is one tool's runs of a case.
type Side struct {
	Tool    string   `json:"tool"`
	Samples []Sample `json:"samples"`
	Summary Summary  `json:"summary"`
}

// Ratio returns our median time over theirs.
func (c Case) Ratio() float64 { return Ratio(c.Ours.Summary.Median, c.Theirs.Summary.Median) }

// summarize fills in the summaries of every case from its samples.
func (r *Results) summarize() {
	for i := range r.Cases {
		r.Cases[i].Ours.Summary = Summarize(r.Cases[i].Ours.Samples)
		r.Cases[i].Theirs.Summary = Summarize(r.Cases[i].Theirs.Samples)
	}
}

// writeResults writes results.md, chart.svg and results.json into dir, each atomically (a
// temporary file renamed into place), so an interrupted run leaves the previous files whole.
func writeResults(dir string, r Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	var md bytes.Buffer
	writeMarkdown(&md, r, "chart.svg")
	files := []struct {
		name string
		data []byte
	}{
		{"results.json", append(js, '\n')},
		{"results.md", md.Bytes()},
		{"chart.svg", Chart(r)},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = tmp.Write(data)
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
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
