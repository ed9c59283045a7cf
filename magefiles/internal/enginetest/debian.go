package enginetest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
)

// The Debian stand-ins are made of the files that Debian packages installed on this machine
// put there, as dpkg lists them, in this machine's layout (merged /usr on Debian 12), owned by
// root, without documentation, manual pages and translations. They are made and pushed on
// demand, by PushDebianStandIns and PushDebianPackages, not by Start: only the tests of cgo in
// Dockerfiles need them, and they need a Debian machine with the C compilers installed.

// GolangDebian is the docker.io name of the stand-in for the official golang image on Debian.
const GolangDebian = "library/golang:1.26"

// DebianSlim is the docker.io name of the stand-in for Debian's slim image.
const DebianSlim = "library/debian:bookworm-slim"

// golangDebianPackages are the Debian packages of the GolangDebian stand-in: a shell, the core
// utilities, and the C compiler and C library headers that the official image installs for
// cgo; with everything they depend on.
var golangDebianPackages = []string{"dash", "coreutils", "gcc", "libc6-dev"}

// debianTargets are the Debian architecture names and GNU triples of the linux platforms the
// DebianSlim stand-in can be made for. A foreign one's C library comes from Debian's
// libc6-<arch>-cross, the one libc6-dev-<arch>-cross needs for cgo cross builds.
var debianTargets = map[string]struct{ arch, triple string }{
	"linux/amd64":   {"amd64", "x86_64-linux-gnu"},
	"linux/arm64":   {"arm64", "aarch64-linux-gnu"},
	"linux/arm/v7":  {"armhf", "arm-linux-gnueabihf"},
	"linux/riscv64": {"riscv64", "riscv64-linux-gnu"},
	"linux/ppc64le": {"ppc64el", "powerpc64le-linux-gnu"},
	"linux/s390x":   {"s390x", "s390x-linux-gnu"},
}

// debianSkipped are the trees of a package's files the stand-ins leave out.
var debianSkipped = []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian", "usr/share/bug"}

// PushDebianStandIns pushes the Debian stand-ins to the engine's registry, under their
// docker.io names: GolangDebian, for the build platform, holds golangDebianPackages, the CA
// bundle, root's passwd entry and the running Go toolchain, with the golang image's
// environment; DebianSlim is an index of platforms (os/arch[/variant], keys of
// debianTargets), each image the C library of its platform (libc6, or libc6-<arch>-cross
// moved where the platform's own libc6 puts it: /usr/lib/<triple>, the dynamic loader linked
// from /usr/lib), so that a dynamically linked cgo binary runs on it. Where the machine lacks
// what they are made of (dpkg, a package), it stops t as testenv.Missing does.
func (e *Engine) PushDebianStandIns(t testing.TB, platforms []string) {
	t.Helper()
	start := time.Now()
	db := readDpkg(t)
	files, err := findStandInFiles()
	if err != nil {
		testenv.Missing(t, "the files of the stand-in base images", err.Error())
	}
	dir := t.TempDir()
	golang, err := golangDebianImage(db, files, dir)
	if errors.Is(err, errMissingPackage) {
		testenv.Missing(t, "a Debian package of the stand-in "+GolangDebian, err.Error())
	}
	if err != nil {
		t.Fatalf("enginetest: making the stand-in %s: %v", GolangDebian, err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		img, err := debianSlimImage(db, p, dir)
		if errors.Is(err, errMissingPackage) {
			testenv.Missing(t, "a Debian package of the stand-in "+DebianSlim, err.Error())
		}
		if err != nil {
			t.Fatalf("enginetest: making the stand-in %s for %s: %v", DebianSlim, p, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cf.Platform()}})
	}
	ctx := context.Background()
	if err := e.push(ctx, GolangDebian, golang); err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	if err := e.push(ctx, DebianSlim, idx); err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	t.Logf("enginetest: the Debian stand-ins %s and %s (%s) pushed in %.1fs", GolangDebian, DebianSlim, strings.Join(platforms, ","), time.Since(start).Seconds())
}

