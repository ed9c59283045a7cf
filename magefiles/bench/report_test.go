package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

// sampleResults is a run with one case per group, as the bench records them.
func sampleResults() Results {
	side := func(tool string, secs ...float64) Side {
		s := Side{Tool: tool}
		for i, v := range secs {
			s.Samples = append(s.Samples, Sample{Seconds: v, CPU: 2 * v, MaxRSS: int64(100e6 * (i + 1)), Iterated: i + 1})
		}
		return s
	}
	r := Results{
		Started:  time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC),
		Seconds:  1200,
		Machine:  Machine{CPUs: 2, CPUModel: "AMD EPYC", MemoryBytes: 24e9, OS: "Debian GNU/Linux 12 (bookworm) amd64", Kernel: "6.1.0"},
		Versions: []Version{{"Go", "go1.26.8"}, {"ko", "v0.19.1"}},
		Cases: []Case{
			{Group: "Native vs emulated", Name: "midsize, linux/arm64, cold cache",
				Ours: side("xgo-build", 15.0, 14.0, 16.0), Theirs: side("go under qemu-user", 158, 150, 167)},
			{Group: "Release vs ko", Name: "hello, 8 platforms, warm <&>",
				Ours: side("mage release", 0.40, 0.30), Theirs: side("ko build", 1.2, 1.1)},
			{Group: "Shim overhead", Name: "hello, linux/arm64, warm",
				Ours: side("xgo-build", 0.101), Theirs: side("go build", 0.100)},
		},
		Notes: []string{"Peak memory is per process."},
	}
	r.summarize()
	return r
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	writeMarkdown(&b, sampleResults(), "chart.svg")
	md := b.String()
	for _, want := range []string{
		"![median seconds per case, ours against the alternative](chart.svg)\n",
		"| Native vs emulated: midsize, linux/arm64, cold cache | xgo-build | 15.0 s (14.0 s-16.0 s) | go under qemu-user | 158 s (150 s-167 s) | 0.09x (10.5x faster) | 30.0 s / 316 s | 300 MB / 300 MB | 3 / 3 |\n",
		"| Release vs ko: hello, 8 platforms, warm <&> | mage release | 350.0 ms (300.0 ms-400.0 ms) | ko build | 1.15 s (1.10 s-1.20 s) | 0.30x (3.3x faster) | 700.0 ms / 2.30 s | 200 MB / 200 MB | 2 / 2 |\n",
		"| Shim overhead: hello, linux/arm64, warm | xgo-build | 101.0 ms (101.0 ms-101.0 ms) | go build | 100.0 ms (100.0 ms-100.0 ms) | 1.01x (1% more time) | 202.0 ms / 200.0 ms | 100 MB / 100 MB | 1 / 1 |\n",
		"- Machine: 2 CPUs (AMD EPYC), 24000 MB memory, Debian GNU/Linux 12 (bookworm) amd64, kernel 6.1.0\n",
		"- ko: v0.19.1\n",
		"- Peak memory is per process.\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q; got:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Quick mode") {
		t.Errorf("a full run is labelled quick:\n%s", md)
	}
	r := sampleResults()
	r.Quick = true
	b.Reset()
	writeMarkdown(&b, r, "")
	if !strings.Contains(b.String(), "Quick mode") || strings.Contains(b.String(), "![") {
		t.Errorf("quick run without chart: got\n%s", b.String())
	}
}

func TestCellEscapesPipes(t *testing.T) {
	if got, want := cell("a|b\nc"), `a\|b c`; got != want {
		t.Errorf("cell = %q, want %q", got, want)
	}
}

func TestRatioWords(t *testing.T) {
	tests := []struct {
		r    float64
		want string
	}{
		{0.1, "10.0x faster"},
		{0.5, "2.0x faster"},
		{0.75, "25% less time"},
		{1.0, "same time"},
		{1.2, "20% more time"},
		{3, "3.0x slower"},
	}
	for _, tt := range tests {
		if got := ratioWords(tt.r); got != tt.want {
			t.Errorf("ratioWords(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

// svgElement is the part of an SVG element the chart test looks at.
type svgElement struct {
	name  string
	attrs map[string]string
	text  string
}

// parseSVG decodes svg strictly and returns its elements in document order.
func parseSVG(t *testing.T, svg []byte) []svgElement {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	d.Strict = true
	var els []svgElement
	var open []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElement{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			els = append(els, e)
			open = append(open, len(els)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				els[open[len(open)-1]].text += string(tok)
			}
		}
	}
	return els
}

func TestChart(t *testing.T) {
	r := sampleResults()
	els := parseSVG(t, Chart(r))
	if els[0].name != "svg" || els[0].attrs["viewBox"] == "" {
		t.Fatalf("root element = %+v, want an svg with a viewBox", els[0])
	}
	texts := map[string]bool{}
	var barWidths []string
	for _, e := range els {
		if e.name == "text" {
			texts[e.text] = true
		}
		if e.name == "rect" && (e.attrs["fill"] == oursColor || e.attrs["fill"] == theirsColor) && e.attrs["height"] == "18" {
			barWidths = append(barWidths, e.attrs["width"])
		}
	}
	for _, want := range []string{
		"Native vs emulated", "midsize, linux/arm64, cold cache", "hello, 8 platforms, warm <&>",
		"15.0 s", "158 s", "350.0 ms", "1.15 s", "0.09x", "10.5x faster", "0.30x", "1.01x", "1% more time",
		"xgo-build", "go under qemu-user", "ko build",
	} {
		if !texts[want] {
			t.Errorf("chart has no text %q", want)
		}
	}
	// Two bars per case; each row's scale is its largest max, so the widths follow from the
	// figures: 15/167*360, 158/167*360, 0.35/1.2*360, 1.15/1.2*360, 0.101/0.101*360, 0.1/0.101*360.
	want := []string{"32.3", "340.6", "105.0", "345.0", "360.0", "356.4"}
	if strings.Join(barWidths, " ") != strings.Join(want, " ") {
		t.Errorf("bar widths = %v, want %v", barWidths, want)
	}
}

func TestChartUnmeasuredSide(t *testing.T) {
	r := sampleResults()
	r.Cases[0].Theirs.Samples = nil
	r.summarize()
	els := parseSVG(t, Chart(r))
	found := false
	for _, e := range els {
		if e.name == "text" && e.text == "go under qemu-user: not measured" {
			found = true
		}
	}
	if !found {
		t.Errorf("a side without samples is not labelled as not measured")
	}
}

func TestVersionLines(t *testing.T) {
	long := strings.Repeat("x", 130)
	got := versionLines([]Version{{"Go", "go1.26.8"}, {"ko", "v0.19.1"}, {"QEMU", long}, {"registry", "v3.0.0"}})
	want := []string{"Go go1.26.8; ko v0.19.1", "QEMU " + long, "registry v3.0.0"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("versionLines = %q, want %q", got, want)
	}
	if got := versionLines(nil); len(got) != 1 || got[0] != "" {
		t.Errorf("versionLines(nil) = %q, want one empty line", got)
	}
}
