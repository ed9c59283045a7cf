package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// mustLogin is NewLogin for a host known to be good.
func mustLogin(t *testing.T, host, user, password, from string) Login {
	t.Helper()
	l, err := NewLogin(host, user, password, from)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// basicOf returns the user and password auth gives, or "", "" for anonymous.
func basicOf(t *testing.T, auth authn.Authenticator) (user, password string) {
	t.Helper()
	if auth == authn.Anonymous {
		return "", ""
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Username, cfg.Password
}

// TestLoginResolve checks that a login goes to its own registry alone: the same host and
// port, Docker Hub under either of its names, and nothing to another host or port.
func TestLoginResolve(t *testing.T) {
	for _, tt := range []struct {
		login, resource string
		want            bool
	}{
		{"127.0.0.1:5000", "127.0.0.1:5000/team/app", true},
		{"127.0.0.1:5000", "127.0.0.1:5001/team/app", false},
		{"127.0.0.1:5000", "127.0.0.1/team/app", false},
		{"registry.example", "registry.example/app", true},
		{"registry.example", "REGISTRY.example/app", true},
		{"registry.example", "registry.example:443/app", false},
		{"registry.example", "registry.example.evil/app", false},
		{"registry.example", "evil.example/registry.example/app", false},
		{"ghcr.io", "ghcr.io/you/app", true},
		{"ghcr.io", "docker.io/library/alpine", false},
		{"docker.io", "alpine", true},
		{"index.docker.io", "docker.io/library/alpine", true},
	} {
		repo, err := name.NewRepository(tt.resource)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := mustLogin(t, tt.login, "u", "p", "TEST").Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		user, password := basicOf(t, auth)
		if got := user == "u" && password == "p"; got != tt.want {
			t.Errorf("login for %s resolving %s: %q, %q; want the login: %v", tt.login, tt.resource, user, password, tt.want)
		}
	}
}

// TestNewLoginBadHost checks that a host that is not host[:port] is refused without showing
// the host or the password.
func TestNewLoginBadHost(t *testing.T) {
	for _, host := range []string{"", "registry.example/app", "https://registry.example", "user:hunter2@registry.example", "bad host"} {
		_, err := NewLogin(host, "user", "s3cret-pw", "TEST")
		if err == nil {
			t.Errorf("NewLogin(%q) succeeded", host)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret-pw") || strings.Contains(msg, "hunter2") {
			t.Errorf("NewLogin(%q): %v shows a password", host, err)
		}
	}
}

// TestLoginNeverPrinted checks that fmt shows no password for a Login, a pointer to one, or
// a value holding one, with any verb.
func TestLoginNeverPrinted(t *testing.T) {
	l := mustLogin(t, "registry.example", "user", "s3cret-pw", "TEST")
	holder := struct {
		L      Login
		logins []Login
	}{l, []Login{l}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		for _, v := range []any{l, &l, holder, &holder, []Login{l}, NewKeychain([]Login{l}, []Login{l})} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, "s3cret-pw") {
				t.Errorf("%s of %T shows the password: %s", verb, v, s)
			}
		}
	}
}

// keychainFunc is a keychain made of a function, standing for the docker config.
type keychainFunc func(authn.Resource) (authn.Authenticator, error)

func (f keychainFunc) Resolve(r authn.Resource) (authn.Authenticator, error) { return f(r) }

