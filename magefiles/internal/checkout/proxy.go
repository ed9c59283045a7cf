// Package checkout gives builds in a container engine this checkout of xgo-build as a user
// gets xgo-build from the internet: a Go module proxy on 127.0.0.1 that serves it as
// github.com/xgo-build/xgo-build@latest (ModuleProxy), and the README's example Dockerfile
// with the one line that lets its `go install` reach that proxy (ExampleDockerfile). The
// engine tests and the bench both build the README's example with them.
package checkout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// ModulePath is the module this repository is, which the README's example installs with
// `go install github.com/xgo-build/xgo-build/cmd/xgo-build@latest`.
const ModulePath = "github.com/xgo-build/xgo-build"

// A ModuleProxy is a Go module proxy (the GOPROXY protocol) on 127.0.0.1 that serves a
// checkout as ModulePath, at one pseudo-version, as its latest version. Every other path is
// 404 Not Found, so that go, given "URL,next", asks the next proxy of the list for every
// other module. The build containers of an engine reach it when buildkitd runs them on the
// host's network, as it does by default.
type ModuleProxy struct {
	URL     string // http://127.0.0.1:PORT
	Version string // the one version it serves, v0.0.0-YYYYMMDDHHMMSS-000000000000

	zips atomic.Int32
	srv  *http.Server
}

// StartModuleProxy serves the checkout at root until Close. The module's zip holds what the
// repository's Dockerfile copies to build xgo-build: go.mod, go.sum and the trees cmd and
// shim, as they are in the working tree.
func StartModuleProxy(root string) (*ModuleProxy, error) {
	now := time.Now().UTC().Truncate(time.Second)
	p := &ModuleProxy{Version: module.PseudoVersion("v0", "", now, "000000000000")}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	files, err := moduleFiles(root, "go.mod", "go.sum", "cmd", "shim")
	if err != nil {
		return nil, fmt.Errorf("listing the module's files: %w", err)
	}
	var z bytes.Buffer
	if err := zip.Create(&z, module.Version{Path: ModulePath, Version: p.Version}, files); err != nil {
		return nil, fmt.Errorf("making the module zip: %w", err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{p.Version, now})
	if err != nil {
		return nil, err
	}
	prefix, err := module.EscapePath(ModulePath)
	if err != nil {
		return nil, err
	}
	version, err := module.EscapeVersion(p.Version)
	if err != nil {
		return nil, err
	}
	zipPath := "/" + prefix + "/@v/" + version + ".zip"
	routes := map[string]struct {
		contentType string
		body        []byte
	}{
		"/" + prefix + "/@v/list":                 {"text/plain; charset=utf-8", nil}, // no tagged version: go asks @latest
		"/" + prefix + "/@latest":                 {"application/json", info},
		"/" + prefix + "/@v/" + version + ".info": {"application/json", info},
		"/" + prefix + "/@v/" + version + ".mod":  {"text/plain; charset=utf-8", mod},
		zipPath:                                   {"application/zip", z.Bytes()},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the module proxy: %w", err)
	}
	p.URL = "http://" + ln.Addr().String()
	p.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route, ok := routes[r.URL.Path]
			if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
				http.NotFound(w, r)
				return
			}
			if r.URL.Path == zipPath {
				p.zips.Add(1)
			}
			w.Header().Set("Content-Type", route.contentType)
			w.Header().Set("Content-Length", fmt.Sprint(len(route.body)))
			_, _ = w.Write(route.body)
		}),
	}
	go p.srv.Serve(ln)
	return p, nil
}

// Zips returns how many times the proxy served the module's zip.
func (p *ModuleProxy) Zips() int { return int(p.zips.Load()) }

// Close stops the proxy.
func (p *ModuleProxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
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
