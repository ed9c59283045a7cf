package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// standIns make the base images that Start pushes to the engine's registry, by the docker.io
// repository and tag the Dockerfiles name (golang:1.26-alpine is docker.io's
// library/golang:1.26-alpine). Each is a single-platform image for the build platform: the
// stages that use them run on $BUILDPLATFORM.
var standIns = map[string]func(files standInFiles, dir string) (v1.Image, error){
	"library/golang:1.26-alpine": golangImage,
}

// standInFiles are the files of this machine the stand-in images are made of.
type standInFiles struct {
	goroot    string // the running Go toolchain's GOROOT
	goVersion string // its version, "1.26.8"
	busybox   string // a static busybox
	caCerts   string // a PEM bundle of CA certificates
}

// caBundles are where Debian, Alpine and Fedora keep their CA bundle.
var caBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// findStandInFiles finds the files of the stand-in images on this machine; an error says
// what is missing and how to get it.
func findStandInFiles() (standInFiles, error) {
	var f standInFiles
	out, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		return f, fmt.Errorf("go env GOROOT GOVERSION: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return f, fmt.Errorf("go env GOROOT GOVERSION printed %q", out)
	}
	f.goroot, f.goVersion = lines[0], strings.TrimPrefix(lines[1], "go")
	if f.busybox, err = exec.LookPath("busybox"); err != nil {
		return f, errors.New("no busybox on PATH: install Debian's busybox-static (apt-get install busybox-static)")
	}
	if err := checkStatic(f.busybox); err != nil {
		return f, fmt.Errorf("%w: install Debian's busybox-static (apt-get install busybox-static)", err)
	}
	for _, c := range caBundles {
		if _, err := os.Stat(c); err == nil {
			f.caCerts = c
			break
		}
	}
	if f.caCerts == "" {
		return f, fmt.Errorf("no CA bundle at %s: install Debian's ca-certificates", strings.Join(caBundles, " or "))
	}
	return f, nil
}

// checkStatic returns an error when the ELF file at p needs a dynamic loader, which the
// stand-in images do not have.
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", p)
		}
	}
	return nil
}

// pushStandIns builds every image of standIns from files, in dir, and pushes it to the
// plain-HTTP registry host under its docker.io name.
func pushStandIns(ctx context.Context, host string, files standInFiles, dir string) error {
	for _, repo := range slices.Sorted(maps.Keys(standIns)) {
		img, err := standIns[repo](files, dir)
		if err != nil {
			return fmt.Errorf("making the stand-in %s: %w", repo, err)
		}
		ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	return nil
}

// golangImage returns the stand-in for golang:1.26-alpine: a base layer with busybox as
// /bin/sh and its other applets, the CA bundle, /etc/passwd, /tmp and GOPATH (/go), then the
// Go toolchain at /usr/local/go, with the official image's environment. Its layers are
// written into dir.
func golangImage(files standInFiles, dir string) (v1.Image, error) {
	base, err := writeLayer(filepath.Join(dir, "base.tar"), func(tw *tar.Writer) error {
		return addBase(tw, files)
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

// gorootLayer writes the layer of the Go toolchain at /usr/local/go into dir.
func gorootLayer(files standInFiles, dir string) (v1.Layer, error) {
	return writeLayer(filepath.Join(dir, "goroot.tar"), func(tw *tar.Writer) error {
		for _, d := range []string{"usr/", "usr/local/"} {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}); err != nil {
				return err
			}
		}
		return addTree(tw, files.goroot, "usr/local/go")
	})
}

// golangConfig returns the image of layers, for the build platform, with the official golang
// images' environment.
func golangConfig(files standInFiles, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		Env: []string{
			"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"GOLANG_VERSION=" + files.goVersion,
			"GOTOOLCHAIN=local",
			"GOPATH=/go",
		},
		WorkingDir: "/go",
		Cmd:        []string{"/bin/sh"},
	}
	return mutate.ConfigFile(img, cf)
}

// writeLayer writes the tar that add fills to path and returns it as a layer.
func writeLayer(path string, add func(*tar.Writer) error) (v1.Layer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	tw := tar.NewWriter(cw)
	if err := add(tw); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	digest := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return &plainLayer{path: path, digest: digest, size: cw.n}, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// plainLayer is a layer stored and pushed as the uncompressed tar it is: compressing the
// 270 MB of a Go toolchain took most of a minute (the tests run under the race detector),
// for a registry and a BuildKit on this machine.
type plainLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

func (l *plainLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *plainLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *plainLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l *plainLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *plainLayer) Size() (int64, error)                 { return l.size, nil }
func (l *plainLayer) MediaType() (types.MediaType, error) {
	return types.OCIUncompressedLayer, nil
}

// addBase writes the base layer: the directories of a small root file system, busybox and a
// link to it for each applet, the CA bundle, and root's and nobody's passwd and group entries.
func addBase(tw *tar.Writer, files standInFiles) error {
	for _, d := range []struct {
		name string
		mode int64
	}{
		{"bin/", 0o755}, {"etc/", 0o755}, {"etc/ssl/", 0o755}, {"etc/ssl/certs/", 0o755},
		{"root/", 0o700}, {"tmp/", 0o1777}, {"usr/", 0o755}, {"usr/bin/", 0o755},
		{"go/", 0o1777}, {"go/bin/", 0o1777}, {"go/src/", 0o1777},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode}); err != nil {
			return err
		}
	}
	busybox, err := os.ReadFile(files.busybox)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(files.caCerts)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, busybox},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, ca},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n")},
		{"etc/group", 0o644, []byte("root:x:0:root\nnobody:x:65534:\n")},
	} {
		if err := writeFile(tw, f.name, f.mode, f.data); err != nil {
			return err
		}
	}
	applets, err := exec.Command(files.busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", files.busybox, err)
	}
	for _, a := range strings.Fields(string(applets)) {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "usr/bin/env", Linkname: "/bin/busybox", Mode: 0o777})
}

// writeFile writes a regular file owned by root.
func writeFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := io.Copy(tw, bytes.NewReader(data))
	return err
}

// addTree writes the tree at src under dst, owned by root, with its modes and links.
func addTree(tw *tar.Writer, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		h.Name = path.Join(dst, filepath.ToSlash(rel))
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("copying %s: %w", p, err)
			}
		}
		return nil
	})
}