// TestKeychainOrder checks the order of precedence, the logins before the docker config,
// the docker config, the logins after it, and that the keychain remembers where the
// credentials of each registry came from.
func TestKeychainOrder(t *testing.T) {
	docker := keychainFunc(func(r authn.Resource) (authn.Authenticator, error) {
		switch r.RegistryStr() {
		case "docker.example", "both.example":
			return &authn.Basic{Username: "docker", Password: "d"}, nil
		case "broken.example":
			return nil, errors.New("parsing config.json: unexpected EOF")
		}
		return authn.Anonymous, nil
	})
	k := NewKeychain(
		[]Login{mustLogin(t, "both.example", "first", "1", "FIRST"), mustLogin(t, "before.example", "first", "1", "FIRST"),
			mustLogin(t, "before.example", "second", "2", "SECOND")},
		[]Login{mustLogin(t, "both.example", "after", "a", "AFTER"), mustLogin(t, "docker.example", "after", "a", "AFTER"),
			mustLogin(t, "after.example", "after", "a", "AFTER")})
	k.docker = docker
	for _, tt := range []struct{ registry, user, from string }{
		{"both.example", "first", "FIRST"},             // before the docker config
		{"before.example", "first", "FIRST"},           // the first of two
		{"docker.example", "docker", fromDockerConfig}, // the docker config before the logins after it
		{"after.example", "after", "AFTER"},            // the docker config has none
		{"none.example", "", ""},
	} {
		reg, err := name.NewRegistry(tt.registry)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := k.Resolve(reg)
		if err != nil {
			t.Fatal(err)
		}
		if user, _ := basicOf(t, auth); user != tt.user {
			t.Errorf("%s: user %q, want %q", tt.registry, user, tt.user)
		}
		if from := k.usedFor(tt.registry); from != tt.from {
			t.Errorf("%s: from %q, want %q", tt.registry, from, tt.from)
		}
	}
	reg, _ := name.NewRegistry("broken.example")
	if _, err := k.Resolve(reg); err == nil || !strings.Contains(err.Error(), "reading the docker config: parsing config.json") {
		t.Errorf("broken docker config: %v, want its error", err)
	}
}

// writeDockerConfig writes a docker config.json with user and password for host into a new
// directory and returns the directory, for DOCKER_CONFIG.
func writeDockerConfig(t *testing.T, host, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	data, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPushIndexWithLogins pushes to a registry that requires basic auth with the
// credentials of logins, in their order of precedence against the docker config; refused
// credentials fail naming where they came from, never showing a password.
func TestPushIndexWithLogins(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	host, user, good := reg.Host(), reg.Username(), reg.Password()
	wrong := good + "-wrong"
	login := func(password, from string) []Login { return []Login{mustLogin(t, host, user, password, from)} }
	otherPort := []Login{mustLogin(t, "127.0.0.1:1", user, good, "OTHER")}
	empty := t.TempDir()
	for _, tt := range []struct {
		name          string
		docker        string // DOCKER_CONFIG
		before, after []Login
		want          string // "" for success, else in the error
	}{
		{"before", empty, login(good, "BEFORE"), nil, ""},
		{"after", empty, nil, login(good, "AFTER"), ""},
		{"before wrong", empty, login(wrong, "BEFORE_USER and BEFORE_PASSWORD"), nil,
			"registry " + host + " refused access (401 Unauthorized) with the credentials of BEFORE_USER and BEFORE_PASSWORD; check them: "},
		{"after wrong", empty, nil, login(wrong, "AFTER"),
			"registry " + host + " refused access (401 Unauthorized) with the credentials of AFTER; check them: "},
		{"before over a wrong docker config", writeDockerConfig(t, host, user, wrong), login(good, "BEFORE"), nil, ""},
		{"docker config over after", writeDockerConfig(t, host, user, good), nil, login(wrong, "AFTER"), ""},
		{"wrong docker config over after", writeDockerConfig(t, host, user, wrong), nil, login(good, "AFTER"),
			"registry " + host + " refused access (401 Unauthorized); log in with `docker login " + host + "` or check the credentials in the docker config: "},
		{"another port", empty, otherPort, otherPort,
			"registry " + host + " refused access (401 Unauthorized); log in with `docker login " + host + "`, or, for the registry of XGO_REPO, set XGO_REGISTRY_USER and XGO_REGISTRY_PASSWORD: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_CONFIG", tt.docker)
			repo, err := ParseRepo(host+"/logins/"+strings.ReplaceAll(tt.name, " ", "-"), false)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			_, err = PushIndex(ctx, repo, testIndex(t, "linux/amd64"), []string{"latest"},
				Options(ctx, 2, false, DefaultRetryPolicy(), NewKeychain(tt.before, tt.after)))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("push: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("push: %v, want an error with %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), good):
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}
