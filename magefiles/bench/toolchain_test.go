package bench

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTarGz writes a gzipped tar of the given entries (a name ending in / is a directory)
// to path.
func writeTarGz(t *testing.T, path string, entries []tar.Header, content map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		h.Size = int64(len(content[h.Name]))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content[h.Name])); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, zw, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUntarGz unpacks a distpack-like archive and checks the files, their modes and that a
// toolchain made of it is accepted by makeToolsExecutable.
func TestUntarGz(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "go.tar.gz")
	writeTarGz(t, archive, []tar.Header{
		{Name: "go/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "go/VERSION", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "go/bin/go", Typeflag: tar.TypeReg, Mode: 0o755},
		{Name: "go/pkg/tool/linux_riscv64/compile", Typeflag: tar.TypeReg, Mode: 0o755},
	}, map[string]string{"go/VERSION": "go1.26.8\n", "go/bin/go": "go", "go/pkg/tool/linux_riscv64/compile": "compile"})
	dst := filepath.Join(dir, "goroot")
	if err := untarGz(archive, dst, "go/"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"VERSION": 0o644, "bin/go": 0o755, "pkg/tool/linux_riscv64/compile": 0o755} {
		fi, err := os.Stat(filepath.Join(dst, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", name, fi, err, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "VERSION")); string(b) != "go1.26.8\n" {
		t.Errorf("VERSION = %q", b)
	}
	if err := makeToolsExecutable(dst); err != nil {
		t.Errorf("makeToolsExecutable: %v", err)
	}

	for _, bad := range []tar.Header{
		{Name: "other/VERSION", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "go/../escape", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "go/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
	} {
		writeTarGz(t, archive, []tar.Header{bad}, nil)
		if err := untarGz(archive, filepath.Join(dir, "bad"), "go/"); err == nil {
			t.Errorf("untarGz of an archive with %q: no error", bad.Name)
		}
	}
}

func TestMakeToolsExecutable(t *testing.T) {
	goroot := t.TempDir()
	for _, name := range []string{"bin/go", "pkg/tool/linux_arm/compile", "pkg/tool/linux_arm/link"} {
		p := filepath.Join(goroot, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := makeToolsExecutable(goroot); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bin/go", "pkg/tool/linux_arm/compile", "pkg/tool/linux_arm/link"} {
		if fi, err := os.Stat(filepath.Join(goroot, name)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, %v; want mode 0755", name, fi, err)
		}
	}
	if err := os.Remove(filepath.Join(goroot, "pkg/tool/linux_arm/compile")); err != nil {
		t.Fatal(err)
	}
	if err := makeToolsExecutable(goroot); err == nil || !strings.Contains(err.Error(), "no compiler") {
		t.Errorf("makeToolsExecutable without a compiler: %v", err)
	}
}
