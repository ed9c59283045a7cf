//go:build unix

package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// TestRunStoppedBuildKilledBySignal runs binaries with a go whose build dies of SIGTERM, as
// every process of the group does when the group is signalled, before this process's
// context is cancelled for the same signal: the run fails as stopped, not as a failed build
// of the platform.
func TestRunStoppedBuildKilledBySignal(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip(err)
	}
	bin := t.TempDir()
	killed := filepath.Join(bin, "killed")
	script := "#!/bin/sh\nif [ \"$1\" = build ]; then : > '" + killed + "'; kill -TERM $$; fi\nexec '" + realGo + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := writeModule(t, map[string]string{"main.go": mainGo})

	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	go func() {
		for {
			if _, err := os.Stat(killed); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The signal reaches this process a little after the build died of it.
		time.Sleep(100 * time.Millisecond)
		cancel(&signalError{syscall.SIGTERM})
	}()
	var out syncBuffer
	err = run(ctx, lockRunEnv(dir, &out, nil), stageBinaries)
	if err == nil || err.Error() != "binaries stopped: terminated signal received" {
		t.Fatalf("run: %v, want binaries stopped: terminated signal received\n%s", err, out.String())
	}
}

// TestInterruptContextParentCancelledFirst cancels the parent of interruptContext just before
// the process gets a SIGINT, as mage does when it handles that SIGINT first: the cause is
// the signal, not the parent's cancellation.
func TestInterruptContextParentCancelledFirst(t *testing.T) {
	if os.Getenv("XGO_TEST_INTERRUPT_CHILD") == "mage" {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, stop := interruptContext(parent)
		defer stop()
		cancelParent()
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		<-ctx.Done()
		fmt.Println("cancelled:", context.Cause(ctx))
		os.Exit(0)
	}
	cmd, lines := startChild(t, "TestInterruptContextParentCancelledFirst", "mage")
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	err := cmd.Wait()
	if want := "cancelled: interrupt signal received"; err != nil || !slices.Contains(got, want) {
		t.Fatalf("child: %v, printed %q; want %q", err, got, want)
	}
}

// TestRunStoppedReadingBase stops a run while it waits for the base's registry, which never
// answers: the run fails as stopped, like one stopped later.
func TestRunStoppedReadingBase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	go func() {
		select {
		case c := <-accepted:
			defer c.Close()
			cancel(&signalError{syscall.SIGTERM})
		case <-time.After(time.Minute):
		}
	}()
	var out syncBuffer
	err = run(ctx, lockRunEnv(dir, &out, map[string]string{"XGO_BASE": ln.Addr().String() + "/base:1"}), stageImage)
	if err == nil || err.Error() != "image stopped: terminated signal received" {
		t.Fatalf("run: %v, want image stopped: terminated signal received\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "dist")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist exists after a run stopped before its first build (stat: %v)", err)
	}
}

// TestRunStoppedWhileTagging stops a release, and a merge, while it pushes its tags a, b and
// c, through a proxy in front of a real registry: when the last tag is in the registry but
// its answer is lost to the signal, the run is complete; when the signal comes before b
// reaches the registry, the run is stopped, says which tags were pushed, writes no
// release.json and leaves dist/ marked incomplete.
func TestRunStoppedWhileTagging(t *testing.T) {
	reg := registrytest.Start(t)
	target, err := url.Parse(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	for _, last := range []string{"release", "merge"} {
		for _, tt := range []struct {
			name      string
			tag       string // the push of this tag meets the signal
			forwarded bool   // the registry gets it first
		}{
			{"last tag pushed", "c", true},
			{"second tag not pushed", "b", false},
		} {
			t.Run(last+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				srv := tagStopProxy(t, target, tt.tag, tt.forwarded, func() { cancel(&signalError{syscall.SIGTERM}) })
				path := "/tagstop/" + last + "/" + strings.ReplaceAll(tt.name, " ", "-")
				repo := strings.TrimPrefix(srv.URL, "http://") + path
				dir := writeModule(t, map[string]string{"main.go": mainGo})
				var out syncBuffer
				vars := map[string]string{"XGO_REPO": repo, "XGO_TAGS": "a,b,c"}
				if last == "merge" {
					// One by-digest job first, whose record the merge reads: it pushes no tag.
					jobDist := t.TempDir()
					job := lockRunEnv(dir, &out, map[string]string{"XGO_REPO": repo, "XGO_PUSH_BY_DIGEST": "true", "XGO_DIST": jobDist})
					if err := run(t.Context(), job, stageRelease); err != nil {
						t.Fatalf("by-digest release: %v\n%s", err, out.String())
					}
					vars["XGO_MERGE"] = jobDist
				}
				env := lockRunEnv(dir, &out, vars)
				if last == "merge" {
					err = merge(ctx, env)
				} else {
					err = run(ctx, env, stageRelease)
				}
				report := filepath.Join(dir, "dist", "release.json")
				marker := filepath.Join(dir, "dist", incompleteMarker)
				if tt.forwarded {
					if err != nil {
						t.Fatalf("%s: %v, want success: every tag was pushed\n%s", last, err, out.String())
					}
					if rep := readReport(t, dir); !slices.Equal(rep.Tags, []string{"a", "b", "c"}) {
						t.Errorf("release.json tags %q, want a, b, c", rep.Tags)
					}
					if want := "terminated signal received after the " + last + " had done its work: it is complete\n"; !strings.Contains(out.String(), want) {
						t.Errorf("output lacks %q:\n%s", want, out.String())
					}
					if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("dist/%s after a complete %s (stat: %v)", incompleteMarker, last, err)
					}
					return
				}
				ref, rerr := name.ParseReference(reg.Host()+path+":a", name.Insecure)
				if rerr != nil {
					t.Fatal(rerr)
				}
				desc, rerr := remote.Head(ref)
				if rerr != nil {
					t.Fatalf("tag a is not in the registry: %v", rerr)
				}
				want := fmt.Sprintf("%s stopped: terminated signal received; %s@%s was pushed and tagged a, but not b, c", last, repo, desc.Digest)
				if err == nil || err.Error() != want {
					t.Fatalf("%s: %v\nwant %s\n%s", last, err, want, out.String())
				}
				var sig *signalError
				if !errors.As(err, &sig) {
					t.Errorf("%s: %v does not wrap the signal", last, err)
				}
				if _, err := os.Stat(report); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("release.json written by a stopped %s (stat: %v)", last, err)
				}
				if _, err := os.Stat(marker); err != nil {
					t.Errorf("dist/%s missing after a stopped %s: %v", incompleteMarker, last, err)
				}
			})
		}
	}
}

// tagStopProxy serves the registry at target, but a PUT of the manifest tag calls stop once
// the body is read, and its answer is lost: the registry gets the PUT first when forwarded.
func tagStopProxy(t *testing.T, target *url.URL, tag string, forwarded bool, stop func()) *httptest.Server {
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/manifests/"+tag) {
			proxy.ServeHTTP(w, r)
			return
		}
		if forwarded {
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			if rec.Code != http.StatusCreated {
				t.Errorf("PUT %s: %d %s", r.URL.Path, rec.Code, rec.Body)
			}
		}
		// Read the body: the server sees the client go only once it has.
		io.Copy(io.Discard, r.Body)
		stop()
		select { // the answer is lost
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
			t.Errorf("the client kept the PUT of %s open 30s after the signal", tag)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}
