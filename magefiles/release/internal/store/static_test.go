package store

import (
	"archive/tar"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/shim"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// staticEntry is one entry of the static layer as read back.
type staticEntry struct {
	hdr  *tar.Header
	data []byte
}

func loadStatic(t *testing.T) Base {
	t.Helper()
	b, err := LoadBase(context.Background(), Static, false, nil, Cache{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// staticEntries reads the one layer of the static base, in order.
func staticEntries(t *testing.T, img v1.Image) []staticEntry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("static base has %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []staticEntry
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, staticEntry{hdr, data})
	}
}

func TestStaticBaseFiles(t *testing.T) {
	b := loadStatic(t)
	if b.Name != Static || b.Index != nil || b.Digest != (v1.Hash{}) || b.Repo != (name.Repository{}) {
		t.Fatalf("static base = %+v, want name static, no index, digest or repository", b)
	}
	if err := validate.Image(b.Image); err != nil {
		t.Fatalf("static image is not valid: %v", err)
	}
	if mt, _ := b.Image.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", mt, types.OCIManifestSchema1)
	}
	m, err := b.Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON || m.Layers[0].MediaType != types.OCILayer || len(m.Annotations) != 0 {
		t.Errorf("manifest = %+v, want an OCI config and layer and no annotations", m)
	}
	cf, err := b.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532" || !slices.Contains(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("config = %+v, want USER 65532 and SSL_CERT_FILE", cf.Config)
	}
	if cf.OS != "" || cf.Architecture != "" || !cf.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("config has platform %s/%s, created %v; want none, and the epoch", cf.OS, cf.Architecture, cf.Created)
	}

	es := staticEntries(t, b.Image)
	names := make([]string, len(es))
	byName := map[string]staticEntry{}
	for i, e := range es {
		names[i] = e.hdr.Name
		byName[e.hdr.Name] = e
		if !e.hdr.ModTime.Equal(time.Unix(0, 0)) || e.hdr.Uname != "" || e.hdr.Gname != "" {
			t.Errorf("%s: mtime %v, owner names %q %q; want the epoch and none", e.hdr.Name, e.hdr.ModTime, e.hdr.Uname, e.hdr.Gname)
		}
		owner := 0
		if e.hdr.Name == "home/nonroot/" {
			owner = StaticUID
		}
		if e.hdr.Uid != owner || e.hdr.Gid != owner {
			t.Errorf("%s: uid/gid %d/%d, want %d", e.hdr.Name, e.hdr.Uid, e.hdr.Gid, owner)
		}
		if strings.HasSuffix(e.hdr.Name, "/") != (e.hdr.Typeflag == tar.TypeDir) || (e.hdr.Typeflag != tar.TypeDir && e.hdr.Typeflag != tar.TypeReg) {
			t.Errorf("%s: type %c, want a directory exactly when the name ends in /, else a file", e.hdr.Name, e.hdr.Typeflag)
		}
		if strings.HasPrefix(e.hdr.Name, "/") || strings.Contains(e.hdr.Name, "..") {
			t.Errorf("entry name %q is not relative and clean", e.hdr.Name)
		}
		if dir := filepath.Dir(strings.TrimSuffix(e.hdr.Name, "/")); dir != "." && !slices.Contains(names[:i], dir+"/") {
			t.Errorf("%s comes before its directory %s/", e.hdr.Name, dir)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("entries are not sorted: %v", names)
	}
	for name, mode := range map[string]int64{
		"etc/": 0o755, "etc/passwd": 0o644, "etc/group": 0o644, "etc/ssl/certs/": 0o755,
		"etc/ssl/certs/ca-certificates.crt": 0o644, "tmp/": 0o1777, "root/": 0o700,
		"home/nonroot/": 0o700, "usr/share/zoneinfo/": 0o755,
		"usr/share/zoneinfo/Europe/Berlin": 0o644, "usr/share/zoneinfo/UTC": 0o644,
	} {
		e, ok := byName[name]
		if !ok {
			t.Errorf("no %s in the static layer", name)
			continue
		}
		if e.hdr.Mode != mode {
			t.Errorf("%s: mode %o, want %o", name, e.hdr.Mode, mode)
		}
	}
	if got := string(byName["etc/passwd"].data); !strings.Contains(got, "root:x:0:0:") || !strings.Contains(got, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd = %q, want root and nonroot", got)
	}
	if got := string(byName["etc/group"].data); got != "root:x:0:\nnonroot:x:65532:\n" {
		t.Errorf("/etc/group = %q", got)
	}

	// The CA bundle: every block a certificate, every unconstrained root of the bundle there.
	ca := byName["etc/ssl/certs/ca-certificates.crt"].data
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("no certificate in the CA bundle")
	}
	var n, want int
	for rest := ca; ; n++ {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if _, err := x509.ParseCertificate(blk.Bytes); blk.Type != "CERTIFICATE" || err != nil {
			t.Errorf("block %d of the CA bundle: type %s, %v", n, blk.Type, err)
		}
	}
	for r := range bundle.Roots() {
		if r.Constraint == nil {
			want++
		}
	}
	if n != want || n < 100 {
		t.Errorf("the CA bundle has %d roots, want the bundle's %d unconstrained ones (over 100)", n, want)
	}
	isrg := bundleRoot(t, "ISRG Root X1")
	if _, err := isrg.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("ISRG Root X1 does not verify against the CA bundle: %v", err)
	}

	// The zone data: Europe/Berlin as package time reads it.
	berlin, err := time.LoadLocationFromTZData("Europe/Berlin", byName["usr/share/zoneinfo/Europe/Berlin"].data)
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2025, 7, 1, 12, 0, 0, 0, berlin).Zone(); off != 2*3600 {
		t.Errorf("Europe/Berlin in July is UTC%+d s, want +7200", off)
	}
	zones := 0
	for _, nm := range names {
		if strings.HasPrefix(nm, StaticZoneDir+"/") && !strings.HasSuffix(nm, "/") {
			zones++
		}
	}
	if zones < 400 {
		t.Errorf("%d zones in the static layer, want Go's (about 600)", zones)
	}
}

