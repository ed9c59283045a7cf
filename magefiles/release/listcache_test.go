package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// countingGo puts a go first on PATH that notes each `go list` in a log and runs the real go,
// and returns a function that tells how many go list commands ran so far.
func countingGo(t *testing.T) func() int {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the counting go is a shell script")
	}
	real, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "list.log")
	script := "#!/bin/sh\n[ \"$1\" = list ] && echo list >>'" + log + "'\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	age(t, bin, time.Hour) // a go written a moment ago would keep every answer from being remembered
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() int {
		data, _ := os.ReadFile(log)
		return strings.Count(string(data), "list\n")
	}
}

// age sets the time of every file and directory under dir to d ago, as if the project had
// not been touched for a while.
func age(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	then := time.Now().Add(-d)
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, then, then)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestListCache checks that go list runs again whenever something its answer depends on
// changed, and only then.
func TestListCache(t *testing.T) {
	lists := countingGo(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		value  string                  // XGO_MAIN
		setup  func(dir string)        // what the project has besides appModule's packages
		first  string                  // the main package before the change
		change func(dir string)        // what changes before the third run (nil: no file)
		env    func([]string) []string // the environment of the third run, when it changes
		want   string                  // the main package after the change, "" for an error
	}{
		{name: "nothing changed", first: "example.com/app/cmd/app", want: "example.com/app/cmd/app"},
		{name: "a second main package", first: "example.com/app/cmd/app", change: func(dir string) {
			write(t, filepath.Join(dir, "cmd/other/main.go"), mainGo)
		}},
		{name: "the package clause, same size", value: "./cmd/app", first: "example.com/app/cmd/app", change: func(dir string) {
			write(t, filepath.Join(dir, "cmd/app/main.go"), strings.Replace(mainGo, "main\n", "mair\n", 1))
		}},
		{name: "the module path", value: "./cmd/app", first: "example.com/app/cmd/app", change: func(dir string) {
			write(t, filepath.Join(dir, "go.mod"), "module example.com/ap2\n\ngo 1.26\n")
		}, want: "example.com/ap2/cmd/app"},
		{name: "a go.work that leaves the module out", first: "example.com/app/cmd/app", change: func(dir string) {
			write(t, filepath.Join(dir, "go.work"), "go 1.26\n\nuse ./lib\n")
			write(t, filepath.Join(dir, "lib/go.mod"), "module example.com/lib\n\ngo 1.26\n")
		}},
		{name: "GOFLAGS", value: ".", first: "example.com/app", setup: func(dir string) {
			// The root package is main, and a library with the tag special.
			write(t, filepath.Join(dir, "main.go"), "//go:build !special\n\n"+mainGo)
			write(t, filepath.Join(dir, "lib.go"), "//go:build special\n\npackage lib\n")
		},
			env: func(env []string) []string { return append(env, "GOFLAGS=-tags=special") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := appModule(t)
			if tc.setup != nil {
				tc.setup(dir)
			}
			age(t, dir, time.Hour)
			c := listCache{cache: layerCache{dir: t.TempDir()}, environ: os.Environ()}
			before := lists()
			for run := range 2 {
				if got, err := c.findMain(ctx, dir, tc.value); err != nil || got != tc.first {
					t.Fatalf("run %d: %q, %v; want %q", run, got, err, tc.first)
				}
			}
			if n := lists() - before; n != 1 {
				t.Fatalf("go list ran %d times for two lookups with nothing changed, want 1", n)
			}
			if tc.change != nil {
				tc.change(dir)
				age(t, dir, 30*time.Minute)
			}
			if tc.env != nil {
				c.environ = tc.env(c.environ)
			}
			before = lists()
			got, err := c.findMain(ctx, dir, tc.value)
			switch {
			case tc.want == "" && err == nil:
				t.Fatalf("after the change: %q, want an error", got)
			case tc.want != "" && (err != nil || got != tc.want):
				t.Fatalf("after the change: %q, %v; want %q", got, err, tc.want)
			}
			wantLists := 1
			if tc.change == nil && tc.env == nil {
				wantLists = 0
			}
			if n := lists() - before; n != wantLists {
				t.Fatalf("go list ran %d times after the change, want %d", n, wantLists)
			}
		})
	}
}

// TestListCacheRacy checks that an answer resting on a file changed a moment ago is not
// remembered: the file could change again within its time's resolution.
func TestListCacheRacy(t *testing.T) {
	lists := countingGo(t)
	dir := appModule(t)
	c := listCache{cache: layerCache{dir: t.TempDir()}, environ: os.Environ()}
	before := lists()
	for range 2 {
		if _, err := c.findMain(context.Background(), dir, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := lists() - before; n != 2 {
		t.Fatalf("go list ran %d times for a project written just now, want 2", n)
	}
}

// TestListCacheImportPath checks that an import path is always looked up by go list: it may
// resolve to any module.
func TestListCacheImportPath(t *testing.T) {
	lists := countingGo(t)
	dir := appModule(t)
	age(t, dir, time.Hour)
	c := listCache{cache: layerCache{dir: t.TempDir()}, environ: os.Environ()}
	before := lists()
	for range 2 {
		if got, err := c.findMain(context.Background(), dir, "example.com/app/cmd/app"); err != nil || got != "example.com/app/cmd/app" {
			t.Fatalf("%q, %v", got, err)
		}
	}
	if n := lists() - before; n != 2 {
		t.Fatalf("go list ran %d times for an import path, want 2", n)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