// PushDebianPackages pushes to the engine's registry, as repo (a repository and tag), an
// image of the build platform holding the files of the Debian packages pkgs and of every
// package they depend on that the GolangDebian stand-in lacks: what `apt-get install pkgs`
// adds to a stage that starts from it. A package this machine has not installed stops t as
// testenv.Missing does, naming it.
func (e *Engine) PushDebianPackages(t testing.TB, repo string, pkgs []string) {
	t.Helper()
	start := time.Now()
	db := readDpkg(t)
	have, err := db.closure(golangDebianPackages)
	if err != nil {
		testenv.Missing(t, "a Debian package of the stand-in "+GolangDebian, err.Error())
	}
	want, err := db.closure(pkgs)
	if err != nil {
		testenv.Missing(t, "a Debian package to install", err.Error())
	}
	want = slices.DeleteFunc(want, func(id string) bool { return slices.Contains(have, id) })
	paths, err := packageFiles(want)
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	layer, err := writeLayer(filepath.Join(t.TempDir(), "packages.tar"), func(tw *tar.Writer) error {
		return addHostFiles(tw, canonical(paths))
	})
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	img, err := platformImage(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, nil, layer)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.push(context.Background(), repo, img); err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	size, _ := layer.Size()
	t.Logf("enginetest: %s pushed in %.1fs: %d Debian packages (%s), %d MB", repo, time.Since(start).Seconds(), len(want), strings.Join(want, " "), size>>20)
}

// push pushes an image or an index to the engine's registry as repo.
func (e *Engine) push(ctx context.Context, repo string, w remote.Taggable) error {
	ref, err := name.ParseReference(e.Registry.Host()+"/"+repo, name.Insecure)
	if err != nil {
		return err
	}
	switch w := w.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, w, remote.WithContext(ctx))
	case v1.Image:
		err = remote.Write(ref, w, remote.WithContext(ctx))
	default:
		err = fmt.Errorf("%T is neither an image nor an index", w)
	}
	if err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}

// golangDebianImage returns the GolangDebian stand-in, its layers written into dir.
func golangDebianImage(db *dpkgDB, files standInFiles, dir string) (v1.Image, error) {
	ids, err := db.closure(golangDebianPackages)
	if err != nil {
		return nil, err
	}
	paths, err := packageFiles(ids)
	if err != nil {
		return nil, err
	}
	// /bin/sh is dash's diversion, no file of the package; the directories of the files
	// addDebianEtc writes may be no package's.
	paths = canonical(append(paths, "/bin/sh", "/etc/ssl/certs/.", "/root/.", "/tmp/."))
	base, err := writeLayer(filepath.Join(dir, "debian.tar"), func(tw *tar.Writer) error {
		if err := addRootLinks(tw); err != nil {
			return err
		}
		if err := addHostFiles(tw, paths); err != nil {
			return err
		}
		return addDebianEtc(tw, files.caCerts)
	})
	if err != nil {
		return nil, err
	}
	goroot, err := gorootLayer(files, dir)
	if err != nil {
		return nil, err
	}
	return golangConfig(files, base, goroot)
}

// debianSlimImage returns the DebianSlim stand-in for the platform p, its layer written into
// dir.
func debianSlimImage(db *dpkgDB, p, dir string) (v1.Image, error) {
	target, ok := debianTargets[p]
	if !ok {
		return nil, fmt.Errorf("no Debian C library known for %s", p)
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		return nil, err
	}
	var add func(*tar.Writer) error
	if target.arch == db.arch {
		ids, err := db.closure([]string{"libc6"})
		if err != nil {
			return nil, err
		}
		paths, err := packageFiles(ids)
		if err != nil {
			return nil, err
		}
		add = func(tw *tar.Writer) error { return addHostFiles(tw, canonical(append(paths, "/etc/.", "/tmp/."))) }
	} else {
		pkg := "libc6-" + target.arch + "-cross"
		if _, err := db.closure([]string{pkg}); err != nil {
			return nil, err
		}
		paths, err := packageFiles([]string{pkg})
		if err != nil {
			return nil, err
		}
		add = func(tw *tar.Writer) error {
			if err := addHostFiles(tw, canonical([]string{"/etc/.", "/tmp/."})); err != nil {
				return err
			}
			return addCrossLibc(tw, paths, target.triple)
		}
	}
	tarPath := filepath.Join(dir, "debian-slim-"+strings.ReplaceAll(p, "/", "_")+".tar")
	if _, err := writeLayer(tarPath, func(tw *tar.Writer) error {
		if err := addRootLinks(tw); err != nil {
			return err
		}
		return add(tw)
	}); err != nil {
		return nil, err
	}
	// Compressed, as Debian's layers are and unlike the other stand-ins' layers: an image
	// built FROM it carries this layer as it is, and go-containerregistry's validate.Index,
	// which checks what a build pushed, reads every layer through gzip.
	layer, err := tarball.LayerFromFile(tarPath, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, err
	}
	return platformImage(*plat, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, layer)
}

// platformImage returns an image of layer for p with the environment env.
func platformImage(p v1.Platform, env []string, layer v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config = v1.Config{Env: env}
	return mutate.ConfigFile(img, cf)
}

