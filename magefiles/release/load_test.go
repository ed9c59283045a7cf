package release

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/shim"
)

// dockerEngine returns the engine of this machine (DOCKER_HOST, else the default socket), or
// stops t (see testenv.Missing) when none answers.
func dockerEngine(t *testing.T) engine {
	t.Helper()
	eng, err := parseDockerHost(os.Getenv("DOCKER_HOST"))
	if err != nil {
		t.Fatalf("DOCKER_HOST: %v", err)
	}
	if _, err := eng.info(t.Context()); err != nil {
		testenv.Missing(t, "a Docker engine", err.Error())
	}
	testenv.Command(t, "docker", "install the docker CLI (apt-get install docker.io)")
	return eng
}

// docker runs the docker CLI and returns its standard output.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + string(ee.Stderr)
		}
		t.Fatalf("docker %s: %s", strings.Join(args, " "), msg)
	}
	return string(out)
}

// removeImage removes tag from the engine when the test ends.
func removeImage(t *testing.T, tag string) {
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", "-f", tag).CombinedOutput(); err != nil {
			t.Logf("docker rmi %s: %v\n%s", tag, err, out)
		}
	})
}

const loadMain = `package main

import (
	"fmt"
	"runtime"
)

func main() { fmt.Println("hello from", runtime.GOOS+"/"+runtime.GOARCH) }
`

// TestLoadIntoEngine builds a program for two platforms and loads each into the real engine:
// the engine's platform under the default tag, which docker run runs, and linux/arm64 under
// XGO_LOAD_TAG, which docker image inspect shows as arm64 (and which runs when binfmt_misc
// has qemu-aarch64).
func TestLoadIntoEngine(t *testing.T) {
	eng := dockerEngine(t)
	info, err := eng.info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	host, err := info.platform()
	if err != nil {
		t.Fatal(err)
	}
	if host != (shim.Platform{OS: "linux", Arch: "amd64"}) && host != (shim.Platform{OS: "linux", Arch: "arm64"}) {
		t.Skipf("the engine is %s: the test builds linux/amd64 and linux/arm64", host)
	}
	// The binary name makes the default tag: one no image of this machine has.
	bin := fmt.Sprintf("xgo-load-test-%d", os.Getpid())
	dir := writeModule(t, map[string]string{"cmd/" + bin + "/main.go": loadMain})
	env := map[string]string{"XGO_PLATFORMS": "linux/amd64,linux/arm64", "SOURCE_DATE_EPOCH": "86400"}

	var out, result strings.Builder
	wantTag := bin + ":latest"
	removeImage(t, wantTag)
	if err := load(t.Context(), runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out, result: &result}); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	if result.String() != wantTag+"\n" {
		t.Errorf("result %q, want the line %s alone", result.String(), wantTag)
	}
	if strings.Contains(out.String(), filepath.Join(dir, "dist", "oci")+"@") {
		t.Errorf("the image target's result is in the progress:\n%s", out.String())
	}
	if want := "loading the " + host.String() + " image sha256:"; !strings.Contains(out.String(), want) {
		t.Errorf("progress lacks %q:\n%s", want, out.String())
	}
	if got, want := docker(t, "run", "--rm", wantTag), "hello from "+host.String()+"\n"; got != want {
		t.Errorf("docker run %s printed %q, want %q", wantTag, got, want)
	}

	armTag := bin + ":arm64"
	removeImage(t, armTag)
	env["XGO_LOAD_PLATFORM"], env["XGO_LOAD_TAG"] = "linux/aarch64", armTag
	out.Reset()
	result.Reset()
	if err := load(t.Context(), runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out, result: &result}); err != nil {
		t.Fatalf("XGO_LOAD_PLATFORM=linux/aarch64: load: %v\n%s", err, out.String())
	}
	if result.String() != armTag+"\n" {
		t.Errorf("result %q, want the line %s alone", result.String(), armTag)
	}
	if got := docker(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", armTag); got != "linux/arm64\n" {
		t.Errorf("docker image inspect %s: platform %q, want linux/arm64", armTag, got)
	}
	if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err != nil || host.Arch == "arm64" {
		t.Logf("not running %s: no binfmt_misc handler qemu-aarch64 (or the engine is arm64)", armTag)
		return
	}
	if got := docker(t, "run", "--rm", "--platform", "linux/arm64", armTag); got != "hello from linux/arm64\n" {
		t.Errorf("docker run %s printed %q, want %q", armTag, got, "hello from linux/arm64\n")
	}
}