// bundleRoot is the root of the fallback bundle whose common name is cn.
func bundleRoot(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err == nil && c.Subject.CommonName == cn {
			return c
		}
	}
	t.Fatalf("no %s in the fallback bundle", cn)
	return nil
}

func TestStaticBaseReproducible(t *testing.T) {
	a, b := loadStatic(t), loadStatic(t)
	da, err := a.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("two static bases have digests %s and %s", da, db)
	}
	ls, _ := a.Image.Layers()
	la, _ := ls[0].Digest()
	ls, _ = b.Image.Layers()
	lb, _ := ls[0].Digest()
	if la != lb {
		t.Errorf("two static layers have digests %s and %s", la, lb)
	}

	// One image serves every platform, with no digest (nothing to annotate or mount).
	if ps, err := a.Platforms(); err != nil || ps != nil {
		t.Errorf("Platforms() = %v, %v; want none (any platform)", ps, err)
	}
	for _, p := range []string{"linux/amd64", "linux/arm/v6", "linux/s390x", "linux/riscv64"} {
		sp, err := shim.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		img, d, err := a.ImageFor(sp)
		if err != nil || img != a.Image || d != (v1.Hash{}) {
			t.Errorf("ImageFor(%s) = %v, %v, %v; want the static image, no digest", p, img, d, err)
		}
	}
	if !Builtin("static") || !Builtin("scratch") || Builtin("docker.io/library/static") {
		t.Error("Builtin is wrong")
	}
}

// staticProbe checks what the static base promises, from inside a container, with nothing
// of its own: the system roots (no fallback import), the zone files, the user, /tmp.
const staticProbe = `package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"
)

const root = ` + "`%s`" + `

func main() {
	blk, _ := pem.Decode([]byte(root))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		fail(err)
	}
	if _, err := c.Verify(x509.VerifyOptions{}); err != nil {
		fail(fmt.Errorf("system roots: %%w", err))
	}
	if _, err := time.LoadLocation("Europe/Berlin"); err != nil {
		fail(err)
	}
	if os.Getuid() != 65532 || os.Getgid() != 65532 {
		fail(fmt.Errorf("uid/gid %%d/%%d", os.Getuid(), os.Getgid()))
	}
	f, err := os.CreateTemp("", "probe")
	if err != nil {
		fail(err)
	}
	f.Close()
	fmt.Println("ok")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(1)
}
`

// TestStaticBaseInEngine runs a program on the static base in the Docker engine: it verifies
// a public root (ISRG Root X1) against the system roots, loads Europe/Berlin, runs as 65532
// and writes to /tmp, without network.
func TestStaticBaseInEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program and runs a container")
	}
	docker := testenv.Command(t, "docker", "install Docker and start dockerd")
	if out, err := exec.Command(docker, "info", "--format", "{{.OSType}}").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "linux" {
		testenv.Missing(t, "a running Docker engine for linux", strings.TrimSpace(string(out)))
	}
	dir := t.TempDir()
	isrg := bundleRoot(t, "ISRG Root X1")
	src := strings.Replace(staticProbe, "%s", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: isrg.Raw})), 1)
	src = strings.ReplaceAll(src, "%%", "%")
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module probe\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", "probe", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	layer, err := oci.BinaryLayer(filepath.Join(dir, "probe"), "probe", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := shim.Parse("linux/" + runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	img, err := oci.NewImage(loadStatic(t).Image, layer, oci.ImageSpec{Platform: p, Entrypoint: []string{"/probe"}})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("xgo-build-static-probe:test")
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(docker, "load", "-i", archive).CombinedOutput(); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(docker, "rmi", "-f", tag.String()).Run() })
	out, err := exec.Command(docker, "run", "--rm", "--network", "none", tag.String()).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
}
