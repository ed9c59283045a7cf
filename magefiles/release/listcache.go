package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// listFormat names the way listCache fingerprints what go list reads. Change it whenever the
// fingerprint would cover other inputs, so that entries made the old way are never used.
const listFormat = "xgo-build main 1"

// racyAge is how recent a file may be and still count in a fingerprint: a file changed this
// little before the fingerprint could change again with the same size and time, so an
// answer that depends on it is not remembered.
const racyAge = 2 * time.Second

// listCache remembers the main package that go list found for an XGO_MAIN value in a project
// directory, with a fingerprint of everything that answer depends on: the go command, the
// GO* and CGO_* variables, go's configuration file, the go.mod and go.work files of the
// project and package directories and their parents, and the package directories themselves
// (for the default, every directory ./... matches) with the names, sizes and modification
// times of their Go files and subdirectories. While the fingerprint is the same, go list
// would give the same answer, and it is not run. Only successful answers for a directory
// path (".", "./cmd/app", or the default) are remembered; an import path is always looked up.
type listCache struct {
	cache   layerCache // entries/<key>.json; no directory: nothing is remembered
	environ []string   // the environment go list runs in; nil: this process's
}

// listEntry is the JSON record of one remembered answer.
type listEntry struct {
	Format      string `json:"format"`
	Fingerprint string `json:"fingerprint"`
	Main        string `json:"main"`
}

// findMain is findMain with the answer remembered.
func (l listCache) findMain(ctx context.Context, dir, value string) (string, error) {
	pattern, ok := dirPattern(value)
	if l.cache.dir == "" || !ok {
		return findMain(ctx, dir, value, l.environ)
	}
	key := l.key(dir, value)
	fp, fpOK := l.fingerprint(dir, pattern, time.Now())
	var e listEntry
	if fpOK && l.cache.readJSON(key, &e) && e.Format == listFormat && e.Fingerprint == fp && e.Main != "" {
		l.cache.touch(l.cache.entryPath(key))
		return e.Main, nil
	}
	main, err := findMain(ctx, dir, value, l.environ)
	if err == nil && fpOK {
		_ = l.cache.writeEntry(key, listEntry{Format: listFormat, Fingerprint: fp, Main: main}) // a failure costs a go list next time
	}
	return main, err
}

// dirPattern returns the package pattern go list resolves for XGO_MAIN=value when it names
// directories ("./..." for the default), and whether it does.
func dirPattern(value string) (string, bool) {
	v := strings.TrimSpace(value)
	switch {
	case value == "":
		return "./...", true
	case strings.Contains(v, "..."):
		return "", false
	case v == "." || v == ".." || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "../") || filepath.IsAbs(v):
		return v, true
	}
	return "", false
}

// key names the entry of XGO_MAIN=value in dir.
func (l listCache) key(dir, value string) string {
	sum := sha256.Sum256([]byte(listFormat + "\n" + dir + "\n" + value + "\n"))
	return hex.EncodeToString(sum[:])
}

