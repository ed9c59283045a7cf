package release

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
)

// envMap returns a getenv that reads m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// loadConfig reads the configuration as a run does (readEnv, then go list and git in dir,
// in this process's environment), with every error joined.
func loadConfig(ctx context.Context, dir string, getenv func(string) string) (config, error) {
	c, errs := readEnv(dir, getenv)
	errs = append(errs, c.askGoAndGit(ctx, getenv, nil, nil)...)
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	return c, nil
}

// writeModule writes a Go module with the given files (paths relative to its root, go.mod
// included unless given) into a new temporary directory and returns it.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if _, ok := files["go.mod"]; !ok {
		files["go.mod"] = "module example.com/app\n\ngo 1.26\n"
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const mainGo = "package main\n\nfunc main() {}\n"

// appModule is a module with one main package (cmd/app), a library, and a mage package.
func appModule(t *testing.T) string {
	return writeModule(t, map[string]string{
		"cmd/app/main.go":        mainGo,
		"lib/lib.go":             "package lib\n",
		"magefiles/magefile.go":  mainGo,
		"magefiles/tool/main.go": mainGo,
	})
}

// git runs git in dir with a fixed identity and commit date.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=@1700000000 +0000", "GIT_AUTHOR_DATE=@1700000000 +0000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	dir := appModule(t)
	c, err := loadConfig(context.Background(), dir, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Main != "example.com/app/cmd/app" || c.Name != "app" {
		t.Errorf("Main, Name = %q, %q; want example.com/app/cmd/app, app", c.Main, c.Name)
	}
	if got := c.Platforms.String(); got != strings.Join(defaultPlatforms, ",") {
		t.Errorf("Platforms = %s, want the default eight", got)
	}
	if c.Base != "scratch" || c.Repo != "" || c.Jobs != runtime.NumCPU() || c.Dist != filepath.Join(dir, "dist") || c.Insecure || c.Wait || len(c.Flags) != 0 ||
		!c.SBOM || !c.Provenance {
		t.Errorf("config = %+v, want defaults", c)
	}
	if !slices.Equal(c.Tags, []string{"latest"}) || c.Version != "" || c.Revision != "" || c.Source != "" {
		t.Errorf("Tags, Version, Revision, Source = %q, %q, %q, %q outside git; want [latest] and empty", c.Tags, c.Version, c.Revision, c.Source)
	}
	if !c.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("Created = %v outside git, want the Unix epoch", c.Created)
	}
}

