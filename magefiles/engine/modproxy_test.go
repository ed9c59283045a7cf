package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// modulePath is the module this repository is, which the README's example installs with
// `go install github.com/xgo-build/xgo-build/cmd/xgo-build@latest`.
const modulePath = "github.com/xgo-build/xgo-build"

// moduleProxy is a Go module proxy (the GOPROXY protocol) on 127.0.0.1 that serves this
// checkout as modulePath, at one pseudo-version, as its latest version. Every other path is
// 404 Not Found, so that go, given "URL,next", asks the next proxy of the list for every
// other module. The build containers of the engine reach it because buildkitd runs them on
// the host's network.
type moduleProxy struct {
	URL     string // http://127.0.0.1:PORT
	Version string // the one version it serves, v0.0.0-YYYYMMDDHHMMSS-000000000000

	zips atomic.Int32 // how many times the module's zip was served
}

// startModuleProxy starts a moduleProxy serving the module at root, which it stops when t
// ends. The module's zip holds what the repository's Dockerfile copies to build xgo-build:
// go.mod, go.sum and the trees cmd and shim, as they are in the working tree.
func startModuleProxy(t testing.TB, root string) *moduleProxy {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	p := &moduleProxy{Version: module.PseudoVersion("v0", "", now, "000000000000")}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := moduleFiles(root, "go.mod", "go.sum", "cmd", "shim")
	if err != nil {
		t.Fatalf("listing the module's files: %v", err)
	}
	var z bytes.Buffer
	if err := zip.Create(&z, module.Version{Path: modulePath, Version: p.Version}, files); err != nil {
		t.Fatalf("making the module zip: %v", err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{p.Version, now})
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := module.EscapePath(modulePath)
	if err != nil {
		t.Fatal(err)
	}
	version, err := module.EscapeVersion(p.Version)
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]struct {
		contentType string
		body        []byte
	}{
		"/" + prefix + "/@v/list":                 {"text/plain; charset=utf-8", nil}, // no tagged version: go asks @latest
		"/" + prefix + "/@latest":                 {"application/json", info},
		"/" + prefix + "/@v/" + version + ".info": {"application/json", info},
		"/" + prefix + "/@v/" + version + ".mod":  {"text/plain; charset=utf-8", mod},
		"/" + prefix + "/@v/" + version + ".zip":  {"application/zip", z.Bytes()},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, ok := routes[r.URL.Path]
		if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/"+prefix+"/@v/"+version+".zip" {
			p.zips.Add(1)
		}
		w.Header().Set("Content-Type", route.contentType)
		w.Header().Set("Content-Length", fmt.Sprint(len(route.body)))
		_, _ = w.Write(route.body)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// moduleFiles returns the files at names under root, the directories among them walked,
// as files of a module zip.
func moduleFiles(root string, names ...string) ([]zip.File, error) {
	var files []zip.File
	for _, n := range names {
		err := filepath.WalkDir(filepath.Join(root, n), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, diskFile{root: root, path: filepath.ToSlash(rel)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// diskFile is a file of a module zip, read from root.
type diskFile struct{ root, path string }

func (f diskFile) Path() string                 { return f.path }
func (f diskFile) Lstat() (os.FileInfo, error)  { return os.Lstat(f.name()) }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.name()) }
func (f diskFile) name() string                 { return filepath.Join(f.root, filepath.FromSlash(f.path)) }

// TestModuleProxy downloads the module from a moduleProxy with go, as the README's example
// does in the engine (with nothing else to download, no engine and no network needed).
func TestModuleProxy(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	p := startModuleProxy(t, root)
	cmd := exec.Command("go", "mod", "download", "-json", modulePath+"@latest")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOPROXY="+p.URL, "GONOSUMDB="+modulePath, "GOFLAGS=-modcacherw",
		"GOMODCACHE="+filepath.Join(t.TempDir(), "mod"), "GO111MODULE=on")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = exit.Stderr
		}
		t.Fatalf("go mod download %s@latest: %v: %s%s", modulePath, err, out, stderr)
	}
	var got struct{ Version, Dir string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("go mod download -json printed %q: %v", out, err)
	}
	if got.Version != p.Version {
		t.Errorf("go mod download got version %q, want %q", got.Version, p.Version)
	}
	for _, f := range []string{"go.mod", "go.sum", "cmd/xgo-build/main.go", "shim"} {
		if _, err := os.Stat(filepath.Join(got.Dir, f)); err != nil {
			t.Errorf("the downloaded module: %v", err)
		}
	}
	if n := p.zips.Load(); n != 1 {
		t.Errorf("the proxy served the zip %d times, want once", n)
	}
}
