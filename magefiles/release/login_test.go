package release

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// testPassword is the password of the tests of logins: no message may show it.
const testPassword = "s3cret-pw"

// writePasswordFile writes content into a new file and returns its path.
func writePasswordFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReadEnvLogins checks that readEnv refuses every bad registry login with one error
// that names the variables and never shows the password.
func TestReadEnvLogins(t *testing.T) {
	repo := map[string]string{"XGO_REPO": "registry.example/team/app"}
	missing := filepath.Join(t.TempDir(), "nope")
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XGO_REGISTRY_USER": "me"},
			"XGO_REGISTRY_USER is set but neither XGO_REGISTRY_PASSWORD nor XGO_REGISTRY_PASSWORD_FILE is: set one of them"},
		{map[string]string{"XGO_REGISTRY_PASSWORD": testPassword},
			"XGO_REGISTRY_PASSWORD is set but XGO_REGISTRY_USER is not: set both"},
		{map[string]string{"XGO_REGISTRY_PASSWORD_FILE": writePasswordFile(t, testPassword)},
			"XGO_REGISTRY_PASSWORD_FILE is set but XGO_REGISTRY_USER is not: set both"},
		{map[string]string{"XGO_REGISTRY_USER": "me", "XGO_REGISTRY_PASSWORD": testPassword, "XGO_REGISTRY_PASSWORD_FILE": writePasswordFile(t, testPassword)},
			"XGO_REGISTRY_PASSWORD and XGO_REGISTRY_PASSWORD_FILE are both set: set one of them"},
		{map[string]string{"XGO_REGISTRY_USER": "me", "XGO_REGISTRY_PASSWORD_FILE": missing},
			`XGO_REGISTRY_PASSWORD_FILE="` + missing + `": cannot read the password file: no such file or directory`},
		{map[string]string{"XGO_REGISTRY_USER": "me", "XGO_REGISTRY_PASSWORD_FILE": t.TempDir()},
			": cannot read the password file: is a directory"},
		{map[string]string{"XGO_REGISTRY_USER": "me", "XGO_REGISTRY_PASSWORD_FILE": writePasswordFile(t, "\n")},
			": the password file is empty"},
		{map[string]string{"CI_REGISTRY": "registry.gitlab.com", "CI_REGISTRY_USER": "gitlab-ci-token"},
			"CI_REGISTRY_USER is set but CI_REGISTRY_PASSWORD is not: set both, or neither"},
		{map[string]string{"CI_REGISTRY": "registry.gitlab.com", "CI_REGISTRY_PASSWORD": testPassword},
			"CI_REGISTRY_PASSWORD is set but CI_REGISTRY_USER is not: set both, or neither"},
		{map[string]string{"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": testPassword},
			"CI_REGISTRY_USER and CI_REGISTRY_PASSWORD are set but CI_REGISTRY, the registry they are for, is not"},
		{map[string]string{"CI_REGISTRY": "https://registry.gitlab.com", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": testPassword},
			`CI_REGISTRY="https://registry.gitlab.com": must be a registry host[:port], such as registry.example`},
	} {
		env := map[string]string{}
		for k, v := range repo {
			env[k] = v
		}
		for k, v := range tt.env {
			env[k] = v
		}
		_, errs := readEnv(t.TempDir(), envMap(env))
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
			t.Errorf("%v: errors %q, want one with %q", tt.env, errs, tt.want)
		}
		for _, err := range errs {
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("%v: %q shows the password", tt.env, err)
			}
		}
	}
}

