//go:build unix

package release

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/vars"
	"github.com/xgo-build/xgo-build/shim"
)

// userProject is a copy of testdata/userproject in a temporary directory, wired to this
// module, in a git repository whose HEAD carries the tag v1.2.3.
type userProject struct {
	dir    string
	mage   string // path of the mage binary
	cache  string // MAGEFILE_CACHE
	commit string
}

// commitTime is the commit (and so image) time of the user project.
const commitTime = 1700000000

// newUserProject copies the sample project, points its replace directive at this module,
// commits it and builds mage.
func newUserProject(t *testing.T) *userProject {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	p := &userProject{dir: filepath.Join(tmp, "userproject"), mage: filepath.Join(tmp, "mage"), cache: filepath.Join(tmp, "magecache")}
	if err := os.CopyFS(p.dir, os.DirFS(filepath.Join(root, "testdata", "userproject"))); err != nil {
		t.Fatal(err)
	}
	runIn(t, p.dir, nil, "go", "mod", "edit", "-replace=github.com/xgo-build/xgo-build="+root)
	// Offline: everything the project needs is what this module needs, already downloaded and
	// listed in this module's go.sum, so tidy need not ask the checksum database.
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(p.dir, "go.sum"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(sums); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	runIn(t, p.dir, []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}, "go", "mod", "tidy", "-e")
	runIn(t, root, nil, "go", "build", "-o", p.mage, "github.com/magefile/mage")
	git(t, p.dir, "init", "-q")
	git(t, p.dir, "add", ".")
	git(t, p.dir, "commit", "-q", "-m", "user project")
	git(t, p.dir, "tag", "v1.2.3")
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = p.dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	p.commit = strings.TrimSpace(string(out))
	return p
}

// runIn runs a command in dir with extra environment variables and fails the test if it fails.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// run runs mage with args (a target, or flags and a target, separated by spaces) in the
// project as a user would, with the given XGO_* variables (and none from the test's own
// environment), and returns its output.
func (p *userProject) run(t *testing.T, args string, vars ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(p.mage, strings.Fields(args)...)
	cmd.Dir = p.dir
	cmd.Env = p.env(vars...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// env is the environment of a mage run: the test's, without XGO_* variables (nor the files
// of a GitHub Actions step that runs the tests), plus vars.
func (p *userProject) env(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "XGO_") || k == "SOURCE_DATE_EPOCH" || k == "MAGEFILE_VERBOSE" || k == "GITHUB_OUTPUT" || k == "GITHUB_STEP_SUMMARY" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "MAGEFILE_CACHE="+p.cache)
	return append(env, vars...)
}

// wantPlatform is what the registry must hold for one of the eight default platforms.
type wantPlatform struct {
	platform string
	oci      v1.Platform
	qemu     string // qemu-user binary that runs it, "" for the host
}

var eightPlatforms = []wantPlatform{
	{"linux/amd64", v1.Platform{OS: "linux", Architecture: "amd64"}, ""},
	{"linux/386", v1.Platform{OS: "linux", Architecture: "386"}, ""},
	{"linux/arm64", v1.Platform{OS: "linux", Architecture: "arm64"}, "qemu-aarch64-static"},
	{"linux/arm/v7", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "qemu-arm-static"},
	{"linux/arm/v6", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, "qemu-arm-static"},
	{"linux/ppc64le", v1.Platform{OS: "linux", Architecture: "ppc64le"}, "qemu-ppc64le-static"},
	{"linux/s390x", v1.Platform{OS: "linux", Architecture: "s390x"}, "qemu-s390x-static"},
	{"linux/riscv64", v1.Platform{OS: "linux", Architecture: "riscv64"}, "qemu-riscv64-static"},
}

// readReport reads dist/release.json of the project.
func readReport(t *testing.T, dir string) releaseReport {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "dist", "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r releaseReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("reading release.json: %v\n%s", err, data)
	}
	return r
}

