package release

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestReadEnvDist checks the output directories readEnv refuses, each with one error naming
// the variable and the value, and those it takes.
func TestReadEnvDist(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	dir := filepath.Join(home, "src", "app") // the project
	other := filepath.Join(root, "other")
	for _, d := range []string{dir, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{ // in other
		"to-project": dir,
		"to-home":    home,
		"to-root":    "/",
		"dangling":   filepath.Join(root, "nowhere"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(other, name)); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(other, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const advice = ": a run writes bin/ and oci/ there and replaces oci/: use a directory of its own, such as dist"
	for _, tc := range []struct {
		dist string
		want string // "" is no error
	}{
		{"out", ""},
		{"dist/../out", ""},
		{other, ""},
		{filepath.Join(other, "new", "dist"), ""},
		{"/", "is the root directory" + advice},
		{filepath.Join(other, "to-root"), "is the root directory" + advice},
		{home, "is the home directory" + advice},
		{filepath.Join(other, "to-home"), "is the home directory" + advice},
		{".", "is the project directory" + advice},
		{dir, "is the project directory" + advice},
		{filepath.Join(other, "to-project"), "is the project directory" + advice},
		{"..", "contains the project directory " + dir + advice},
		{filepath.Join(home, "src"), "contains the project directory " + dir + advice},
		{filepath.Join(other, "dangling"), `is a symbolic link to "` + filepath.Join(root, "nowhere") + `", which does not exist`},
		{filepath.Join(other, "dangling", "dist"), "is inside " + filepath.Join(other, "dangling") + `, which is a symbolic link to "` + filepath.Join(root, "nowhere") + `", which does not exist`},
		{file, "is a file, not a directory"},
		{filepath.Join(file, "dist"), "is inside " + file + ", which is a file, not a directory"},
	} {
		t.Run(tc.dist, func(t *testing.T) {
			_, errs := readEnv(dir, envMap(map[string]string{"XGO_DIST": tc.dist, "HOME": home}))
			err := errors.Join(errs...)
			if tc.want == "" {
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			if want := `XGO_DIST="` + tc.dist + `": ` + tc.want; err == nil || err.Error() != want {
				t.Errorf("error\n%v\nwant\n%s", err, want)
			}
		})
	}

	t.Run("default dangling", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(dir, "dist")); err != nil {
			t.Fatal(err)
		}
		_, errs := readEnv(dir, envMap(nil))
		want := "the output directory " + filepath.Join(dir, "dist") + ` is a symbolic link to "` + filepath.Join(root, "nowhere") + `", which does not exist`
		if err := errors.Join(errs...); err == nil || err.Error() != want {
			t.Errorf("error\n%v\nwant\n%s", err, want)
		}
	})
}

// TestRunRefusesAnAncestorDist checks that a run whose XGO_DIST holds the project fails with
// that one error and writes nothing there: no bin/, no oci/, no lock.
func TestRunRefusesAnAncestorDist(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	parent := filepath.Dir(dir)
	before := dirContents(t, parent)
	for _, last := range []stage{stageBinaries, stageImage} {
		err := run(t.Context(), lockRunEnv(dir, io.Discard, map[string]string{"XGO_DIST": ".."}), last)
		want := `XGO_DIST="..": contains the project directory ` + dir + ": a run writes bin/ and oci/ there and replaces oci/: use a directory of its own, such as dist"
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", last, err, want)
		}
	}
	if after := dirContents(t, parent); !maps.Equal(after, before) {
		t.Errorf("the directory above the project changed: %q, want %q", after, before)
	}
}

// TestRunRefusesAForeignOCIDirectory checks that an image run whose dist/oci is not an OCI
// layout that xgo-build wrote fails with one error naming it and what to do, and leaves it as
// it was; and that a layout written by an earlier version (no read-only files) is replaced.
func TestRunRefusesAForeignOCIDirectory(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	layoutDir := filepath.Join(dir, "dist", "oci")
	for name, fill := range map[string]func(t *testing.T){
		"user files": func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(layoutDir, "notes.txt"), []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"a layout of two images": func(t *testing.T) {
			p, err := layout.Write(layoutDir, empty.Index)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				img, err := random.Image(64, 1)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.AppendImage(img); err != nil {
					t.Fatal(err)
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.RemoveAll(layoutDir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(layoutDir, 0o755); err != nil {
				t.Fatal(err)
			}
			fill(t)
			before := dirContents(t, layoutDir)
			err := run(t.Context(), lockRunEnv(dir, io.Discard, nil), stageImage)
			want := "refusing to replace " + layoutDir + ": it is not an OCI image layout written by xgo-build ("
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "); move it away or remove it, or set XGO_DIST to another directory") {
				t.Errorf("run: %v, want %q...", err, want)
			}
			if after := dirContents(t, layoutDir); !maps.Equal(after, before) {
				t.Errorf("dist/oci changed: %q, want %q", after, before)
			}
			// Refused before the builds: nothing else in dist.
			for _, name := range []string{"bin", incompleteMarker} {
				if _, err := os.Stat(filepath.Join(dir, "dist", name)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("dist/%s after the refusal (stat: %v)", name, err)
				}
			}
		})
	}

	t.Run("a layout of an earlier version", func(t *testing.T) {
		if err := os.RemoveAll(layoutDir); err != nil {
			t.Fatal(err)
		}
		// What WriteLayout wrote before its files were read-only: one image index.
		idx, err := random.Index(64, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		p, err := layout.Write(layoutDir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendIndex(idx); err != nil {
			t.Fatal(err)
		}
		if err := run(t.Context(), lockRunEnv(dir, io.Discard, nil), stageImage); err != nil {
			t.Fatalf("run: %v", err)
		}
		if fi, err := os.Stat(filepath.Join(layoutDir, "index.json")); err != nil || fi.Mode().Perm() != 0o444 {
			t.Errorf("index.json: %v, %v; want a new, read-only one", fi.Mode(), err)
		}
	})
}
