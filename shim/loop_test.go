package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestMarkDepth(t *testing.T) {
	wrapper := writeExe(t, filepath.Join(t.TempDir(), "go"))
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	if !isRealGo(realGo) {
		t.Fatalf("isRealGo(%q) = false for the go running these tests", realGo)
	}
	base := []string{"PATH=/bin", "HOME=/h"}
	tests := []struct {
		name    string
		gopath  string
		marker  string // XGO_BUILD_DEPTH in the environment, "" if unset
		want    string // the marker the go gets, "" for env unchanged
		wantErr string
	}{
		{"first wrapper", wrapper, "", "1:" + wrapper, ""},
		{"one deeper, naming this wrapper", wrapper, "3:/other/go", "4:" + wrapper, ""},
		{"last hop allowed", wrapper, strconv.Itoa(maxDepth-1) + ":/w", strconv.Itoa(maxDepth) + ":" + wrapper, ""},
		{"one too many", wrapper, strconv.Itoa(maxDepth) + ":/w/go", "", `loop: the go that xgo-build ran, "/w/go", is not the real go and ran xgo-build again (8 deep, XGO_BUILD_DEPTH); set XGO_GO to the real go`},
		{"path with a colon", wrapper, "8:C:\\go\\go.bat", "", `ran, "C:\\go\\go.bat", is not`},
		{"not a number", wrapper, "x:/w", "", `invalid XGO_BUILD_DEPTH="x:/w"`},
		{"no path", wrapper, "1", "", `invalid XGO_BUILD_DEPTH="1"`},
		{"negative", wrapper, "-1:/w", "", `invalid XGO_BUILD_DEPTH="-1:/w"`},
		{"real go: unchanged", realGo, "", "", ""},
		{"real go: unchanged however deep", realGo, strconv.Itoa(maxDepth) + ":/w", "", ""},
		{"real go: marker not even read", realGo, "garbage", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := base
			if tt.marker != "" {
				env = append(env[:len(env):len(env)], depthVar+"="+tt.marker)
			}
			got, err := markDepth(env, getenvFrom(env), tt.gopath, isRealGo(tt.gopath))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("markDepth = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := env
			if tt.want != "" {
				want = append(base[:len(base):len(base)], depthVar+"="+tt.want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("markDepth = %q, want %q", got, want)
			}
		})
	}
}

func TestIsRealGo(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{self, writeExe(t, filepath.Join(t.TempDir(), "go")), filepath.Join(t.TempDir(), "none")} {
		if isRealGo(path) {
			t.Errorf("isRealGo(%q) = true, want false", path)
		}
	}
}

// TestLoopRunsNothing checks that a shim at the end of a chain of wrappers fails with the
// one line and exit status 2, without running the go.
func TestLoopRunsNothing(t *testing.T) {
	dir, gopath := fakeGoDir(t)
	for _, args := range [][]string{
		{"xgo-build", "--xgo-platform=linux/arm64", "."},
		{"/usr/local/bin/go", "env"},
	} {
		environ := []string{"PATH=" + dir, "TARGETARCH=arm64", depthVar + "=" + strconv.Itoa(maxDepth) + ":" + gopath}
		code, stdout, stderr, rec := runRecorded(t, args, environ, 0)
		if code != exitShim || rec != nil {
			t.Errorf("%q: exit %d, ran %v; want %d and nothing run", args, code, rec, exitShim)
		}
		if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "xgo-build: loop: the go that xgo-build ran, "+strconv.Quote(gopath)) {
			t.Errorf("%q: stdout %q, stderr %q; want one loop line naming %q", args, stdout, stderr, gopath)
		}
	}
}
