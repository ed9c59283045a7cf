package bench

import (
	"math"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 1, 100}, 1},
		{[]float64{2.5, 0.5}, 1.5},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.in...)
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", in, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.in[i] {
				t.Errorf("Median(%v) reordered its input to %v", in, tt.in)
				break
			}
		}
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize([]Sample{
		{Seconds: 4.0, CPU: 1, MaxRSS: 100},
		{Seconds: 1.5, CPU: 5, MaxRSS: 300},
		{Seconds: 2.0, CPU: 2, MaxRSS: 200},
		{Seconds: 9.0, CPU: 3, MaxRSS: 50},
	})
	want := Summary{N: 4, Median: 3.0, Min: 1.5, Max: 9.0, CPU: 2.5, PeakRSS: 300}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want the zero Summary", got)
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		ours, theirs, want float64
	}{
		{9, 45, 0.2},
		{10, 5, 2},
		{0, 5, 0},
	}
	for _, tt := range tests {
		if got := Ratio(tt.ours, tt.theirs); got != tt.want {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tt.ours, tt.theirs, got, tt.want)
		}
	}
	for _, theirs := range []float64{0, -1, math.NaN()} {
		if got := Ratio(1, theirs); !math.IsNaN(got) {
			t.Errorf("Ratio(1, %v) = %v, want NaN", theirs, got)
		}
	}
}

func TestDigestNote(t *testing.T) {
	same := []Sample{{Digest: "sha256:aa"}, {Digest: "sha256:aa"}}
	if got, want := digestNote("hello", "ko build", same, same[:1]), "hello, ko build: the same index digest in all 3 runs (sha256:aa)."; got != want {
		t.Errorf("digestNote = %q, want %q", got, want)
	}
	differ := []Sample{{Digest: "sha256:aa"}, {Digest: "sha256:bb"}, {Digest: "sha256:aa"}}
	if got, want := digestNote("hello", "mage release", differ), "hello, mage release: 2 different index digests in 3 runs (sha256:aa, sha256:bb)."; got != want {
		t.Errorf("digestNote = %q, want %q", got, want)
	}
}

func TestSortCases(t *testing.T) {
	cases := []Case{
		{Group: "Native vs emulated", Name: "hello"}, {Group: "Release vs ko", Name: "hello cold"},
		{Group: "Release vs ko", Name: "hello warm"}, {Group: "Shim overhead", Name: "hello"},
		{Group: "Native vs emulated", Name: "midsize"}, {Group: "Release vs ko", Name: "midsize cold"},
		{Group: "Release vs ko", Name: "midsize warm"}, {Group: "Shim overhead", Name: "midsize"},
	}
	sortCases(cases)
	var got []string
	for _, c := range cases {
		got = append(got, c.Group+": "+c.Name)
	}
	want := []string{
		"Native vs emulated: hello", "Native vs emulated: midsize",
		"Release vs ko: hello cold", "Release vs ko: hello warm", "Release vs ko: midsize cold", "Release vs ko: midsize warm",
		"Shim overhead: hello", "Shim overhead: midsize",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sorted cases:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
