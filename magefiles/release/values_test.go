package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestLoadConfigCredentials checks that a reference with credentials in XGO_REPO or XGO_BASE
// is refused with a message that shows it redacted and says to log in instead, and that no
// message of a run shows the secret.
func TestLoadConfigCredentials(t *testing.T) {
	dir := appModule(t)
	const secret = "s3cret-Pa55"
	tests := []struct{ name, value, want string }{
		{"XGO_REPO", "https://user:" + secret + "@registry.example/x", `XGO_REPO="https://xxxxx@registry.example/x": must not hold credentials: log in with ` + "`docker login registry.example`"},
		{"XGO_REPO", "user:" + secret + "@registry.example/owner/app", `XGO_REPO="xxxxx@registry.example/owner/app": must not hold credentials`},
		{"XGO_REPO", secret + "@ghcr.io/owner/app", `XGO_REPO="xxxxx@ghcr.io/owner/app": must not hold credentials: log in with ` + "`docker login ghcr.io`"},
		{"XGO_REPO", "user:" + secret + "@registry.example:5000", `XGO_REPO="xxxxx@registry.example:5000": must not hold credentials`},
		{"XGO_BASE", "https://user:" + secret + "@registry.example/base:1", `XGO_BASE="https://xxxxx@registry.example/base:1": must not hold credentials`},
		{"XGO_BASE", "user:" + secret + "@registry.example/base@sha256:" + strings.Repeat("a", 64), `XGO_BASE="xxxxx@registry.example/base@sha256:`},
		{"XGO_REPO", "https://registry.example/x", `XGO_REPO="https://registry.example/x": must not start with a URL scheme`},
		{"XGO_BASE", "http://registry.example/base:1", `XGO_BASE="http://registry.example/base:1": must not start with a URL scheme`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+strings.ReplaceAll(tt.value, secret, "secret"), func(t *testing.T) {
			env := map[string]string{tt.name: tt.value}
			_, err := loadConfig(context.Background(), dir, envMap(env))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to start with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret: %v", err)
			}
			if strings.Contains(tt.value, secret) && !strings.Contains(err.Error(), "credential helper") {
				t.Errorf("error = %v, want it to name credential helpers", err)
			}
			// The whole run says the same, and nothing else.
			var out strings.Builder
			env["XGO_CACHE"] = "off"
			if env["XGO_REPO"] == "" {
				env["XGO_REPO"] = "registry.example/owner/app"
			}
			runErr := run(t.Context(), runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out}, stageRelease)
			if runErr == nil || strings.Contains(runErr.Error()+out.String(), secret) {
				t.Errorf("run: %v, output %q: want an error without the secret", runErr, out.String())
			}
		})
	}
	// Digest references keep their '@'.
	for _, ref := range []string{"alpine@sha256:" + strings.Repeat("b", 64), "127.0.0.1:5000/base@sha256:" + strings.Repeat("c", 64)} {
		if _, errs := readEnv(dir, envMap(map[string]string{"XGO_BASE": ref})); len(errs) != 0 {
			t.Errorf("XGO_BASE=%s: %v", ref, errs)
		}
	}
}

// TestBadValueCut checks that a long bad value is shown once, cut to its first maxShown
// bytes with its length, wherever the message would repeat it.
func TestBadValueCut(t *testing.T) {
	dir := appModule(t)
	long := strings.Repeat("x", 100_000)
	for _, tt := range []struct{ name, value string }{
		{"XGO_FLAGS", "-ldflags=-s ./" + long},
		{"XGO_FLAGS", "-" + long},
		{"XGO_PLATFORMS", "linux/" + long},
		{"XGO_TAGS", long + "!"},
		{"XGO_JOBS", long},
		{"XGO_BASE", "Registry/" + long},
		{"XGO_MAIN", "./" + long},
		{"SOURCE_DATE_EPOCH", long},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(context.Background(), dir, envMap(map[string]string{tt.name: tt.value}))
			if err == nil {
				t.Fatalf("%s with %d bytes accepted", tt.name, len(tt.value))
			}
			msg := err.Error()
			want := fmt.Sprintf("%s=%q... (%d bytes): ", tt.name, tt.value[:maxShown], len(tt.value))
			if !strings.HasPrefix(msg, want) {
				t.Errorf("error starts %.300q, want %.300q", msg, want)
			}
			if len(msg) > 2*maxShown+500 {
				t.Errorf("error of %d bytes, want the value cut:\n%.1000s", len(msg), msg)
			}
		})
	}
	if got := showValue("a\xffb"); got != `"a\xffb"` {
		t.Errorf("showValue = %s", got)
	}
	// A cut never splits a character.
	v := strings.Repeat("é", maxShown)
	if got := showValue(v); !strings.HasPrefix(got, `"`+strings.Repeat("é", maxShown/2)+`"... (`) {
		t.Errorf("showValue cuts %.20q... as %.40q", v, got)
	}
}

// TestLoadConfigJobs checks the bounds of XGO_JOBS: 1 to maxJobs, the default the CPUs up
// to maxJobs.
func TestLoadConfigJobs(t *testing.T) {
	dir := appModule(t)
	for v, want := range map[string]string{
		"1":                     "",
		"256":                   "",
		"257":                   `XGO_JOBS="257": must be at most 256`,
		"1000000":               `XGO_JOBS="1000000": must be at most 256`,
		"99999999999999999999":  `XGO_JOBS="99999999999999999999": must be at most 256`,
		"-99999999999999999999": `XGO_JOBS="-99999999999999999999": must be a positive integer`,
		"0":                     `XGO_JOBS="0": must be a positive integer`,
	} {
		c, errs := readEnv(dir, envMap(map[string]string{"XGO_JOBS": v}))
		err := errors.Join(errs...)
		switch {
		case want == "" && err != nil:
			t.Errorf("XGO_JOBS=%s: %v", v, err)
		case want == "" && fmt.Sprint(c.Jobs) != v:
			t.Errorf("XGO_JOBS=%s: Jobs = %d", v, c.Jobs)
		case want != "" && (err == nil || err.Error() != want):
			t.Errorf("XGO_JOBS=%s: %v, want %s", v, err, want)
		}
	}
	if c, _ := readEnv(dir, envMap(nil)); c.Jobs != min(runtime.NumCPU(), maxJobs) {
		t.Errorf("default Jobs = %d", c.Jobs)
	}
}
