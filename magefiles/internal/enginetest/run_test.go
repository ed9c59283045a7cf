package enginetest

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
)

// TestGolangImageForPlatform makes the stand-in for another platform from a small fake
// GOROOT (with this machine's busybox, which only lists its applets here) and checks that
// its configuration names that platform.
func TestGolangImageForPlatform(t *testing.T) {
	busybox := testenv.Command(t, "busybox", "install Debian's busybox-static (apt-get install busybox-static)")
	if err := checkStatic(busybox); err != nil {
		testenv.Missing(t, "a static busybox", err.Error()+": install Debian's busybox-static")
	}
	goroot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(goroot, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goroot, "bin", "go"), []byte("go"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	img, err := GolangImage(p, goroot, "1.26.8", busybox, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := (v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}); got.String() != p.String() {
		t.Errorf("platform %s, want %s", got.String(), p.String())
	}
	if len(cf.Config.Env) == 0 || cf.Config.WorkingDir != "/go" {
		t.Errorf("config %+v lacks the golang image's environment", cf.Config)
	}
	if _, err := GolangImage(v1.Platform{OS: "windows", Architecture: "amd64"}, goroot, "1.26.8", busybox, t.TempDir()); err == nil {
		t.Error("GolangImage for windows: no error")
	}
}