// fingerprint hashes what go list reads to resolve pattern in dir (see listCache). ok is
// false when it cannot be taken (the go command is not found, a GOFLAGS -modfile names
// another go.mod) or when a file in it changed less than racyAge before now.
func (l listCache) fingerprint(dir, pattern string, now time.Time) (fp string, ok bool) {
	environ := l.environ
	if environ == nil {
		environ = os.Environ()
	}
	f := &fingerprinter{h: sha256.New(), now: now, ok: true}
	fmt.Fprintf(f.h, "%s\n%s\n%s\n", listFormat, dir, pattern)

	getenv := func(k string) string {
		v := ""
		for _, kv := range environ {
			if name, val, _ := strings.Cut(kv, "="); name == k {
				v = val // the last one counts, as for exec.Cmd
			}
		}
		return v
	}
	var vars []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO_") {
			vars = append(vars, kv)
		}
	}
	slices.Sort(vars)
	for _, kv := range vars {
		fmt.Fprintf(f.h, "env %q\n", kv)
	}

	// exec.Command finds go in this process's PATH, whatever the command's environment says.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", false
	}
	f.file("go", goCmd)
	goenv := getenv("GOENV")
	if cfg := userDir(getenv, userConfig); goenv == "" && cfg != "" {
		goenv = filepath.Join(cfg, "go", "env")
	}
	if goenv != "" && goenv != "off" {
		data, _ := os.ReadFile(goenv)
		if strings.Contains(string(data), "modfile") {
			return "", false
		}
		fmt.Fprintf(f.h, "goenv %q %x\n", goenv, sha256.Sum256(data))
	}
	if strings.Contains(getenv("GOFLAGS"), "modfile") {
		return "", false
	}
	if w := getenv("GOWORK"); w != "" && w != "off" && w != "auto" {
		f.file("gowork", w)
	}

	pkgDir := filepath.Join(dir, strings.TrimSuffix(pattern, "..."))
	if filepath.IsAbs(pattern) {
		pkgDir = filepath.Clean(strings.TrimSuffix(pattern, "..."))
	}
	// The package directory's parents hold the project directory's when it lies inside it.
	f.parents(pkgDir)
	if rel, err := filepath.Rel(dir, pkgDir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		f.parents(dir)
	}
	if strings.HasSuffix(pattern, "/...") {
		f.tree(pkgDir)
	} else {
		f.dir(pkgDir)
	}
	return hex.EncodeToString(f.h.Sum(nil)), f.ok
}

// fingerprinter collects a fingerprint; ok turns false for a file changed too recently.
type fingerprinter struct {
	h   hash.Hash
	now time.Time
	ok  bool
}

// stat adds the name, size and modification time of fi under label.
func (f *fingerprinter) stat(label, path string, fi fs.FileInfo) {
	if fi == nil {
		fmt.Fprintf(f.h, "%s %q -\n", label, path)
		return
	}
	t := fi.ModTime()
	if d := f.now.Sub(t); d < racyAge && d > -racyAge {
		f.ok = false
	}
	fmt.Fprintf(f.h, "%s %q %v %d %d\n", label, path, fi.Mode().Type(), fi.Size(), t.UnixNano())
}

// file adds the file at path, or that there is none.
func (f *fingerprinter) file(label, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		fi = nil
	}
	f.stat(label, path, fi)
}

// parents adds go.mod and go.work of dir and of every directory above it.
func (f *fingerprinter) parents(dir string) {
	for d := range ancestors(dir) {
		f.file("mod", filepath.Join(d, "go.mod"))
		f.file("work", filepath.Join(d, "go.work"))
	}
}

// ancestors yields dir, cleaned, and every directory above it up to the root.
func ancestors(dir string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
			if !yield(d) || filepath.Dir(d) == d {
				return
			}
		}
	}
}

// dir adds the Go files and the subdirectory names of one package directory.
func (f *fingerprinter) dir(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintf(f.h, "dir %q -\n", dir)
		return nil
	}
	fmt.Fprintf(f.h, "dir %q\n", dir)
	var subdirs []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			fmt.Fprintf(f.h, "sub %q\n", name)
			subdirs = append(subdirs, name)
		case strings.HasSuffix(name, ".go") || name == "go.mod":
			f.file("file", filepath.Join(dir, name)) // a link counts by its target
		}
	}
	return subdirs
}

// tree adds the directories that ./... matches below and at dir, as go list walks them: not
// those whose names begin with "." or "_", not testdata, and not nested modules (a
// directory with its own go.mod, whose presence is added).
func (f *fingerprinter) tree(dir string) {
	for _, sub := range f.dir(dir) {
		if strings.HasPrefix(sub, ".") || strings.HasPrefix(sub, "_") || sub == "testdata" {
			continue
		}
		p := filepath.Join(dir, sub)
		if fi, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			f.stat("module", p, fi)
			continue
		}
		f.tree(p)
	}
}