// TestLoadNoEngine checks that a DOCKER_HOST socket that does not exist fails the load with
// one line, before anything is built.
func TestLoadNoEngine(t *testing.T) {
	dir := writeModule(t, map[string]string{"cmd/app/main.go": mainGo})
	sock := filepath.Join(t.TempDir(), "docker.sock")
	var out, result strings.Builder
	env := map[string]string{"DOCKER_HOST": "unix://" + sock}
	err := load(t.Context(), runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out, result: &result})
	want := "no Docker engine at unix://" + sock + ": dial unix " + sock + ": connect: no such file or directory; start it or set DOCKER_HOST"
	if err == nil || err.Error() != want {
		t.Errorf("load: %v\nwant %s", err, want)
	}
	if result.Len() != 0 || out.Len() != 0 {
		t.Errorf("result %q, progress %q: want none", result.String(), out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "dist")); err == nil {
		t.Error("dist exists: the load built without an engine")
	}
}

// TestLoadBadValues checks that bad load values fail together, naming each variable, before
// the engine is asked anything.
func TestLoadBadValues(t *testing.T) {
	env := map[string]string{
		"XGO_LOAD_TAG":      "App:1",
		"XGO_LOAD_PLATFORM": "linux/arm/v9",
		"DOCKER_HOST":       "ssh://me@box",
	}
	err := load(t.Context(), runEnv{dir: t.TempDir(), getenv: envMap(env), out: &strings.Builder{}})
	if err == nil {
		t.Fatal("load succeeded")
	}
	for _, want := range []string{`XGO_LOAD_TAG="App:1": `, `XGO_LOAD_PLATFORM="linux/arm/v9": `, `DOCKER_HOST="ssh://xxxxx@box": scheme "ssh" is not supported`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestLoadPlatformNotBuilt checks that a platform XGO_PLATFORMS leaves out fails before the
// build, against a fake engine.
func TestLoadPlatformNotBuilt(t *testing.T) {
	sock := fakeEngine(t, `{"OSType":"linux","Architecture":"x86_64","DriverStatus":null}`, "")
	dir := writeModule(t, map[string]string{"cmd/app/main.go": mainGo})
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XGO_PLATFORMS": "linux/arm64"}, "the image has no linux/amd64 platform, the Docker engine's, only linux/arm64: add it to XGO_PLATFORMS, or set XGO_LOAD_PLATFORM to one of them"},
		{map[string]string{"XGO_PLATFORMS": "linux/amd64", "XGO_LOAD_PLATFORM": "linux/s390x"}, `XGO_LOAD_PLATFORM="linux/s390x": the image has no such platform, only linux/amd64: add it to XGO_PLATFORMS`},
	} {
		tc.env["DOCKER_HOST"] = "unix://" + sock
		err := load(t.Context(), runEnv{dir: dir, getenv: envMap(tc.env), environ: os.Environ(), out: &strings.Builder{}})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: load: %v\nwant %s", tc.env, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dist")); err == nil {
		t.Error("dist exists: the load built a platform it could not load")
	}
}

// TestEngineLoadError checks that an error in the engine's answer stream fails the load.
func TestEngineLoadError(t *testing.T) {
	sock := fakeEngine(t, `{}`, `{"stream":"Loading layer\n"}`+"\n"+`{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}`+"\n")
	eng, err := parseDockerHost("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.load(t.Context(), strings.NewReader("tar")); err == nil || err.Error() != "no space left on device" {
		t.Errorf("load: %v, want no space left on device", err)
	}
}

// TestLoadContainerdStore checks, against a fake engine with the containerd image store,
// that load says it gives such an engine one platform, and prints the tag alone.
func TestLoadContainerdStore(t *testing.T) {
	sock := fakeEngine(t, `{"OSType":"linux","Architecture":"aarch64","DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]]}`,
		`{"stream":"Loaded image: app:x\n"}`+"\n")
	dir := writeModule(t, map[string]string{"cmd/app/main.go": mainGo})
	env := map[string]string{"DOCKER_HOST": "unix://" + sock, "XGO_PLATFORMS": "linux/arm64", "XGO_LOAD_TAG": "app:x"}
	var out, result strings.Builder
	if err := load(t.Context(), runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out, result: &result}); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	if result.String() != "app:x\n" {
		t.Errorf("result %q, want app:x alone", result.String())
	}
	if want := "has the containerd image store, which could hold the whole index: load gives it the linux/arm64 image alone"; !strings.Contains(out.String(), want) {
		t.Errorf("progress lacks %q:\n%s", want, out.String())
	}
}

