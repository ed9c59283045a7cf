package bench

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
)

// editBlock is what the edit cases append to the main.go of their copy of a program: a
// package variable holding a string that an init function reads, so that the string is in
// the binary. Changing its one line between builds, `var benchEdit = "edit N"`, makes every
// platform recompile the main package and relink the program, and changes the image.
const editBlock = `
// benchEdit is the line changed between builds: its string is kept in the binary.
var benchEdit = "edit 0"

func init() {
	if len(benchEdit) == 0 {
		panic("benchEdit is empty")
	}
}
`

// editLine matches the changing line of editBlock.
var editLine = regexp.MustCompile(`(?m)^var benchEdit = "edit [0-9]+"$`)

// withEditBlock returns src, a Go file of package main, with editBlock appended, at edit 0.
// A file that already has the line is an error.
func withEditBlock(src []byte) ([]byte, error) {
	if editLine.Match(src) {
		return nil, fmt.Errorf("the file already has a benchEdit line")
	}
	if !regexp.MustCompile(`(?m)^package main$`).Match(src) {
		return nil, fmt.Errorf("the file is not of package main")
	}
	out := bytes.TrimRight(src, "\n")
	return append(append(out, '\n'), editBlock...), nil
}

// edited returns src with its one benchEdit line set to edit n, the rest byte for byte.
func edited(src []byte, n int) ([]byte, error) {
	if got := len(editLine.FindAllIndex(src, -1)); got != 1 {
		return nil, fmt.Errorf("the file has %d benchEdit lines, want 1", got)
	}
	return editLine.ReplaceAllLiteral(src, []byte(`var benchEdit = "edit `+strconv.Itoa(n)+`"`)), nil
}

// addEditBlock appends editBlock to the file at path (see withEditBlock).
func addEditBlock(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := withEditBlock(src)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// applyEdit sets the benchEdit line of the file at path to edit n (see edited).
func applyEdit(path string, n int) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := edited(src, n)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// editMethodNote says what the release comparison with one line changed measures.
const editMethodNote = "Release vs ko, one line changed: the same two commands on the same copy of the program, whose main.go has one line more than testdata's, " +
	"`var benchEdit = \"edit N\"`, with an init function that reads it so that its string is in the binary. " +
	"After each cold run (which warms the caches; without the release group it is not reported) come XGO_BENCH_WARM_RUNS runs that each set N to the next number (1, 2, ... over the case, the same N for both sides of a run, written before the run): " +
	"every platform recompiles the main package and relinks, and each side pushes into the repository of its cold run an index that is checked to differ from the one it pushed before. " +
	"Ours is set against its compile work as the release cases are (the table below). The goals: at most 0.90x ko's time, at most 1.05x the compile work."

// Goals of the release with one line changed: at most this share of ko's time, and at most
// this multiple of its own compile work.
const (
	editGoalKo      = 0.90
	editGoalCompile = 1.05
)

// editNote states the figures of a release case with one line changed against their goals:
// our median over ko's, and the median over our runs of the whole run's wall time over its
// compile work (and of the release's own time over it).
func editNote(c Case) string {
	o, t := Summarize(c.Ours.Samples), Summarize(c.Theirs.Samples)
	ratio := math.NaN()
	if o.N > 0 && t.N > 0 {
		ratio = Ratio(o.Median, t.Median)
	}
	n, wall, run, work, _ := compileRatios(c.Ours.Samples)
	median := func(s Summary) string {
		if s.N == 0 {
			return "-"
		}
		return fmtSeconds(s.Median)
	}
	return fmt.Sprintf("%s, %s: %s took %s (median of %d runs), %s %s (%d runs): %s (goal at most %.2fx: %s); "+
		"the whole run took %s its compile work of %s (median of %d runs; the release itself %s; goal at most %.2fx: %s).",
		c.Group, c.Name, c.Ours.Tool, median(o), o.N, c.Theirs.Tool, median(t), t.N,
		timesX(ratio), editGoalKo, goalWord(ratio, editGoalKo),
		timesX(wall), fmtSeconds(work), n, timesX(run), editGoalCompile, goalWord(wall, editGoalCompile))
}

// timesX formats a ratio as "1.05x", "-" when there is none.
func timesX(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", r)
}

// goalWord says whether v is within the goal of at most max.
func goalWord(v, max float64) string {
	switch {
	case math.IsNaN(v):
		return "not measured"
	case v <= max:
		return "met"
	default:
		return "missed"
	}
}