// addCrossLibc writes the files of a libc6-<arch>-cross package (paths, as dpkg lists them)
// where the platform's own libc6 has them: /usr/<triple>/lib/X as /usr/lib/<triple>/X, and
// the dynamic loader, the interpreter the platform's binaries name (/lib/ld-linux-*.so.*),
// linked from /usr/lib.
func addCrossLibc(tw *tar.Writer, paths []string, triple string) error {
	from := "/usr/" + triple + "/lib/"
	written := false
	for _, d := range []string{"usr/", "usr/lib/", "usr/lib/" + triple + "/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}); err != nil {
			return err
		}
	}
	for _, p := range paths {
		rel, ok := strings.CutPrefix(p, from)
		if !ok || rel == "" {
			continue
		}
		dst := "usr/lib/" + triple + "/" + rel
		if err := addHostFile(tw, p, dst); err != nil {
			return err
		}
		if base := path.Base(rel); !strings.Contains(rel, "/") && strings.HasPrefix(base, "ld-linux") {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "usr/lib/" + base, Linkname: triple + "/" + base, Mode: 0o777}); err != nil {
				return err
			}
		}
		written = true
	}
	if !written {
		return fmt.Errorf("no file of the package under %s", from)
	}
	return nil
}

// addRootLinks writes the links of this machine's root directory into usr (/bin, /lib and
// the like on a merged /usr), as they are here.
func addRootLinks(tw *tar.Writer) error {
	for _, d := range []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		target, err := os.Readlink("/" + d)
		if err != nil {
			continue // a directory (its files are written where they are) or nothing
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: d, Linkname: target, Mode: 0o777}); err != nil {
			return err
		}
	}
	return nil
}

// addDebianEtc writes the files of a root file system that no package of the stand-in
// owns, after the directories they are in: GOPATH (/go), the CA bundle, and root's and
// nobody's passwd and group entries.
func addDebianEtc(tw *tar.Writer, caCerts string) error {
	for _, d := range []string{"go/", "go/bin/", "go/src/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o1777}); err != nil {
			return err
		}
	}
	ca, err := os.ReadFile(caCerts)
	if err != nil {
		return err
	}
	if err := writeFile(tw, "etc/ssl/certs/ca-certificates.crt", 0o644, ca); err != nil {
		return err
	}
	if err := writeFile(tw, "etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")); err != nil {
		return err
	}
	return writeFile(tw, "etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
}

// canonical returns the paths (absolute, as dpkg lists them) as they are on this machine,
// relative to the root: each with its directory's links resolved (/lib/x86_64-linux-gnu/X is
// usr/lib/x86_64-linux-gnu/X on a merged /usr), every directory above them added, sorted,
// without duplicates, the trees of debianSkipped or the links of the root directory.
func canonical(paths []string) []string {
	set := map[string]bool{}
	for _, p := range paths {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			continue // a file the package lists that is not there (removed by the admin)
		}
		c := strings.TrimPrefix(filepath.Join(dir, filepath.Base(p)), "/")
		if c == "" || c == "." || slices.ContainsFunc(debianSkipped, func(s string) bool { return c == s || strings.HasPrefix(c, s+"/") }) {
			continue
		}
		if _, err := os.Readlink("/" + c); err == nil && !strings.Contains(c, "/") {
			continue // a link of the root directory, which addRootLinks writes
		}
		for d := c; d != "." && !set[d]; d = path.Dir(d) {
			set[d] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// addHostFiles writes the files of this machine at paths (relative to the root, parents
// first, as canonical returns them) under the same names.
func addHostFiles(tw *tar.Writer, paths []string) error {
	for _, p := range paths {
		if err := addHostFile(tw, "/"+p, p); err != nil {
			return err
		}
	}
	return nil
}

// addHostFile writes the file of this machine at src (a directory, a regular file or a
// link; anything else is left out) as dst, owned by root.
func addHostFile(tw *tar.Writer, src, dst string) error {
	info, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case info.IsDir():
		mode := int64(info.Mode().Perm())
		if info.Mode()&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dst + "/", Mode: mode})
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: dst, Linkname: target, Mode: 0o777})
	case info.Mode().IsRegular():
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		if info.Mode()&fs.ModeSetuid != 0 {
			mode |= 0o4000
		}
		return writeFile(tw, dst, mode, data)
	}
	return nil
}

// errMissingPackage is the error of a package this machine has not installed.
var errMissingPackage = errors.New("not installed")