// resolveUser returns the user and password kc gives the registry of ref ("" for none).
func resolveUser(t *testing.T, kc authn.Keychain, ref string) (user, password string) {
	t.Helper()
	repo, err := name.NewRepository(ref)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := kc.Resolve(repo)
	if err != nil {
		t.Fatal(err)
	}
	if auth == authn.Anonymous {
		return "", ""
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Username, cfg.Password
}

// TestReadEnvLoginHosts checks where each login of the environment goes: XGO_REGISTRY_* to
// XGO_REPO's registry, CI_REGISTRY_* to CI_REGISTRY, GITHUB_TOKEN to ghcr.io, each to no
// other host or port, and XGO_REGISTRY_* first; a password file loses its trailing newline.
func TestReadEnvLoginHosts(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no docker config credentials
	ci := map[string]string{"CI_REGISTRY": "gitlab.example:5050", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "job-token"}
	github := map[string]string{"GITHUB_TOKEN": "gh-token", "GITHUB_ACTOR": "octocat"}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want map[string][2]string // repository -> user, password ("" for none)
	}{
		{"nothing", nil, map[string][2]string{"ghcr.io/you/app": {}, "registry.example/app": {}}},
		{"XGO_REGISTRY_PASSWORD", map[string]string{"XGO_REPO": "registry.example:5000/team/app", "XGO_REGISTRY_USER": "me", "XGO_REGISTRY_PASSWORD": testPassword},
			map[string][2]string{
				"registry.example:5000/other/base": {"me", testPassword},
				"registry.example/team/app":        {},
				"registry.example:5001/team/app":   {},
				"ghcr.io/you/app":                  {},
			}},
		{"XGO_REGISTRY_PASSWORD_FILE", map[string]string{"XGO_REPO": "registry.example/team/app", "XGO_REGISTRY_USER": "me",
			"XGO_REGISTRY_PASSWORD_FILE": writePasswordFile(t, testPassword+"\r\n")},
			map[string][2]string{"registry.example/team/app": {"me", testPassword}}},
		{"without XGO_REPO", map[string]string{"XGO_REGISTRY_USER": "me", "XGO_REGISTRY_PASSWORD": testPassword},
			map[string][2]string{"registry.example/team/app": {}, "alpine": {}}},
		{"CI_REGISTRY", ci, map[string][2]string{
			"gitlab.example:5050/group/project": {"gitlab-ci-token", "job-token"},
			"gitlab.example/group/project":      {},
			"ghcr.io/you/app":                   {},
		}},
		{"GITHUB_TOKEN", github, map[string][2]string{
			"ghcr.io/you/app":            {"octocat", "gh-token"},
			"ghcr.io:443/you/app":        {},
			"ghcr.io.example/you/app":    {},
			"docker.pkg.github.com/a/b":  {},
			"registry.example/team/app":  {},
			"index.docker.io/library/go": {},
		}},
		{"GITHUB_TOKEN without GITHUB_ACTOR", map[string]string{"GITHUB_TOKEN": "gh-token"},
			map[string][2]string{"ghcr.io/you/app": {"unset", "gh-token"}}},
		{"XGO_REGISTRY_USER before GITHUB_TOKEN", map[string]string{"XGO_REPO": "ghcr.io/you/app", "XGO_REGISTRY_USER": "me",
			"XGO_REGISTRY_PASSWORD": testPassword, "GITHUB_TOKEN": "gh-token"},
			map[string][2]string{"ghcr.io/you/app": {"me", testPassword}}},
		{"XGO_REGISTRY_USER before CI_REGISTRY_USER", map[string]string{"XGO_REPO": "gitlab.example:5050/group/project", "XGO_REGISTRY_USER": "me",
			"XGO_REGISTRY_PASSWORD": testPassword, "CI_REGISTRY": "gitlab.example:5050", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "job-token"},
			map[string][2]string{"gitlab.example:5050/group/project": {"me", testPassword}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, errs := readEnv(t.TempDir(), envMap(tt.env))
			if len(errs) != 0 {
				t.Fatal(errs)
			}
			for ref, want := range tt.want {
				if user, password := resolveUser(t, c.keychain, ref); user != want[0] || password != want[1] {
					t.Errorf("%s: %q, %q; want %q, %q", ref, user, password, want[0], want[1])
				}
			}
		})
	}
}

// TestRunRegistryLogins releases to a registry that requires basic auth, with an empty
// docker config, logging in with each way of the environment: the right password pushes,
// and a wrong one fails saying which credentials were refused, with no password in the
// error, the output or dist.
func TestRunRegistryLogins(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host, user, good := reg.Host(), reg.Username(), reg.Password()
	wrong := good + "-wrong" // shows good too when it shows itself
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	for _, tt := range []struct {
		name  string
		login func(password string) map[string]string
		from  string
	}{
		{"XGO_REGISTRY_PASSWORD", func(pw string) map[string]string {
			return map[string]string{"XGO_REGISTRY_USER": user, "XGO_REGISTRY_PASSWORD": pw}
		}, "XGO_REGISTRY_USER and XGO_REGISTRY_PASSWORD"},
		{"XGO_REGISTRY_PASSWORD_FILE", func(pw string) map[string]string {
			return map[string]string{"XGO_REGISTRY_USER": user, "XGO_REGISTRY_PASSWORD_FILE": writePasswordFile(t, pw+"\n")}
		}, "XGO_REGISTRY_USER and XGO_REGISTRY_PASSWORD_FILE"},
		{"CI_REGISTRY", func(pw string) map[string]string {
			return map[string]string{"CI_REGISTRY": host, "CI_REGISTRY_USER": user, "CI_REGISTRY_PASSWORD": pw}
		}, "CI_REGISTRY_USER and CI_REGISTRY_PASSWORD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, password := range []string{wrong, good} {
				var out strings.Builder
				dist := "dist-" + tt.name
				env := tt.login(password)
				env["XGO_REPO"] = host + "/logins/" + strings.ToLower(strings.ReplaceAll(tt.name, "_", "-"))
				env["XGO_DIST"] = dist
				err := run(t.Context(), lockRunEnv(dir, &out, env), stageRelease)
				shown := out.String()
				if err != nil {
					shown += "\n" + err.Error()
				}
				if report, rerr := os.ReadFile(filepath.Join(dir, dist, "release.json")); rerr == nil {
					shown += "\n" + string(report)
				}
				if strings.Contains(shown, good) {
					t.Fatalf("the password shows:\n%s", shown)
				}
				if password == good {
					if err != nil {
						t.Fatalf("run with the right password: %v\n%s", err, out.String())
					}
					continue
				}
				want := "registry " + host + " refused access (401 Unauthorized) with the credentials of " + tt.from + "; check them"
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("run with a wrong password: %v, want an error with %q\n%s", err, want, out.String())
				}
			}
		})
	}
}