// TestMageTargets runs the binaries, image and release targets with mage in a copy of
// testdata/userproject against a real registry, and checks what the registry then serves.
func TestMageTargets(t *testing.T) {
	reg := registrytest.Start(t)
	p := newUserProject(t)
	repo := reg.Host() + "/test/app"

	out, err := p.run(t, "release", "XGO_REPO="+repo)
	if err != nil {
		t.Fatalf("mage release: %v\n%s", err, out)
	}
	t.Logf("mage release:\n%s", out)
	rep := readReport(t, p.dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != repo+"@"+rep.Digest || rep.Reference != last {
		t.Errorf("last line %q, release.json reference %q; want %s@%s", last, rep.Reference, repo, rep.Digest)
	}
	if strings.Contains(out, "warning:") {
		t.Errorf("a warning with dist/ in .gitignore:\n%s", out)
	}
	for _, w := range eightPlatforms {
		if !strings.Contains(out, "built "+w.platform+" ") {
			t.Errorf("no progress line for %s", w.platform)
		}
	}
	if want := []string{"1.2.3", "1.2", "1", "latest"}; !slices.Equal(rep.Tags, want) {
		t.Errorf("tags pushed %q, want %q", rep.Tags, want)
	}
	if rep.Revision != p.commit || rep.Version != "v1.2.3" || rep.Created != time.Unix(commitTime, 0).UTC().Format(time.RFC3339) {
		t.Errorf("release.json revision, version, created = %q, %q, %q", rep.Revision, rep.Version, rep.Created)
	}
	if rep.BlobsUploaded == 0 || rep.BytesUploaded == 0 {
		t.Errorf("first release uploaded %d blobs, %d bytes", rep.BlobsUploaded, rep.BytesUploaded)
	}

	ref, err := registry.ParseRef(repo+"@"+rep.Digest, false)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("reading back the index: %v", err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("the pushed index is invalid: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != len(eightPlatforms) {
		t.Fatalf("index has %d manifests, want %d", len(m.Manifests), len(eightPlatforms))
	}
	for _, tag := range rep.Tags {
		tref, err := registry.ParseRef(repo+":"+tag, false)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(tref)
		if err != nil || desc.Digest.String() != rep.Digest {
			t.Errorf("tag %s: %v, %v; want %s", tag, desc, err, rep.Digest)
		}
	}

	bins := t.TempDir()
	for i, w := range eightPlatforms {
		d := m.Manifests[i]
		if d.Platform == nil || !d.Platform.Equals(w.oci) {
			t.Errorf("manifest %d: platform %+v, want %+v", i, d.Platform, w.oci)
			continue
		}
		if rp := rep.Platforms[i]; rp.Platform != w.platform || rp.Manifest != d.Digest.String() || rp.Size == 0 {
			t.Errorf("release.json platform %d = %+v, want %s with manifest %s", i, rp, w.platform, d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, w, p.commit)
		bin := filepath.Join(bins, platformDir(releasetest.Platform(t, w.platform)), "app")
		hdr := releasetest.TopLayerFile(t, img, "app", bin)
		if hdr.Mode&0o777 != 0o755 || hdr.Uid != 0 || hdr.Gid != 0 || !hdr.ModTime.Equal(time.Unix(commitTime, 0)) {
			t.Errorf("%s: app mode %o, uid %d, gid %d, mtime %v", w.platform, hdr.Mode, hdr.Uid, hdr.Gid, hdr.ModTime)
		}
		checkBuildInfo(t, bin, releasetest.Platform(t, w.platform))
		if err := shim.Verify(bin, releasetest.Platform(t, w.platform)); err != nil {
			t.Errorf("the %s binary pulled from the registry: %v", w.platform, err)
		}
		t.Run("run/"+w.platform, func(t *testing.T) {
			runBinary(t, bin, w)
		})
	}

	// Same commit, second run: same digest, nothing uploaded.
	out, err = p.run(t, "release", "XGO_REPO="+repo)
	if err != nil {
		t.Fatalf("second mage release: %v\n%s", err, out)
	}
	rep2 := readReport(t, p.dir)
	if rep2.Digest != rep.Digest {
		t.Errorf("second release digest %s, want %s", rep2.Digest, rep.Digest)
	}
	if rep2.BlobsUploaded != 0 || rep2.BytesUploaded != 0 || rep2.BlobsSkipped == 0 {
		t.Errorf("second release uploaded %d blobs (%d bytes) and skipped %d; want 0 uploaded", rep2.BlobsUploaded, rep2.BytesUploaded, rep2.BlobsSkipped)
	}
	if ld, err := releasetest.Layout(t, filepath.Join(p.dir, "dist", "oci")).Digest(); err != nil || ld.String() != rep.Digest {
		t.Errorf("dist/oci index %v, %v; want the pushed %s", ld, err, rep.Digest)
	}

	t.Run("base", func(t *testing.T) { testMultiPlatformBase(t, p, reg.Host()) })
	t.Run("errors", func(t *testing.T) { testTargetErrors(t, p) })
	t.Run("user variables", func(t *testing.T) { testUserVariables(t, p) })
	t.Run("verbose", func(t *testing.T) { testVerboseAndHelp(t, p) })
	t.Run("interrupt", func(t *testing.T) { testInterrupt(t, p, reg.Host()) })
}

// testInterrupt stops a release while the go builds run (-a makes them long): with SIGTERM to
// mage's process group, as a CI system stopping a job does, and with SIGTERM to the process of
// `go tool mage release` alone, the README's command, as `docker stop` signals a container's
// first process (go passes the signal to mage, which dies of it and leaves the target running:
// the target sees its parent gone). Each time the release fails saying so, dist/ stays marked
// incomplete, no release.json is written, and no tag reaches the registry, also once every
// process of the run has ended.
func testInterrupt(t *testing.T, p *userProject, host string) {
	for _, tt := range []struct {
		name   string
		argv   []string
		signal func(pid int) error
		want   string
		// Go 1.26's go tool exits 0 when its tool dies of a signal (golang/go#79540).
		mayExitZero bool
	}{
		{"process group", []string{p.mage, "release"}, func(pid int) error { return syscall.Kill(-pid, syscall.SIGTERM) },
			"release stopped: terminated signal received", false},
		{"go tool", []string{"go", "tool", "mage", "release"}, func(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) },
			"release stopped: the process that started it (pid ", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo := host + "/test/stopped-" + strings.ReplaceAll(tt.name, " ", "-")
			dist := "dist-stopped-" + strings.ReplaceAll(tt.name, " ", "-")
			cmd := exec.Command(tt.argv[0], tt.argv[1:]...)
			cmd.Dir = p.dir
			cmd.Env = p.env("XGO_REPO="+repo, "XGO_FLAGS=-a", "XGO_DIST="+dist)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			pr, pw := io.Pipe()
			cmd.Stdout, cmd.Stderr = pw, pw
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait(); pw.Close() }()
			var out strings.Builder
			sc := bufio.NewScanner(pr)
			signalled := false
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "building ") && !signalled {
					signalled = true
					if err := tt.signal(cmd.Process.Pid); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := <-waited
			if err == nil && !tt.mayExitZero {
				t.Fatalf("%s succeeded despite SIGTERM:\n%s", strings.Join(tt.argv[1:], " "), out.String())
			}
			// The target may outlive the command (the go tool case): wait until no process of
			// the run is left, then look at what it did.
			deadline := time.Now().Add(time.Minute)
			for syscall.Kill(-cmd.Process.Pid, 0) == nil && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if syscall.Kill(-cmd.Process.Pid, 0) == nil {
				t.Errorf("a process of the stopped release still runs a minute after SIGTERM")
			}
			t.Logf("%s stopped by SIGTERM:\n%s", strings.Join(tt.argv[1:], " "), out.String())
			if !strings.Contains(out.String(), tt.want) || strings.Contains(out.String(), "built linux/") {
				t.Errorf("output of the stopped release lacks %q:\n%s", tt.want, out.String())
			}
			if _, err := os.Stat(filepath.Join(p.dir, dist, incompleteMarker)); err != nil {
				t.Errorf("%s/%s after the stopped release: %v", dist, incompleteMarker, err)
			}
			if _, err := os.Stat(filepath.Join(p.dir, dist, "release.json")); err == nil {
				t.Errorf("the stopped release wrote %s/release.json", dist)
			}
			r, err := registry.ParseRepo(repo, false)
			if err != nil {
				t.Fatal(err)
			}
			if tags, err := remote.List(r); err == nil && len(tags) > 0 {
				t.Errorf("the stopped release left tags %q", tags)
			}
		})
	}
}

