package vars

import (
	"bytes"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// TestTable checks every row: a unique name, a meaning and a default without a final period,
// and targets that exist, in the order of Targets.
func TestTable(t *testing.T) {
	var names, targets []string
	for _, tg := range Targets {
		targets = append(targets, tg.Name)
	}
	for _, v := range Table {
		if slices.Contains(names, v.Name) {
			t.Errorf("%s has two rows", v.Name)
		}
		names = append(names, v.Name)
		for what, s := range map[string]string{"meaning": v.Meaning, "default": v.Default} {
			if s == "" || strings.HasSuffix(s, ".") || strings.Contains(s, "\n") {
				t.Errorf("%s: %s %q must be one line of text without a final period", v.Name, what, s)
			}
			if strings.Count(s, "`")%2 != 0 {
				t.Errorf("%s: %s %q has an unclosed backtick", v.Name, what, s)
			}
		}
		if len(v.Targets) == 0 {
			t.Errorf("%s: no target uses it", v.Name)
		}
		var order []int
		for _, tg := range v.Targets {
			i := slices.Index(targets, tg)
			if i < 0 {
				t.Errorf("%s: unknown target %q: must be one of %s", v.Name, tg, strings.Join(targets, ", "))
			}
			order = append(order, i)
		}
		if !slices.IsSorted(order) || len(slices.Compact(slices.Clone(order))) != len(order) {
			t.Errorf("%s: targets %q must be in the order of Targets, each once", v.Name, v.Targets)
		}
	}
}

// TestTargetsFile checks that the generated doc comment of every target lists each of its
// variables as one item, with nothing taken for a list marker or a heading.
func TestTargetsFile(t *testing.T) {
	src, err := TargetsFile()
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "targets.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(src), "// Code generated ") || !bytes.Contains(src, []byte(" DO NOT EDIT.\n")) {
		t.Errorf("targets.go does not begin with a Code generated ... DO NOT EDIT. line:\n%s", src)
	}
	if f.Doc != nil {
		t.Errorf("targets.go has a package doc comment %q: the package doc is doc.go's", f.Doc.Text())
	}
	docs := map[string]string{}
	for _, c := range f.Comments {
		for _, tg := range Targets {
			fn := strings.ToUpper(tg.Name[:1]) + tg.Name[1:]
			if strings.HasPrefix(c.Text(), fn+" ") {
				docs[tg.Name] = c.Text()
			}
		}
	}
	var p comment.Parser
	for _, tg := range Targets {
		d := p.Parse(docs[tg.Name])
		var items []string
		for _, b := range d.Content {
			if l, ok := b.(*comment.List); ok {
				for _, it := range l.Items {
					var text string
					for _, c := range it.Content {
						if para, ok := c.(*comment.Paragraph); ok {
							for _, x := range para.Text {
								if p, ok := x.(comment.Plain); ok {
									text += string(p)
								}
							}
						}
					}
					name, _, _ := strings.Cut(text, ":")
					items = append(items, name)
				}
			}
			if _, ok := b.(*comment.Heading); ok {
				t.Errorf("the doc of %s has a heading: %q", tg.Name, docs[tg.Name])
			}
		}
		var want []string
		for _, v := range For(tg.Name) {
			want = append(want, v.Name)
		}
		if !slices.Equal(items, want) {
			t.Errorf("the doc of %s lists %q, want %q", tg.Name, items, want)
		}
	}
}
