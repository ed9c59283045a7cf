package bench

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// Chart layout, in SVG user units.
const (
	chartWidth  = 960
	labelWidth  = 380 // case names and tool names, left of the bars
	barArea     = 360 // the longer bar of a row spans this
	ratioX      = 830 // the ratio column
	rowHeight   = 60
	barHeight   = 18
	chartTop    = 78 // title and legend
	chartBottom = 56 // machine and versions
	oursColor   = "#1f6feb"
	theirsColor = "#9aa4af"
)

// Chart draws the results as an SVG bar chart: one row per case with our median and theirs as
// two horizontal bars, the min-max range as a whisker, the seconds at each bar's end and the
// ratio on the right. Each row has its own scale (its longer bar spans the full width), so a
// 20 ms case and a 150 s case are both legible; the labels carry the absolute figures.
func Chart(r Results) []byte {
	height := chartTop + rowHeight*len(r.Cases) + chartBottom + 18*(len(versionLines(r.Versions))-1)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	title := "xgo-build against the alternatives: median seconds (lower is better)"
	if r.Quick {
		title += " - quick mode"
	}
	fmt.Fprintf(&b, `<text x="16" y="26" font-size="17" font-weight="bold">%s</text>`+"\n", esc(title))
	fmt.Fprintf(&b, `<text x="16" y="46" fill="#555555">Each row has its own scale; whiskers show the range of the runs; the right column is ours / theirs.</text>`+"\n")
	legend := func(x int, color, text string) {
		fmt.Fprintf(&b, `<rect x="%d" y="56" width="14" height="12" fill="%s"/><text x="%d" y="67">%s</text>`+"\n", x, color, x+20, esc(text))
	}
	legend(16, oursColor, "ours (xgo-build)")
	legend(176, theirsColor, "theirs (QEMU, ko, plain go build)")

	for i, c := range r.Cases {
		y := chartTop + i*rowHeight
		if i%2 == 1 {
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="#f4f6f8"/>`+"\n", y, chartWidth, rowHeight)
		}
		fmt.Fprintf(&b, `<text x="16" y="%d" font-weight="bold">%s</text>`+"\n", y+24, esc(c.Group))
		fmt.Fprintf(&b, `<text x="16" y="%d" fill="#333333">%s</text>`+"\n", y+42, esc(c.Name))
		scale := math.Max(c.Ours.Summary.Max, c.Theirs.Summary.Max)
		bar(&b, y+8, scale, c.Ours, oursColor)
		bar(&b, y+8+barHeight+6, scale, c.Theirs, theirsColor)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n",
			ratioX, y+28, esc(fmt.Sprintf("%.2fx", c.Ratio())))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#333333">%s</text>`+"\n",
			ratioX, y+46, esc(ratioWords(c.Ratio())))
	}

	y := chartTop + rowHeight*len(r.Cases) + 22
	m := r.Machine
	fmt.Fprintf(&b, `<text x="16" y="%d" font-size="11" fill="#555555">%s</text>`+"\n", y,
		esc(fmt.Sprintf("%d CPUs (%s), %s memory, %s; %s", m.CPUs, m.CPUModel, fmtBytes(m.MemoryBytes), m.OS, r.Started.UTC().Format("2006-01-02"))))
	for i, line := range versionLines(r.Versions) {
		fmt.Fprintf(&b, `<text x="16" y="%d" font-size="11" fill="#555555">%s</text>`+"\n", y+18*(i+1), esc(line))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// bar draws one side of a case at y: the median as a bar scaled so that scale spans barArea,
// the min-max range as a whisker, and the median's seconds after it.
func bar(b *bytes.Buffer, y int, scale float64, s Side, color string) {
	x0 := float64(labelWidth)
	px := func(v float64) float64 {
		if !(scale > 0) || math.IsNaN(v) {
			return 0
		}
		return v / scale * barArea
	}
	sum := s.Summary
	if sum.N == 0 {
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555555">%s: not measured</text>`+"\n", labelWidth, y+barHeight-4, esc(s.Tool))
		return
	}
	w := px(sum.Median)
	fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`+"\n",
		x0, y, w, barHeight, color, esc(s.Tool), esc(spread(sum)))
	if sum.Max > sum.Min {
		mid := y + barHeight/2
		fmt.Fprintf(b, `<path d="M%.1f %dH%.1fM%.1f %dV%dM%.1f %dV%d" stroke="#222222" stroke-width="1.2" fill="none"/>`+"\n",
			x0+px(sum.Min), mid, x0+px(sum.Max),
			x0+px(sum.Min), mid-4, mid+4,
			x0+px(sum.Max), mid-4, mid+4)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#333333">%s</text>`+"\n", labelWidth-8, y+barHeight-4, esc(s.Tool))
	fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`+"\n", x0+math.Max(w, px(sum.Max))+6, y+barHeight-4, esc(fmtSeconds(sum.Median)))
}

// footerChars is about how many characters of the 11-unit footer font fit across the chart.
const footerChars = 140

// versionLines lists the versions as "name version" joined by "; ", in lines of at most
// footerChars characters (a longer single entry gets a line of its own).
func versionLines(vs []Version) []string {
	lines := []string{""}
	for _, v := range vs {
		item := v.Name + " " + v.Version
		last := &lines[len(lines)-1]
		switch {
		case *last == "":
			*last = item
		case len(*last)+2+len(item) <= footerChars:
			*last += "; " + item
		default:
			lines = append(lines, item)
		}
	}
	return lines
}

// esc escapes text for SVG character data and attribute values.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