func TestLoadConfigValues(t *testing.T) {
	dir := appModule(t)
	c, err := loadConfig(context.Background(), dir, envMap(map[string]string{
		"XGO_MAIN":              "./cmd/app",
		"XGO_PLATFORMS":         "linux/amd64, LINUX/ARM ,linux/arm/v7,windows/arm64",
		"XGO_BASE":              "127.0.0.1:5000/base:1",
		"XGO_REPO":              "ghcr.io/owner/app",
		"XGO_TAGS":              "edge,nightly",
		"XGO_JOBS":              "3",
		"XGO_FLAGS":             `-tags 'a b' -ldflags="-s -w"`,
		"XGO_DIST":              "out",
		"XGO_INSECURE_REGISTRY": "true",
		"XGO_WAIT":              "true",
		"XGO_SBOM":              " OFF ",
		"SOURCE_DATE_EPOCH":     "1234567890",
		"XGO_RETRY_TIMEOUT":     "90s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Platforms.String(); got != "linux/amd64,linux/arm/v7,windows/arm64" {
		t.Errorf("Platforms = %s", got)
	}
	if c.Base != "127.0.0.1:5000/base:1" || c.Repo != "ghcr.io/owner/app" || c.repo.String() != "ghcr.io/owner/app" {
		t.Errorf("Base, Repo = %q, %q", c.Base, c.Repo)
	}
	if !slices.Equal(c.Tags, []string{"edge", "nightly"}) || c.Jobs != 3 || !c.Insecure {
		t.Errorf("Tags, Jobs, Insecure = %q, %d, %v", c.Tags, c.Jobs, c.Insecure)
	}
	if want := []string{"-tags", "a b", "-ldflags=-s -w"}; !slices.Equal(c.Flags, want) {
		t.Errorf("Flags = %q, want %q", c.Flags, want)
	}
	if c.Retry.Timeout != 90*time.Second {
		t.Errorf("Retry.Timeout = %v, want 90s", c.Retry.Timeout)
	}
	if c.Dist != filepath.Join(dir, "out") || !c.Created.Equal(time.Unix(1234567890, 0)) || !c.Wait {
		t.Errorf("Dist, Created, Wait = %q, %v, %v", c.Dist, c.Created, c.Wait)
	}
	if c.SBOM || !c.Provenance {
		t.Errorf("SBOM, Provenance = %v, %v with XGO_SBOM=OFF, want false, true", c.SBOM, c.Provenance)
	}
}

func TestLoadConfigGit(t *testing.T) {
	dir := appModule(t)
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "first")
	git(t, dir, "tag", "v1.2.3-rc.1")
	git(t, dir, "tag", "v1.2.3")
	git(t, dir, "remote", "add", "origin", "https://user:s3cret@github.com/owner/app.git")

	c, err := loadConfig(context.Background(), dir, envMap(map[string]string{"XGO_TAGS": "+edge"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "v1.2.3" || len(c.Revision) != 40 || c.Source != "https://github.com/owner/app" {
		t.Errorf("Version, Revision, Source = %q, %q, %q", c.Version, c.Revision, c.Source)
	}
	if want := []string{"1.2.3", "1.2", "1", "latest", "edge"}; !slices.Equal(c.Tags, want) {
		t.Errorf("Tags = %q, want %q", c.Tags, want)
	}
	if !c.Created.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("Created = %v, want the commit time", c.Created)
	}
	if !c.DistUnignored {
		t.Error("DistUnignored is false for a dist/ that .gitignore does not list")
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/dist/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = loadConfig(context.Background(), dir, envMap(map[string]string{"SOURCE_DATE_EPOCH": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("Created = %v with SOURCE_DATE_EPOCH=0, want the epoch", c.Created)
	}
	if c.DistUnignored {
		t.Error("DistUnignored is true for a dist/ that .gitignore lists")
	}
}

func TestLoadConfigBadValues(t *testing.T) {
	dir := appModule(t)
	tests := []struct {
		name, value, want string
	}{
		{"XGO_JOBS", "abc", `XGO_JOBS="abc": must be a positive integer`},
		{"XGO_JOBS", "0", `XGO_JOBS="0": must be a positive integer`},
		{"XGO_JOBS", "-2", `XGO_JOBS="-2": must be a positive integer`},
		{"XGO_JOBS", "1.5", `XGO_JOBS="1.5": must be a positive integer`},
		{"XGO_PLATFORMS", "linux/arm/v9", `XGO_PLATFORMS="linux/arm/v9": invalid platform "linux/arm/v9"`},
		{"XGO_PLATFORMS", "linux/amd64,plan10/mips", `XGO_PLATFORMS="linux/amd64,plan10/mips": invalid platform "plan10/mips"`},
		{"XGO_PLATFORMS", " , ", `XGO_PLATFORMS=" , ": no platforms given`},
		{"XGO_PLATFORMS", "linux/amd64,,linux/arm64", `XGO_PLATFORMS="linux/amd64,,linux/arm64": empty entry in the list`},
		{"XGO_PLATFORMS", "all,linux/amd64", `XGO_PLATFORMS="all,linux/amd64": "all" cannot be combined with other platforms`},
		{"XGO_BASE", "Not A Ref", `XGO_BASE="Not A Ref": must be "scratch", "static" or an image reference`},
		{"XGO_BASE", "alpine@sha256:123", `XGO_BASE="alpine@sha256:123": must be "scratch", "static" or an image reference`},
		{"XGO_REPO", "ghcr.io/owner/app:1.0", `XGO_REPO="ghcr.io/owner/app:1.0": must be a repository`},
		{"XGO_REPO", "UPPER/case", `XGO_REPO="UPPER/case": must be a repository`},
		{"XGO_TAGS", "a,,b", `XGO_TAGS="a,,b": empty tag in the list`},
		{"XGO_TAGS", "bad tag", `XGO_TAGS="bad tag": invalid tag "bad tag"`},
		{"XGO_FLAGS", `-ldflags="-s`, `XGO_FLAGS="-ldflags=\"-s": has an unterminated double quote`},
		{"XGO_FLAGS", `-tags 'a`, `XGO_FLAGS="-tags 'a": has an unterminated single quote`},
		{"XGO_FLAGS", `-x \`, `XGO_FLAGS="-x \\": ends with a lone backslash`},
		{"XGO_FLAGS", `-o /tmp/x`, `XGO_FLAGS="-o /tmp/x": must not set -o`},
		{"XGO_FLAGS", `-o=x`, `XGO_FLAGS="-o=x": must not set -o`},
		{"XGO_DIST", "  ", `XGO_DIST="  ": must be a directory path`},
		{"XGO_INSECURE_REGISTRY", "yes", `XGO_INSECURE_REGISTRY="yes": must be true or false`},
		{"XGO_WAIT", "soon", `XGO_WAIT="soon": must be true or false`},
		{"XGO_SBOM", "no", `XGO_SBOM="no": must be on or off`},
		{"XGO_PROVENANCE", "0", `XGO_PROVENANCE="0": must be on or off`},
		{"XGO_RETRY_TIMEOUT", "soon", `XGO_RETRY_TIMEOUT="soon": must be a non-negative duration`},
		{"XGO_RETRY_TIMEOUT", "-5s", `XGO_RETRY_TIMEOUT="-5s": must be a non-negative duration`},
		{"SOURCE_DATE_EPOCH", "yesterday", `SOURCE_DATE_EPOCH="yesterday": must be a non-negative integer`},
		{"SOURCE_DATE_EPOCH", "-1", `SOURCE_DATE_EPOCH="-1": must be a non-negative integer`},
		{"SOURCE_DATE_EPOCH", "99999999999999", `SOURCE_DATE_EPOCH="99999999999999": must be a non-negative integer`},
		{"XGO_MAIN", "./nope", `XGO_MAIN="./nope": `},
		{"XGO_MAIN", "./lib", `XGO_MAIN="./lib": package example.com/app/lib is package lib, not a main package`},
		{"XGO_MAIN", "./...", `XGO_MAIN="./...": must name one package, not a pattern`},
		{"XGO_MAIN", "-toolexec=x", `XGO_MAIN="-toolexec=x": must be a package path like ./cmd/app`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := loadConfig(context.Background(), dir, envMap(map[string]string{tt.name: tt.value}))
			if err == nil {
				t.Fatalf("loadConfig with %s=%q succeeded", tt.name, tt.value)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.want) {
				t.Errorf("error = %q, want it to start with %q", msg, tt.want)
			}
			if strings.Count(msg, "=") < 1 || strings.Contains(msg, "\n") {
				t.Errorf("error = %q, want one line naming the variable", msg)
			}
		})
	}
}

func TestLoadConfigReportsEveryBadValue(t *testing.T) {
	dir := appModule(t)
	_, err := loadConfig(context.Background(), dir, envMap(map[string]string{
		"XGO_JOBS": "abc", "XGO_TAGS": ",", "XGO_MAIN": "./lib",
	}))
	if err == nil {
		t.Fatal("loadConfig succeeded with three bad values")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("error has %d lines, want 3:\n%s", len(lines), err)
	}
	for i, prefix := range []string{`XGO_JOBS="abc"`, `XGO_TAGS=","`, `XGO_MAIN="./lib"`} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want it to start with %s", i, lines[i], prefix)
		}
	}
}

func TestFindMain(t *testing.T) {
	ctx := context.Background()
	two := writeModule(t, map[string]string{"cmd/a/main.go": mainGo, "cmd/b/main.go": mainGo})
	_, err := findMain(ctx, two, "", nil)
	if want := "XGO_MAIN is not set and the module has 2 main packages: set XGO_MAIN to one of example.com/app/cmd/a, example.com/app/cmd/b"; err == nil || err.Error() != want {
		t.Errorf("two mains: error = %v, want %q", err, want)
	}
	if got, err := findMain(ctx, two, "example.com/app/cmd/b", nil); err != nil || got != "example.com/app/cmd/b" {
		t.Errorf("findMain(import path) = %q, %v", got, err)
	}
	none := writeModule(t, map[string]string{"lib.go": "package lib\n"})
	_, err = findMain(ctx, none, "", nil)
	if err == nil || !strings.Contains(err.Error(), "XGO_MAIN is not set and the module has no main package") {
		t.Errorf("no main: error = %v", err)
	}
	root := writeModule(t, map[string]string{"main.go": mainGo, "go.mod": "module example.com/tool/v2\n\ngo 1.26\n"})
	if got, err := findMain(ctx, root, "", nil); err != nil || got != "example.com/tool/v2" || binaryName(got) != "tool" {
		t.Errorf("findMain at the root = %q, %v (name %q)", got, err, binaryName(got))
	}
	broken := writeModule(t, map[string]string{"main.go": "package main\n\nfunc main() { undefined() }\n"})
	if got, err := findMain(ctx, broken, ".", nil); err != nil || got != "example.com/app" {
		t.Errorf("a main package with a type error is still found by name: %q, %v", got, err)
	}
	_, err = findMain(ctx, t.TempDir(), "", nil)
	if err == nil || !strings.Contains(err.Error(), "finding the main package: go list ./...:") {
		t.Errorf("outside a module: error = %v", err)
	}
}

func TestBinaryName(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/app":          "app",
		"example.com/cmd/tool":     "tool",
		"example.com/app/v2":       "app",
		"example.com/app/cmd/v3x":  "v3x",
		"hello":                    "hello",
		"github.com/o/r/v10":       "r",
		"github.com/o/r/cmd/xgo-b": "xgo-b",
	} {
		if got := binaryName(in); got != want {
			t.Errorf("binaryName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSourceURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/owner/app.git":                "https://github.com/owner/app",
		"https://github.com/owner/app":                    "https://github.com/owner/app",
		"https://user:token@github.com/owner/app.git":     "https://github.com/owner/app",
		"https://x-access-token:ghs_abc@github.com/o/r":   "https://github.com/o/r",
		"git@github.com:owner/app.git":                    "https://github.com/owner/app",
		"github.com:owner/app":                            "https://github.com/owner/app",
		"ssh://git@gitlab.example:2222/group/sub/app.git": "https://gitlab.example/group/sub/app",
		"https://git.example:8443/app.git":                "https://git.example:8443/app",
		"git://example.org/app.git":                       "https://example.org/app",
		"/srv/git/app.git":                                "",
		"../app":                                          "",
		"file:///srv/git/app.git":                         "",
		"":                                                "",
		"https://github.com/":                             "",
		"host:#frag?q":                                    "https://host/%23frag%3Fq",
	} {
		if got := sourceURL(in); got != want {
			t.Errorf("sourceURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"   \t\n", nil, ""},
		{"-a -b", []string{"-a", "-b"}, ""},
		{"  -a\t\t-b\n", []string{"-a", "-b"}, ""},
		{`-ldflags='-s -w'`, []string{"-ldflags=-s -w"}, ""},
		{`-ldflags "-X main.v=1 -s"`, []string{"-ldflags", "-X main.v=1 -s"}, ""},
		{`''`, []string{""}, ""},
		{`a "" b`, []string{"a", "", "b"}, ""},
		{`a\ b`, []string{"a b"}, ""},
		{`"a\"b"`, []string{`a"b`}, ""},
		{`"a\nb"`, []string{`a\nb`}, ""},
		{`"\$HOME \\ \x"`, []string{`$HOME \ \x`}, ""},
		{`'\'`, []string{`\`}, ""},
		{`$HOME`, []string{"$HOME"}, ""},
		{"`id` $(id) *", []string{"`id`", "$(id)", "*"}, ""},
		{"a\\\nb", []string{"ab"}, ""},
		{"\"a\\\nb\"", []string{"ab"}, ""},
		{`x'y'"z"`, []string{"xyz"}, ""},
		{`'it'\''s'`, []string{"it's"}, ""},
		{`'abc`, nil, "unterminated single quote"},
		{`"abc`, nil, "unterminated double quote"},
		{`"abc\"`, nil, "unterminated double quote"},
		{`abc\`, nil, "lone backslash"},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("splitWords(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzSplitWords checks that splitting never panics, that quoting any split result and
// splitting again gives it back, and that text with no quotes or backslashes splits like
// strings.Fields on blanks.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"", "-a b", `'a b'`, `"a\"b"`, `a\ b`, "a\\\nb", `'`, `"`, `\`, "x\"y\\\nz\"", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		if err != nil {
			return
		}
		again, err := splitWords(quoteWords(words))
		if err != nil || !slices.Equal(again, words) && !(len(again) == 0 && len(words) == 0) {
			t.Fatalf("splitWords(quoteWords(%q)) = %q, %v", words, again, err)
		}
		if !strings.ContainsAny(s, `'"\`) {
			fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
			if !slices.Equal(words, fields) && !(len(words) == 0 && len(fields) == 0) {
				t.Fatalf("splitWords(%q) = %q, want %q", s, words, fields)
			}
		}
	})
}

// FuzzSourceURL checks that the source annotation made from any remote URL is empty or an
// https URL without user information, so that no credential of a remote reaches an image.
func FuzzSourceURL(f *testing.F) {
	for _, s := range []string{"https://u:p@github.com/o/r.git", "git@github.com:o/r.git", "ssh://git@h:22/r", "/local", "oauth2:tok@host:path"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		got := sourceURL(remote)
		if got == "" {
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("sourceURL(%q) = %q (%v)", remote, got, err)
		}
	})
}

func TestMayBeInGit(t *testing.T) {
	root := t.TempDir()
	if mayBeInGit(root, envMap(nil)) {
		t.Skipf("the temporary directory %s lies in a git work tree", root)
	}
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if mayBeInGit(sub, envMap(nil)) {
		t.Error("a directory with no .git above it may be in git")
	}
	if !mayBeInGit(sub, envMap(map[string]string{"GIT_DIR": "/elsewhere/.git"})) {
		t.Error("GIT_DIR set, but no repository")
	}
	// A worktree or submodule has a .git file.
	if err := os.WriteFile(filepath.Join(root, "a", ".git"), []byte("gitdir: /elsewhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !mayBeInGit(sub, envMap(nil)) {
		t.Error("a .git file in a parent, but no repository")
	}
	// A real repository, found from a subdirectory: the release still reads it.
	dir := appModule(t)
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "first")
	c, err := loadConfig(context.Background(), filepath.Join(dir, "cmd", "app"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Revision) != 40 {
		t.Errorf("Revision %q from a subdirectory of the work tree", c.Revision)
	}
}
func TestRetryPolicyFromEnv(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		err   string
	}{
		{"", registry.DefaultRetryTimeout, ""},
		{"90s", 90 * time.Second, ""},
		{" 5m ", 5 * time.Minute, ""},
		{"45", 45 * time.Second, ""},
		{"0", 0, ""},
		{"-1s", 0, `invalid XGO_RETRY_TIMEOUT "-1s": must not be negative`},
		{"soon", 0, `invalid XGO_RETRY_TIMEOUT "soon": must be a duration such as 90s or 5m, or a number of seconds`},
		{"-5", 0, `invalid XGO_RETRY_TIMEOUT "-5"`},
	} {
		p, err := retryPolicyFromEnv(envMap(map[string]string{"XGO_RETRY_TIMEOUT": tc.value}))
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("XGO_RETRY_TIMEOUT=%q: err = %v, want %q", tc.value, err, tc.err)
			}
			continue
		}
		if err != nil || p.Timeout != tc.want {
			t.Errorf("XGO_RETRY_TIMEOUT=%q: timeout %v, err %v; want %v", tc.value, p.Timeout, err, tc.want)
		}
	}
}