// testVerboseAndHelp checks that mage -v shows the go commands and mage -h documents the
// variables.
func testVerboseAndHelp(t *testing.T, p *userProject) {
	out, err := p.run(t, "-v binaries", "XGO_PLATFORMS=linux/arm/v6", "XGO_DIST=dist-v")
	if err != nil {
		t.Fatalf("mage -v binaries: %v\n%s", err, out)
	}
	want := "GOOS=linux GOARCH=arm GOARM=6 CGO_ENABLED=0 go build -trimpath -o " + filepath.Join(p.dir, "dist-v", "bin", "linux_arm_v6", "app") + " example.com/userproject/cmd/app\n"
	if !strings.Contains(out, want) {
		t.Errorf("mage -v binaries output lacks %q:\n%s", want, out)
	}
	// Each target's help lists the variables the table says it uses, and no other (another
	// variable's text may name one, as XGO_REGISTRY_USER's names XGO_REPO).
	for _, target := range vars.Targets {
		out, err := p.run(t, "-h "+target.Name)
		if err != nil {
			t.Fatalf("mage -h %s: %v\n%s", target.Name, err, out)
		}
		for _, v := range vars.Table {
			switch listed := strings.Contains(out, "\n  - "+v.Name+": "); {
			case v.ReadBy(target.Name) && !listed:
				t.Errorf("mage -h %s does not list %s:\n%s", target.Name, v.Name, out)
			case !v.ReadBy(target.Name) && listed:
				t.Errorf("mage -h %s lists %s, which %s does not use:\n%s", target.Name, v.Name, target.Name, out)
			}
		}
		// The help has its lines, not one line joined from them.
		if want := "\n  - " + vars.For(target.Name)[0].Name + ": "; !strings.Contains(out, want) {
			t.Errorf("mage -h %s does not list the variables one a line (no %q):\n%s", target.Name, want, out)
		}
	}
}

