package enginetest

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
)

func TestBuildkitdConfig(t *testing.T) {
	got := string(buildkitdConfig("/t/root", "/t/buildkitd.sock", "/usr/sbin/runc", "127.0.0.1:5000"))
	want := `root = "/t/root"

[grpc]
  address = ["unix:///t/buildkitd.sock"]

[worker.oci]
  enabled = true
  binary = "/usr/sbin/runc"
  snapshotter = "auto"
  networkMode = "host"
  gc = false

[worker.containerd]
  enabled = false

[registry."docker.io"]
  mirrors = ["127.0.0.1:5000"]

[registry."127.0.0.1:5000"]
  http = true
`
	if got != want {
		t.Errorf("buildkitdConfig:\n%s\nwant:\n%s", got, want)
	}
}

func TestFindBinary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "buildkitd")
	t.Setenv("XGO_TEST_BUILDKITD", missing)
	if _, err := findBinary("XGO_TEST_BUILDKITD", "buildkitd"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "XGO_TEST_BUILDKITD") {
		t.Errorf("findBinary with a missing $XGO_TEST_BUILDKITD: %v, want a not-exist error naming the variable", err)
	}
	if err := os.WriteFile(missing, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findBinary("XGO_TEST_BUILDKITD", "buildkitd"); got != missing || err != nil {
		t.Errorf("findBinary = %q, %v; want %q", got, err, missing)
	}
}

// TestGolangImage makes the golang stand-in from a small fake GOROOT and checks its layers
// and configuration.
func TestGolangImage(t *testing.T) {
	busybox := testenv.Command(t, "busybox", "install Debian's busybox-static (apt-get install busybox-static)")
	if err := checkStatic(busybox); err != nil {
		testenv.Missing(t, "a static busybox", err.Error()+": install Debian's busybox-static")
	}
	goroot := t.TempDir()
	for name, mode := range map[string]fs.FileMode{"bin/go": 0o755, "src/fmt/print.go": 0o644, "VERSION": 0o644} {
		p := filepath.Join(goroot, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("certificates"), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := golangImage(standInFiles{goroot: goroot, goVersion: "1.26.8", busybox: busybox, caCerts: ca}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// validate reads every layer as gzip: its fast mode checks the manifest and the config,
	// and the loop below the uncompressed layers' digests and sizes.
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		if mt, _ := l.MediaType(); mt != types.OCIUncompressedLayer {
			t.Errorf("layer %d: media type %s, want %s", i, mt, types.OCIUncompressedLayer)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		h, n, err := v1.SHA256(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		digest, _ := l.Digest()
		diffID, _ := l.DiffID()
		size, _ := l.Size()
		if digest != h || diffID != h || size != n {
			t.Errorf("layer %d: digest %s, diff ID %s, size %d; its bytes have %s, %d", i, digest, diffID, size, h, n)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.OS + "/" + cf.Architecture; got != BuildPlatform() {
		t.Errorf("platform %s, want %s", got, BuildPlatform())
	}
	for _, env := range []string{"GOTOOLCHAIN=local", "GOPATH=/go", "GOLANG_VERSION=1.26.8"} {
		if !slices.Contains(cf.Config.Env, env) {
			t.Errorf("env %q lacks %s", cf.Config.Env, env)
		}
	}
	if path := cf.Config.Env[0]; !strings.HasPrefix(path, "PATH=") || !strings.Contains(path, ":/usr/local/go/bin:") {
		t.Errorf("env %q: want PATH first, with /usr/local/go/bin", cf.Config.Env)
	}

	files := map[string]*tar.Header{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
	}
	for name, check := range map[string]func(*tar.Header) bool{
		"bin/busybox":                       func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg && h.Mode == 0o755 },
		"bin/sh":                            func(h *tar.Header) bool { return h.Typeflag == tar.TypeSymlink && h.Linkname == "busybox" },
		"etc/ssl/certs/ca-certificates.crt": func(h *tar.Header) bool { return h.Size == int64(len("certificates")) },
		"etc/passwd":                        func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg },
		"tmp":                               func(h *tar.Header) bool { return h.Typeflag == tar.TypeDir && h.Mode == 0o1777 },
		"usr/local/go/bin/go":               func(h *tar.Header) bool { return h.Mode&0o111 != 0 && h.Uid == 0 },
		"usr/local/go/src/fmt/print.go":     func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg },
	} {
		if h, ok := files[name]; !ok || !check(h) {
			t.Errorf("%s: %+v, not what the stand-in needs", name, h)
		}
	}
}
