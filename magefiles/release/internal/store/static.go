package store

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Static is the XGO_BASE of the built-in runtime base: one layer with what a Go server needs
// beyond its binary, made by the release without any network.
const Static = "static"

// Builtin reports whether the base named ref is made by the release (scratch, static), not
// fetched: it needs no registry, suits every platform and has no reference or digest.
func Builtin(ref string) bool { return ref == "scratch" || ref == Static }

// Paths and owners in the static base.
const (
	StaticCAFile   = "etc/ssl/certs/ca-certificates.crt" // the first file crypto/x509 reads on linux
	StaticZoneDir  = "usr/share/zoneinfo"                // the first directory package time reads
	StaticUID      = 65532                               // nonroot, as in distroless and ko's base
	staticUser     = "65532"
	staticNonroot  = "home/nonroot"
	staticCertPath = "/" + StaticCAFile
)

// staticBase is the base "static": an OCI image of StaticLayer, whose config sets USER 65532
// and PATH and SSL_CERT_FILE. The release sets the platform and entrypoint per image, as
// for scratch; the image has no platform of its own and no digest a registry knows.
func staticBase(ctx context.Context) (Base, error) {
	goroot, err := goRoot(ctx)
	if err != nil {
		return Base{}, fmt.Errorf("making the static base: %w", err)
	}
	layer, err := StaticLayer(goroot)
	if err != nil {
		return Base{}, err
	}
	img, err := staticImage(layer)
	if err != nil {
		return Base{}, fmt.Errorf("making the static base: %w", err)
	}
	return Base{Name: Static, Image: img}, nil
}

func staticImage(layer v1.Layer) (v1.Image, error) {
	diffID, err := layer.DiffID()
	if err != nil {
		return nil, err
	}
	epoch := v1.Time{Time: oci.LayerTime(time.Time{})}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, &v1.ConfigFile{
		Created: epoch,
		Config: v1.Config{
			User: staticUser,
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"SSL_CERT_FILE=" + staticCertPath,
			},
		},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History: []v1.History{{
			Created:   epoch,
			CreatedBy: "xgo-build static base",
			Comment:   "CA certificates, time zones, /etc/passwd, /etc/group, /tmp",
		}},
	})
}

// goRoot is the GOROOT of the go command on PATH, the toolchain that builds the binaries.
func goRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(out))
	if root == "" {
		return "", fmt.Errorf("go env GOROOT printed nothing")
	}
	return root, nil
}

// staticFile is one entry of the static layer.
type staticFile struct {
	name     string // relative, "/" after a directory
	mode     int64
	uid, gid int
	data     []byte
}

// StaticLayer returns the layer of the static base, gzipped at oci.LayerGzipLevel. Its
// entries, sorted by name, all with the Unix epoch as mtime, uid/gid 0 but for /home/nonroot:
//
//   - /etc/ssl/certs/ca-certificates.crt (0644): the roots of
//     golang.org/x/crypto/x509roots/fallback/bundle (Mozilla's NSS store) at the version in
//     the build list, as PEM, each after a "# subject" line; the roots NSS constrains (a
//     distrust-after date, which PEM cannot say) are left out;
//   - /usr/share/zoneinfo/<zone> (0644): every file of goroot's lib/time/zoneinfo.zip, so
//     the time zone data is that of the Go version that builds the release;
//   - /etc/passwd and /etc/group (0644): root (0) and nonroot (65532);
//   - /tmp (1777), /root (0700), /home/nonroot (0700, owned by 65532).
//
// The same roots and zoneinfo.zip always give the same digest.
func StaticLayer(goroot string) (v1.Layer, error) {
	files, err := staticFiles(goroot)
	if err != nil {
		return nil, fmt.Errorf("making the static base: %w", err)
	}
	var buf bytes.Buffer
	if err := writeStaticTar(&buf, files); err != nil {
		return nil, fmt.Errorf("making the static base: %w", err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressionLevel(oci.LayerGzipLevel), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("making the static base: %w", err)
	}
	return staticLayer{l}, nil
}

// staticLayer hides the Descriptor method of tarball's layers (see oci's plainLayer).
type staticLayer struct{ v1.Layer }

// staticFiles lists the entries of the static layer, sorted, with every parent directory.
func staticFiles(goroot string) ([]staticFile, error) {
	ca, err := caBundle()
	if err != nil {
		return nil, err
	}
	files := []staticFile{
		{name: StaticCAFile, mode: 0o644, data: ca},
		{name: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "tmp/", mode: 0o1777},
		{name: "root/", mode: 0o700},
		{name: staticNonroot + "/", mode: 0o700, uid: StaticUID, gid: StaticUID},
	}
	zones, err := zoneFiles(filepath.Join(goroot, "lib", "time", "zoneinfo.zip"))
	if err != nil {
		return nil, err
	}
	files = append(files, zones...)

	seen := map[string]bool{}
	for _, f := range files {
		seen[f.name] = true
	}
	for _, f := range files {
		for d := path.Dir(strings.TrimSuffix(f.name, "/")); d != "."; d = path.Dir(d) {
			if !seen[d+"/"] {
				seen[d+"/"] = true
				files = append(files, staticFile{name: d + "/", mode: 0o755})
			}
		}
	}
	slices.SortFunc(files, func(a, b staticFile) int { return strings.Compare(a.name, b.name) })
	return files, nil
}

// caBundle is the PEM of the unconstrained roots of the fallback bundle, in its order.
func caBundle() ([]byte, error) {
	var buf bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			return nil, fmt.Errorf("reading the CA roots: %w", err)
		}
		fmt.Fprintf(&buf, "# %s\n", c.Subject)
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// zoneFiles reads every zone of Go's zoneinfo.zip as a file under StaticZoneDir.
func zoneFiles(zipPath string) ([]staticFile, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("reading the time zone database: %w", err)
	}
	defer zr.Close()
	var out []staticFile
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		clean := path.Clean(f.Name)
		if clean != f.Name || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("reading the time zone database %s: bad entry %q", zipPath, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("reading the time zone database %s: %w", zipPath, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the time zone database %s: %s: %w", zipPath, f.Name, err)
		}
		out = append(out, staticFile{name: StaticZoneDir + "/" + clean, mode: 0o644, data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading the time zone database %s: no zones", zipPath)
	}
	return out, nil
}

// writeStaticTar writes files as a PAX tar with the Unix epoch as every time.
func writeStaticTar(w io.Writer, files []staticFile) error {
	tw := tar.NewWriter(w)
	epoch := oci.LayerTime(time.Time{})
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: epoch, Format: tar.FormatPAX}
		if strings.HasSuffix(f.name, "/") {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}
