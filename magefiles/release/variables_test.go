package release

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/vars"
)

// TestGeneratedVariables checks that the README's configuration table and targets.go are what
// go generate writes from the table of package vars now.
func TestGeneratedVariables(t *testing.T) {
	readme := filepath.Join("..", "..", "README.md")
	old, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	want, err := vars.README(old)
	if err != nil {
		t.Fatalf("%s: %v", readme, err)
	}
	checkGenerated(t, "README.md", old, want)

	old, err = os.ReadFile("targets.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err = vars.TargetsFile()
	if err != nil {
		t.Fatal(err)
	}
	checkGenerated(t, "magefiles/release/targets.go", old, want)
}

// checkGenerated reports the first line where the file name (got) differs from want.
func checkGenerated(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if string(got) == string(want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	line := func(lines []string) string {
		if i < len(lines) {
			return strconv.Quote(lines[i])
		}
		return "the end of the file"
	}
	t.Errorf("%s is not what internal/vars gives: run go generate ./magefiles/release\nline %d is %s\n        want %s", name, i+1, line(g), line(w))
}

// variableName matches the names of the release's variables.
var variableName = regexp.MustCompile(`^(XGO_[A-Z0-9_]+|SOURCE_DATE_EPOCH|CI_REGISTRY(_USER|_PASSWORD)?|GITHUB_TOKEN|GITHUB_ACTOR|GITHUB_OUTPUT|GITHUB_STEP_SUMMARY|DOCKER_HOST|DOCKER_METADATA_OUTPUT_JSON)$`)

// TestVariablesTable checks that the table of package vars has a row for every variable the
// release reads (a string literal passed to a function or method named getenv, Getenv or
// LookupEnv in a non-test file of magefiles/release or a package below it), and for every
// string literal naming one (a constant may hold the name), and that every row is read.
func TestVariablesTable(t *testing.T) {
	read := map[string]string{}  // variable -> file:line of a getenv call
	named := map[string]string{} // variable -> file:line of a string literal
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// The table itself and its generator name every variable without reading it.
			if path != "." && (d.Name() == "testdata" || path == filepath.Join("internal", "vars") || path == filepath.Join("internal", "gendoc")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, ok := stringLit(n); ok && variableName.MatchString(s) {
					named[s] = fset.Position(n.Pos()).String()
				}
			case *ast.CallExpr:
				var fn string
				switch f := n.Fun.(type) {
				case *ast.Ident:
					fn = f.Name
				case *ast.SelectorExpr:
					fn = f.Sel.Name
				}
				if !strings.EqualFold(fn, "getenv") && !strings.EqualFold(fn, "lookupenv") || len(n.Args) == 0 {
					return true
				}
				if lit, ok := n.Args[0].(*ast.BasicLit); ok {
					if s, ok := stringLit(lit); ok && variableName.MatchString(s) {
						read[s] = fset.Position(lit.Pos()).String()
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) == 0 {
		t.Fatal("found no getenv call reading a variable: the test no longer sees how the release reads them")
	}
	var table []string
	for _, v := range vars.Table {
		table = append(table, v.Name)
	}
	for name, pos := range read {
		named[name] = pos
	}
	for _, name := range slices.Sorted(maps.Keys(named)) {
		if !slices.Contains(table, name) {
			t.Errorf("%s: %s is not in the table of internal/vars: add a row to vars.Table and run go generate ./magefiles/release", named[name], name)
		}
	}
	for _, name := range table {
		if _, ok := read[name]; !ok {
			t.Errorf("vars.Table has %s, but no getenv call in magefiles/release reads it: remove its row, and run go generate ./magefiles/release", name)
		}
	}
}

// stringLit returns the value of a string literal.
func stringLit(lit *ast.BasicLit) (string, bool) {
	if lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