// fakeEngine serves GET /info with info and POST /images/load with loadAnswer on a unix
// socket, and returns the socket's path.
func fakeEngine(t *testing.T, info, loadAnswer string) string {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/info":
			fmt.Fprint(w, info)
		case r.Method == http.MethodPost && r.URL.Path == "/images/load":
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, loadAnswer)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return sock
}

func TestParseDockerHost(t *testing.T) {
	for _, tc := range []struct{ in, url, err string }{
		{"", "http://docker", ""},
		{"unix:///run/user/1000/docker.sock", "http://docker", ""},
		{"tcp://127.0.0.1:2375", "http://127.0.0.1:2375", ""},
		{"tcp://", "", "a TCP endpoint is tcp://host:port"},
		{"unix://", "", "a unix socket is unix:///path/to/docker.sock"},
		{"npipe:////./pipe/docker_engine", "", `scheme "npipe" is not supported`},
		{"/var/run/docker.sock", "", `scheme "" is not supported`},
	} {
		eng, err := parseDockerHost(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseDockerHost(%q): error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || eng.url != tc.url):
			t.Errorf("parseDockerHost(%q) = %q, %v; want %q", tc.in, eng.url, err, tc.url)
		}
	}
}

func TestParseLoadTag(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"app", "app:latest"},
		{"app:dev", "app:dev"},
		{"localhost:5000/you/app", "localhost:5000/you/app:latest"},
		{"ghcr.io/you/app:1.2.3", "ghcr.io/you/app:1.2.3"},
		{"App", ""},
		{"app@sha256:" + strings.Repeat("0", 64), ""},
		{"app:", ""},
	} {
		got, err := parseLoadTag(tc.in)
		if tc.want == "" && err == nil || tc.want != "" && (err != nil || got != tc.want) {
			t.Errorf("parseLoadTag(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestDefaultLoadTag(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"app", "", "app:latest"},
		{"MyApp", "v1.2.3", "myapp:1.2.3"},
		{"app", "v1.2.3-rc.1", "app:1.2.3-rc.1"},
		{"app", "v1.2", "app:latest"},
	} {
		got, err := defaultLoadTag(config{Name: tc.name, Version: tc.version})
		if err != nil || got != tc.want {
			t.Errorf("defaultLoadTag(%s, %q) = %q, %v; want %q", tc.name, tc.version, got, err, tc.want)
		}
	}
	if _, err := defaultLoadTag(config{Name: "my+app"}); err == nil || !strings.Contains(err.Error(), "set XGO_LOAD_TAG") {
		t.Errorf("defaultLoadTag(my+app): %v, want an error naming XGO_LOAD_TAG", err)
	}
}

func TestEnginePlatform(t *testing.T) {
	for _, tc := range []struct{ os, arch, want string }{
		{"linux", "x86_64", "linux/amd64"},
		{"linux", "aarch64", "linux/arm64"},
		{"linux", "armv7l", "linux/arm/v7"},
		{"linux", "armv6l", "linux/arm/v6"},
		{"", "s390x", "linux/s390x"},
		{"linux", "riscv64", "linux/riscv64"},
	} {
		p, err := engineInfo{OSType: tc.os, Architecture: tc.arch}.platform()
		if err != nil || p.String() != tc.want {
			t.Errorf("platform of %s/%s = %v, %v; want %s", tc.os, tc.arch, p, err, tc.want)
		}
	}
	if _, err := (engineInfo{OSType: "linux", Architecture: "sparc"}).platform(); err == nil {
		t.Error("platform of linux/sparc: no error")
	}
	store := engineInfo{DriverStatus: [][]string{{"driver-type", "io.containerd.snapshotter.v1"}}}
	if !store.containerdStore() || (engineInfo{DriverStatus: [][]string{{"Backing Filesystem", "extfs"}}}).containerdStore() {
		t.Error("containerdStore is wrong")
	}
}

// The engine's first answer is bounded: a socket that accepts and says nothing fails.
func TestEngineInfoTimeout(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	eng, _ := parseDockerHost("unix://" + sock)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := eng.info(ctx); err == nil || !strings.HasPrefix(err.Error(), "no Docker engine at unix://"+sock+": ") {
		t.Errorf("info: %v", err)
	}
}
