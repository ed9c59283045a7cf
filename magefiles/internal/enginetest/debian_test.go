package enginetest

import (
	"archive/tar"
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
)

func TestParseDepends(t *testing.T) {
	for _, tt := range []struct {
		field string
		want  [][]string
	}{
		{"", nil},
		{", ", nil},
		{"libc6 (>= 2.34)", [][]string{{"libc6"}}},
		{"libgcc-s1 | libgcc1, perl:any, libfoo [amd64] <!nocheck>", [][]string{{"libgcc-s1", "libgcc1"}, {"perl:any"}, {"libfoo"}}},
		{"cpp (= 4:12.2.0-3),gcc-12 (>= 12.2.0-1~)", [][]string{{"cpp"}, {"gcc-12"}}},
	} {
		if got := parseDepends(tt.field); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseDepends(%q) = %q, want %q", tt.field, got, tt.want)
		}
	}
}

func TestDpkgClosure(t *testing.T) {
	db := &dpkgDB{arch: "amd64", byName: map[string][]debPackage{}, providers: map[string][]debPackage{}}
	add := func(p debPackage, provides ...string) {
		db.byName[p.name] = append(db.byName[p.name], p)
		for _, v := range provides {
			db.providers[v] = append(db.providers[v], p)
		}
	}
	add(debPackage{id: "gcc", name: "gcc", arch: "amd64", depends: [][]string{{"cpp"}, {"libc-dev"}}})
	add(debPackage{id: "cpp", name: "cpp", arch: "amd64", depends: [][]string{{"gone", "libc6"}}})
	add(debPackage{id: "libc6:amd64", name: "libc6", arch: "amd64", depends: [][]string{{"libgcc-s1"}}})
	add(debPackage{id: "libc6:i386", name: "libc6", arch: "i386"})
	add(debPackage{id: "libc6-dev:amd64", name: "libc6-dev", arch: "amd64", depends: [][]string{{"libc6"}}}, "libc-dev")
	add(debPackage{id: "libgcc-s1:amd64", name: "libgcc-s1", arch: "amd64", depends: [][]string{{"gcc"}}}) // a cycle

	got, err := db.closure([]string{"gcc"})
	if want := []string{"cpp", "gcc", "libc6-dev:amd64", "libc6:amd64", "libgcc-s1:amd64"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("closure(gcc) = %q, %v; want %q", got, err, want)
	}
	if got, err := db.closure([]string{"libc6:i386"}); err != nil || !slices.Equal(got, []string{"libc6:i386"}) {
		t.Errorf("closure(libc6:i386) = %q, %v", got, err)
	}
	if _, err := db.closure([]string{"gcc", "gcc-aarch64-linux-gnu"}); !errors.Is(err, errMissingPackage) {
		t.Errorf("closure of a package not installed: %v, want errMissingPackage", err)
	}
}

// TestDebianSlimImage makes the DebianSlim stand-in for the build platform and for
// linux/arm64 from this machine's packages: each layer has every name once, the C library,
// and the dynamic loader where the platform's binaries look for it.
func TestDebianSlimImage(t *testing.T) {
	db := readDpkg(t)
	for _, tt := range []struct {
		platform string
		want     map[string]string // name: link target, or "" for a regular file
	}{
		{BuildPlatform(), nil},
		{"linux/arm64", map[string]string{
			"usr/lib/ld-linux-aarch64.so.1":                   "aarch64-linux-gnu/ld-linux-aarch64.so.1",
			"usr/lib/aarch64-linux-gnu/libc.so.6":             "",
			"usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1": "",
		}},
	} {
		if tt.platform == "linux/arm64" && BuildPlatform() == "linux/arm64" {
			continue
		}
		img, err := debianSlimImage(db, tt.platform, t.TempDir())
		if errors.Is(err, errMissingPackage) {
			testenv.Missing(t, "a Debian package of the stand-in "+DebianSlim, err.Error())
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.platform, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cf.Platform().String(); got != tt.platform {
			t.Errorf("the image is for %s, want %s", got, tt.platform)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: %d layers, %v; want one", tt.platform, len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]*tar.Header{}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if seen[h.Name] != nil {
				t.Errorf("%s: %s twice in the layer", tt.platform, h.Name)
			}
			seen[h.Name] = h
		}
		rc.Close()
		for _, d := range []string{"etc/", "tmp/"} {
			if seen[d] == nil {
				t.Errorf("%s: no %s", tt.platform, d)
			}
		}
		for name, link := range tt.want {
			h := seen[name]
			switch {
			case h == nil:
				t.Errorf("%s: no %s", tt.platform, name)
			case link == "" && h.Typeflag != tar.TypeReg:
				t.Errorf("%s: %s is not a regular file (type %c)", tt.platform, name, h.Typeflag)
			case link != "" && (h.Typeflag != tar.TypeSymlink || h.Linkname != link):
				t.Errorf("%s: %s links to %q, want %q", tt.platform, name, h.Linkname, link)
			}
		}
	}
}