// checkImage checks an image's config and annotations.
func checkImage(t *testing.T, img v1.Image, w wantPlatform, commit string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != w.oci.OS || cf.Architecture != w.oci.Architecture || cf.Variant != w.oci.Variant {
		t.Errorf("%s: config platform %s/%s/%s", w.platform, cf.OS, cf.Architecture, cf.Variant)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/app"}) {
		t.Errorf("%s: entrypoint %q, want [/app]", w.platform, cf.Config.Entrypoint)
	}
	if !cf.Created.Time.Equal(time.Unix(commitTime, 0)) {
		t.Errorf("%s: created %v, want the commit time", w.platform, cf.Created)
	}
	man, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		annotationRevision: commit,
		annotationVersion:  "v1.2.3",
		annotationCreated:  time.Unix(commitTime, 0).UTC().Format(time.RFC3339),
	} {
		if man.Annotations[k] != v {
			t.Errorf("%s: annotation %s = %q, want %q", w.platform, k, man.Annotations[k], v)
		}
	}
	if _, ok := man.Annotations[annotationBaseName]; ok {
		t.Errorf("%s: a scratch image has a base.name annotation", w.platform)
	}
}

// testUserVariables runs binaries with a variant variable and CGO_ENABLED set by the user, as
// the shim keeps them (GOAMD64=v3 with linux/amd64, CGO_ENABLED=1): each build succeeds, is
// verified against what it was given, and records it.
func testUserVariables(t *testing.T, p *userProject) {
	for _, kv := range []string{"GOAMD64=v3", "CGO_ENABLED=1"} {
		t.Run(kv, func(t *testing.T) {
			dist := "dist-" + strings.ToLower(strings.ReplaceAll(kv, "=", "-"))
			out, err := p.run(t, "binaries", "XGO_PLATFORMS=linux/amd64", "XGO_DIST="+dist, kv)
			if err != nil {
				t.Fatalf("%s mage binaries: %v\n%s", kv, err, out)
			}
			info := goVersionM(t, filepath.Join(p.dir, dist, "bin", "linux_amd64", "app"))
			if !strings.Contains(info, "\tbuild\t"+kv+"\n") {
				t.Errorf("%s: go version -m lacks build %s:\n%s", kv, kv, info)
			}
		})
	}
}