// dpkgDB is the installed packages of dpkg's database.
type dpkgDB struct {
	arch      string                  // dpkg's native architecture, "amd64"
	byName    map[string][]debPackage // by package name, without architecture
	providers map[string][]debPackage // by the virtual package they provide
}

// debPackage is an installed Debian package.
type debPackage struct {
	id, name, arch string     // "libc6:amd64" (dpkg's binary:Package), "libc6", "amd64"
	depends        [][]string // Pre-Depends and Depends: each a list of alternatives, names only
}

// readDpkg reads dpkg's database, or stops t as testenv.Missing does on a machine without
// dpkg.
func readDpkg(t testing.TB) *dpkgDB {
	t.Helper()
	testenv.Command(t, "dpkg-query", "the Debian stand-in images are made of this machine's Debian packages: run the test on Debian")
	db, err := loadDpkg()
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	return db
}

// loadDpkg reads dpkg's database.
func loadDpkg() (*dpkgDB, error) {
	arch, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg --print-architecture: %w", err)
	}
	out, err := exec.Command("dpkg-query", "-W", "-f", `${db:Status-Status}\t${binary:Package}\t${Package}\t${Architecture}\t${Provides}\t${Pre-Depends}, ${Depends}\n`).Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-query -W: %w", err)
	}
	db := &dpkgDB{arch: strings.TrimSpace(string(arch)), byName: map[string][]debPackage{}, providers: map[string][]debPackage{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 6 || f[0] != "installed" {
			continue
		}
		p := debPackage{id: f[1], name: f[2], arch: f[3], depends: parseDepends(f[5])}
		db.byName[p.name] = append(db.byName[p.name], p)
		for _, alts := range parseDepends(f[4]) {
			db.providers[alts[0]] = append(db.providers[alts[0]], p)
		}
	}
	return db, sc.Err()
}

// parseDepends parses a dependency field ("a (>= 1) | b:any, c [amd64]") into its
// alternatives, names only: [[a b] [c]].
func parseDepends(field string) [][]string {
	var deps [][]string
	for _, dep := range strings.Split(field, ",") {
		var alts []string
		for _, alt := range strings.Split(dep, "|") {
			n := strings.TrimSpace(alt)
			if i := strings.IndexAny(n, " (<["); i >= 0 {
				n = n[:i]
			}
			if n != "" {
				alts = append(alts, n)
			}
		}
		if len(alts) > 0 {
			deps = append(deps, alts)
		}
	}
	return deps
}

// resolve returns the installed package that satisfies the dependency name ("libc6",
// "libc6:amd64", "perl:any", a virtual package), preferring one of the native architecture.
func (db *dpkgDB) resolve(dep string) (debPackage, bool) {
	n, arch, _ := strings.Cut(dep, ":")
	pick := func(ps []debPackage) (debPackage, bool) {
		for _, pass := range []func(debPackage) bool{
			func(p debPackage) bool { return arch != "" && arch != "any" && p.arch == arch },
			func(p debPackage) bool { return p.arch == db.arch || p.arch == "all" },
			func(debPackage) bool { return arch == "any" || arch == "" },
		} {
			for _, p := range ps {
				if pass(p) {
					return p, true
				}
			}
		}
		return debPackage{}, false
	}
	if p, ok := pick(db.byName[n]); ok {
		return p, true
	}
	return pick(db.providers[n])
}

// closure returns the packages names and every installed package they depend on, as dpkg
// ids ("libc6:amd64"), sorted; a name that no installed package satisfies is an error that
// wraps errMissingPackage.
func (db *dpkgDB) closure(names []string) ([]string, error) {
	seen := map[string]bool{}
	var walk func(p debPackage)
	walk = func(p debPackage) {
		if seen[p.id] {
			return
		}
		seen[p.id] = true
		for _, alts := range p.depends {
			for _, a := range alts {
				if d, ok := db.resolve(a); ok {
					walk(d)
					break
				}
			}
			// A dependency no alternative of which is installed is one dpkg let go
			// (dpkg --force-depends): the stand-in goes without it, as the machine does.
		}
	}
	for _, n := range names {
		p, ok := db.resolve(n)
		if !ok {
			return nil, fmt.Errorf("the Debian package %s is %w here (apt-get install %s)", n, errMissingPackage, n)
		}
		walk(p)
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// packageFiles returns the paths of the files of the installed packages ids, as dpkg lists
// them.
func packageFiles(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := exec.Command("dpkg-query", append([]string{"-L"}, ids...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-query -L %s: %w", strings.Join(ids, " "), err)
	}
	var paths []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "/") && l != "/." {
			paths = append(paths, l)
		}
	}
	return paths, nil
}
