package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// A Login is a user name and password for the registry at one host and port. As a keychain
// it gives them to that registry alone, and nothing to any other.
type Login struct {
	Host string // the registry, host[:port] as name.Registry spells it (Docker Hub: index.docker.io)
	User string
	From string // where the login comes from, for messages, such as "GITHUB_TOKEN"
	// password is a pointer so that fmt, printing a Login or anything holding one, shows an
	// address and never the password.
	password *string
}

// NewLogin returns the login of user with password at the registry host (host[:port]);
// from names the variables it comes from. The error of a bad host shows neither the host
// (it might hold credentials) nor the password.
func NewLogin(host, user, password, from string) (Login, error) {
	reg, err := name.NewRegistry(host, name.StrictValidation)
	if err != nil {
		return Login{}, errors.New("must be a registry host[:port], such as registry.example")
	}
	return Login{Host: reg.RegistryStr(), User: user, From: from, password: &password}, nil
}

// Resolve implements authn.Keychain: the login for a resource of its own registry (same
// host, same port), authn.Anonymous for any other.
func (l Login) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if !l.isFor(r) {
		return authn.Anonymous, nil
	}
	return l.authenticator(), nil
}

// isFor reports whether l is for r's registry.
func (l Login) isFor(r authn.Resource) bool {
	return l.password != nil && strings.EqualFold(r.RegistryStr(), l.Host)
}

// authenticator returns l's user name and password as basic credentials.
func (l Login) authenticator() authn.Authenticator {
	return &authn.Basic{Username: l.User, Password: *l.password}
}

// fromDockerConfig is the From of credentials found in the docker config.
const fromDockerConfig = "the docker config"

// A Keychain finds the credentials of registry calls: for each registry, the first of these
// that has some for it: the logins given before the docker config, in order; the docker
// config (~/.docker/config.json or $DOCKER_CONFIG, credential helpers included, as `docker
// login` leaves them); the logins given after it, in order; else none. It remembers where the
// credentials it gave each registry came from, so that Explain can name the ones a registry
// refused.
type Keychain struct {
	before, after []Login
	docker        authn.Keychain

	mu   sync.Mutex
	from map[string]string // registry -> From of the credentials given it, "" for none
}

// NewKeychain returns the keychain that tries before, then the docker config, then after.
func NewKeychain(before, after []Login) *Keychain {
	return &Keychain{before: before, after: after, docker: authn.DefaultKeychain, from: map[string]string{}}
}

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	auth, from, err := k.resolve(r)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.from[r.RegistryStr()] = from
	k.mu.Unlock()
	return auth, nil
}

// resolve returns the credentials for r and where they come from.
func (k *Keychain) resolve(r authn.Resource) (authn.Authenticator, string, error) {
	if l, ok := loginFor(k.before, r); ok {
		return l.authenticator(), l.From, nil
	}
	auth, err := k.docker.Resolve(r)
	if err != nil {
		return nil, "", fmt.Errorf("reading the docker config: %w", err)
	}
	if auth != authn.Anonymous {
		return auth, fromDockerConfig, nil
	}
	if l, ok := loginFor(k.after, r); ok {
		return l.authenticator(), l.From, nil
	}
	return authn.Anonymous, "", nil
}

// loginFor returns the first of logins that is for r's registry.
func loginFor(logins []Login, r authn.Resource) (Login, bool) {
	for _, l := range logins {
		if l.isFor(r) {
			return l, true
		}
	}
	return Login{}, false
}

// usedFor returns the From of the credentials k gave registry, "" when it gave none or k
// is nil.
func (k *Keychain) usedFor(registry string) string {
	if k == nil {
		return ""
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.from[registry]
}

// keychainKey is the context key of the keychain whose credentials a request carried.
type keychainKey struct{}

// refusalTransport marks every answer that refuses access (401, 403) with the keychain of
// the call, in the context of its request, where Explain finds it: go-containerregistry
// keeps that request in its error, and nothing else of the call.
type refusalTransport struct {
	next     http.RoundTripper
	keychain *Keychain
}

// RoundTrip implements http.RoundTripper.
func (t *refusalTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	sent := resp.Request
	if sent == nil {
		sent = req
	}
	resp.Request = sent.WithContext(context.WithValue(sent.Context(), keychainKey{}, t.keychain))
	return resp, nil
}

// explainRefusal is Explain for terr, an answer refusing access (401, 403) from registry,
// the error err holds: it says where the credentials sent came from and what to do.
func explainRefusal(err error, terr *transport.Error, registry string) error {
	var k *Keychain
	if terr.Request != nil {
		k, _ = terr.Request.Context().Value(keychainKey{}).(*Keychain)
	}
	status := fmt.Sprintf("%d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
	switch from := k.usedFor(registry); {
	case from == fromDockerConfig, k == nil: // k is nil for a call not made with Options
		return fmt.Errorf("registry %s refused access (%s); log in with `docker login %s` or check the credentials in the docker config: %w",
			registry, status, registry, err)
	case from == "":
		return fmt.Errorf("registry %s refused access (%s); log in with `docker login %s`, or, for the registry of XGO_REPO, "+
			"set XGO_REGISTRY_USER and XGO_REGISTRY_PASSWORD: %w", registry, status, registry, err)
	default:
		return fmt.Errorf("registry %s refused access (%s) with the credentials of %s; check them: %w", registry, status, from, err)
	}
}
