package bench

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

const helloSrc = `// Command hello prints a greeting.
package main

import "fmt"

func main() {
	fmt.Println("hello")
}
`

func TestWithEditBlock(t *testing.T) {
	got, err := withEditBlock([]byte(helloSrc))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), helloSrc) || !strings.Contains(string(got), "\nvar benchEdit = \"edit 0\"\n") {
		t.Errorf("withEditBlock did not append the block at edit 0:\n%s", got)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "main.go", got, parser.AllErrors); err != nil {
		t.Errorf("the file with the block does not parse: %v\n%s", err, got)
	}
	if _, err := withEditBlock(got); err == nil {
		t.Error("withEditBlock added a second block")
	}
	if _, err := withEditBlock([]byte("package lib\n")); err == nil || !strings.Contains(err.Error(), "not of package main") {
		t.Errorf("withEditBlock on another package: err = %v", err)
	}
}

func TestEdited(t *testing.T) {
	src, err := withEditBlock([]byte(helloSrc))
	if err != nil {
		t.Fatal(err)
	}
	prev := src
	for _, n := range []int{1, 12, 0} {
		got, err := edited(prev, n)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(string(src), `"edit 0"`, `"edit `+strconv.Itoa(n)+`"`, 1)
		if string(got) != want {
			t.Errorf("edited(src, %d) =\n%s\nwant\n%s", n, got, want)
		}
		prev = got
	}
	// Each run's edit is one line different from the previous run's.
	a, _ := edited(src, 3)
	b, _ := edited(src, 4)
	if diff := lineDiff(string(a), string(b)); len(diff) != 1 || diff[0] != `var benchEdit = "edit 4"` {
		t.Errorf("edits 3 and 4 differ in %q, want the one benchEdit line", diff)
	}
	if _, err := edited([]byte(helloSrc), 1); err == nil || !strings.Contains(err.Error(), "0 benchEdit lines") {
		t.Errorf("edited without the block: err = %v", err)
	}
	twice := string(src) + "var benchEdit = \"edit 9\"\n"
	if _, err := edited([]byte(twice), 1); err == nil || !strings.Contains(err.Error(), "2 benchEdit lines") {
		t.Errorf("edited with two lines: err = %v", err)
	}
}

// lineDiff returns the lines of b that differ from a's at the same place.
func lineDiff(a, b string) []string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var diff []string
	for i := range bl {
		if i >= len(al) || al[i] != bl[i] {
			diff = append(diff, bl[i])
		}
	}
	return diff
}

func TestEditNote(t *testing.T) {
	c := Case{Group: groupEdit, Name: "midsize, 8 platforms, push, one line changed",
		Ours: Side{Tool: "mage release", Samples: []Sample{
			{Seconds: 4.0, Compile: &CompileWork{BuildCPU: 7.8, Cores: 2, RunSeconds: 3.9}}, // 1.026x, release 1.0x
			{Seconds: 4.4, Compile: &CompileWork{BuildCPU: 8.0, Cores: 2, RunSeconds: 4.2}}, // 1.1x, release 1.05x
			{Seconds: 4.2, Compile: &CompileWork{BuildCPU: 8.0, Cores: 2, RunSeconds: 4.1}}, // 1.05x, release 1.025x
		}},
		Theirs: Side{Tool: "ko build", Samples: []Sample{{Seconds: 5.0}, {Seconds: 6.0}, {Seconds: 4.8}}},
	}
	got := editNote(c)
	want := "Release vs ko, one line changed, midsize, 8 platforms, push, one line changed: mage release took 4.20 s (median of 3 runs), " +
		"ko build 5.00 s (3 runs): 0.84x (goal at most 0.90x: met); " +
		"the whole run took 1.05x its compile work of 4.00 s (median of 3 runs; the release itself 1.02x; goal at most 1.05x: met)."
	if got != want {
		t.Errorf("editNote =\n%s\nwant\n%s", got, want)
	}
	c.Theirs.Samples = []Sample{{Seconds: 4.5}}
	c.Ours.Samples[2].Seconds = 4.4
	got = editNote(c)
	for _, want := range []string{"0.98x (goal at most 0.90x: missed)", "1.10x its compile work", "goal at most 1.05x: missed"} {
		if !strings.Contains(got, want) {
			t.Errorf("editNote lacks %q:\n%s", want, got)
		}
	}
	c.Ours.Samples = nil
	if got := editNote(c); !strings.Contains(got, "(goal at most 0.90x: not measured)") || !strings.Contains(got, "goal at most 1.05x: not measured") {
		t.Errorf("editNote without our runs: %s", got)
	}
}