// checkBuildInfo checks that `go version -m` of bin shows the platform's GOOS, GOARCH and
// variant variable, with cgo off.
func checkBuildInfo(t *testing.T, bin string, p shim.Platform) {
	t.Helper()
	info := goVersionM(t, bin)
	vars, err := shim.Vars(p, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range vars {
		if !strings.Contains(info, "\tbuild\t"+kv+"\n") {
			t.Errorf("%s: go version -m lacks build %s:\n%s", p, kv, info)
		}
	}
}

// runBinary runs a pulled binary, natively or under qemu-user, and checks what it prints.
func runBinary(t *testing.T, bin string, w wantPlatform) {
	p := releasetest.Platform(t, w.platform)
	want := "hello from " + p.OS + "/" + p.Arch
	if v := p.VariantVar(); v != "" {
		want += " " + v + "=" + p.VariantValue()
	}
	var cmd *exec.Cmd
	if w.qemu == "" {
		cmd = exec.Command(bin)
	} else {
		qemu, err := exec.LookPath(w.qemu)
		if err != nil {
			testenv.Missing(t, w.qemu, "install qemu-user-static (Debian/Ubuntu: apt-get install qemu-user-static)")
		}
		cmd = exec.Command(qemu, bin)
	}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.ENOEXEC) && p.Arch == "386" {
		// Not a skip: nothing can run it here (Debian's qemu-i386 crashes on Go binaries), and
		// go version -m and shim.Verify have checked what it is.
		t.Logf("linux/386 not run: this kernel has no IA32 emulation (exec: %v); its build info and ELF header (shim.Verify) were checked", err)
		return
	}
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("%s prints %q, %v; want %q", w.platform, out, err, want)
	}
}

// testMultiPlatformBase pushes a base index built here (three platforms and an attestation)
// and builds the image with XGO_PLATFORMS=all on it; then asks for a platform it lacks.
func testMultiPlatformBase(t *testing.T, p *userProject, host string) {
	basePlatforms := []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "unknown", Architecture: "unknown"},
	}
	var adds []mutate.IndexAddendum
	for _, bp := range basePlatforms {
		img, err := random.Image(256, 2)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf.OS, cf.Architecture, cf.Variant = bp.OS, bp.Architecture, bp.Variant
		cf.Config.Env = []string{"PATH=/bin", "BASE=" + bp.Architecture}
		cf.Config.User = "65532"
		cf.Config.WorkingDir = "/work"
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &bp}})
	}
	base := mutate.AppendManifests(empty.Index, adds...)
	baseRef := host + "/test/base:1"
	ref, err := registry.ParseRef(baseRef, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, base); err != nil {
		t.Fatalf("pushing the base: %v", err)
	}
	baseManifest, err := base.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}

	out, err := p.run(t, "image", "XGO_BASE="+baseRef, "XGO_PLATFORMS=all", "XGO_DIST=dist-base")
	if err != nil {
		t.Fatalf("mage image on a multi-platform base: %v\n%s", err, out)
	}
	idx := releasetest.Layout(t, filepath.Join(p.dir, "dist-base", "oci"))
	if err := validate.Index(idx); err != nil {
		t.Errorf("image index on the base is invalid: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := []v1.Platform{basePlatforms[0], {OS: "linux", Architecture: "arm64"}, basePlatforms[2]}
	if len(m.Manifests) != len(want) {
		t.Fatalf("index on the base has %d manifests, want %d (the attestation left out)", len(m.Manifests), len(want))
	}
	for i, d := range m.Manifests {
		if d.Platform == nil || !d.Platform.Equals(want[i]) {
			t.Errorf("manifest %d: platform %+v, want %+v", i, d.Platform, want[i])
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 3 {
			t.Errorf("%v: %d layers, %v; want the base's two and the binary", want[i], len(layers), err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(cf.Config.Env, "BASE="+want[i].Architecture) || cf.Config.User != "65532" || cf.Config.WorkingDir != "/work" {
			t.Errorf("%v: env %q, user %q, workdir %q; want the base's", want[i], cf.Config.Env, cf.Config.User, cf.Config.WorkingDir)
		}
		man, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if got := man.Annotations[annotationBaseDigest]; got != baseManifest.Manifests[i].Digest.String() {
			t.Errorf("%v: base.digest %q, want the base's manifest %s", want[i], got, baseManifest.Manifests[i].Digest)
		}
		if got := man.Annotations[annotationBaseName]; got != baseRef {
			t.Errorf("%v: base.name %q, want %q", want[i], got, baseRef)
		}
	}

	out, err = p.run(t, "image", "XGO_BASE="+baseRef, "XGO_PLATFORMS=linux/amd64,linux/s390x", "XGO_DIST=dist-missing")
	if err == nil {
		t.Fatalf("mage image with a platform the base lacks succeeded:\n%s", out)
	}
	wantMsg := `XGO_PLATFORMS="linux/amd64,linux/s390x": base image "` + baseRef + `" has no linux/s390x image (it has: linux/amd64, linux/arm64, linux/arm/v7`
	if !strings.Contains(out, wantMsg) {
		t.Errorf("output lacks %q:\n%s", wantMsg, out)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "dist-missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist-missing exists after the failure (stat: %v): nothing should be written", err)
	}
}

// testTargetErrors checks that bad input fails the targets with one clear message and writes
// nothing.
func testTargetErrors(t *testing.T, p *userProject) {
	for _, tt := range []struct {
		target string
		vars   []string
		want   string
	}{
		{"release", nil, "XGO_REPO is not set: release needs the repository to push to"},
		{"binaries", []string{"XGO_JOBS=abc"}, `XGO_JOBS="abc": must be a positive integer`},
		{"image", []string{"XGO_PLATFORMS=linux/arm/v9"}, `XGO_PLATFORMS="linux/arm/v9": invalid platform "linux/arm/v9"`},
		{"binaries", []string{"XGO_MAIN=./nope"}, `XGO_MAIN="./nope": `},
	} {
		out, err := p.run(t, tt.target, append(tt.vars, "XGO_DIST=dist-bad")...)
		if err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("mage %s with %q: %v, output lacks %q:\n%s", tt.target, tt.vars, err, tt.want, out)
		}
		if _, err := os.Stat(filepath.Join(p.dir, "dist-bad")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("mage %s with %q wrote dist-bad (stat: %v)", tt.target, tt.vars, err)
		}
	}
}

// TestRunInProcess runs the pipeline without mage (as the targets do) on scratch,
// for two platforms, and checks the layout and a push to a real registry.
func TestRunInProcess(t *testing.T) {
	reg := registrytest.Start(t)
	dir := writeModule(t, map[string]string{"cmd/tool/main.go": mainGo})
	var out, result strings.Builder
	env := map[string]string{
		"XGO_PLATFORMS":       "linux/amd64,linux/arm64",
		"XGO_REPO":            reg.Host() + "/inproc/tool",
		"XGO_TAGS":            "edge",
		"SOURCE_DATE_EPOCH":   "86400",
		"GITHUB_OUTPUT":       "gh-output",
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "gh-summary.md"),
	}
	e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out, result: &result}
	if err := run(t.Context(), e, stageRelease); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	rep := readReport(t, dir)
	if rep.Repository != reg.Host()+"/inproc/tool" || !slices.Equal(rep.Tags, []string{"edge"}) || len(rep.Platforms) != 2 || rep.Created != "1970-01-02T00:00:00Z" {
		t.Errorf("release.json = %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist", incompleteMarker)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist/%s exists after a successful release (stat: %v)", incompleteMarker, err)
	}
	if rep.Platforms[1].Binary != "bin/linux_arm64/tool" {
		t.Errorf("binary path %q, want bin/linux_arm64/tool", rep.Platforms[1].Binary)
	}
	for _, want := range []string{"PLATFORM", "linux/arm64", "2 platforms", "tags: edge\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if result.String() != rep.Reference+"\n" || strings.Contains(out.String(), rep.Reference) {
		t.Errorf("result %q, want only the line %s, and not in the progress:\n%s", result.String(), rep.Reference, out.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "gh-output"))
	if err != nil {
		t.Fatal(err)
	}
	outputs := parseGitHubOutput(t, string(data))
	report, err := os.ReadFile(filepath.Join(dir, "dist", "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	if outputs["digest"] != rep.Digest || outputs["imageid"] != rep.Digest || outputs["image"] != rep.Reference ||
		outputs["tags"] != rep.Repository+":edge" || outputs["metadata"]+"\n" != string(report) {
		t.Errorf("GITHUB_OUTPUT = %q", outputs)
	}
	if md, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); err != nil || !strings.Contains(string(md), "| `linux/arm64` |") || !strings.Contains(string(md), rep.Reference) {
		t.Errorf("GITHUB_STEP_SUMMARY = %q, %v", md, err)
	}

	// A release that fails after its builds, at the push, writes no result and nothing for
	// GitHub Actions.
	result.Reset()
	failed := t.TempDir()
	env["XGO_REPO"] = "127.0.0.1:1/nothing/listens"
	env["XGO_RETRY_TIMEOUT"] = "0"
	env["GITHUB_OUTPUT"] = filepath.Join(failed, "output")
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(failed, "summary.md")
	if err := run(t.Context(), e, stageRelease); err == nil {
		t.Fatal("a release to a registry that does not listen succeeded")
	}
	if entries, _ := os.ReadDir(failed); len(entries) != 0 || result.Len() != 0 {
		t.Errorf("a failed release wrote %v and the result %q", entries, result.String())
	}
	ref, err := name.ParseReference(rep.Reference, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Index(ref); err != nil {
		t.Errorf("reading back %s: %v", rep.Reference, err)
	}
}

// TestRunMissingBase checks that a base image that does not exist fails before any build,
// naming the base, and writes nothing.
func TestRunMissingBase(t *testing.T) {
	reg := registrytest.Start(t)
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	var out strings.Builder
	baseRef := reg.Host() + "/no/such/base:1"
	e := runEnv{dir: dir, getenv: envMap(map[string]string{"XGO_BASE": baseRef}), environ: os.Environ(), out: &out}
	err := run(t.Context(), e, stageImage)
	if err == nil || !strings.Contains(err.Error(), `base image "`+baseRef+`" does not exist`) {
		t.Errorf("error = %v, want one saying the base does not exist", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist exists after the failure (stat: %v)", err)
	}
}

// TestRunBuildFailure checks that a platform that does not compile fails the image target,
// naming the platform and go's message, and leaves no OCI layout.
func TestRunBuildFailure(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"main.go":  mainGo,
		"s390x.go": "//go:build s390x\n\npackage main\n\nvar _ = notDefinedAnywhere\n",
	})
	var out strings.Builder
	e := runEnv{dir: dir, getenv: envMap(map[string]string{"XGO_PLATFORMS": "linux/amd64,linux/s390x,linux/arm64"}), environ: os.Environ(), out: &out}
	err := run(t.Context(), e, stageImage)
	if err == nil || !strings.HasPrefix(err.Error(), "building linux/s390x: go build: exit status 1:") || !strings.Contains(err.Error(), "undefined: notDefinedAnywhere") {
		t.Errorf("error = %v, want one naming linux/s390x and go's message", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist", "oci")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist/oci exists after a failed build (stat: %v)", err)
	}
	if msg, err := os.ReadFile(filepath.Join(dir, "dist", incompleteMarker)); err != nil || !strings.HasPrefix(string(msg), "xgo-build image started at ") {
		t.Errorf("dist/%s after a failed build: %q, %v", incompleteMarker, msg, err)
	}
}

// TestRunMountsBaseLayers checks that a release onto a base in another repository of the same
// registry mounts the base's layers from there: only each image's config and binary layer are
// uploaded, with the cache and without it.
func TestRunMountsBaseLayers(t *testing.T) {
	reg := registrytest.Start(t)
	baseRef := reg.Host() + "/base/multi:1"
	r, err := registry.ParseRef(baseRef, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, releasetest.MultiPlatformBase(t), registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy())...); err != nil {
		t.Fatal(err)
	}
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	for i, cache := range []string{"off", t.TempDir()} {
		var out strings.Builder
		env := map[string]string{
			"XGO_PLATFORMS":     "linux/amd64,linux/arm64",
			"XGO_BASE":          baseRef,
			"XGO_REPO":          fmt.Sprintf("%s/mount/app%d", reg.Host(), i),
			"XGO_CACHE":         cache,
			"SOURCE_DATE_EPOCH": "86400",
		}
		e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out}
		if err := run(t.Context(), e, stageRelease); err != nil {
			t.Fatalf("XGO_CACHE=%s: run: %v\n%s", cache, err, out.String())
		}
		// Each base image has one layer; each release image adds a config and a binary, and
		// its two attestations a layer each (and one empty config for all).
		if rep := readReport(t, dir); rep.BlobsUploaded != 9 || rep.BlobsSkipped != 2 {
			t.Errorf("XGO_CACHE=%s: %d blobs uploaded, %d skipped; want 9 (4 of the images, 5 of their attestations) and 2, the base layers mounted", cache, rep.BlobsUploaded, rep.BlobsSkipped)
		}
	}
}
