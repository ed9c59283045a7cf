package release

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
)

// Registry logins besides the docker config, in their order of precedence for a registry:
//
//  1. XGO_REGISTRY_USER with XGO_REGISTRY_PASSWORD or XGO_REGISTRY_PASSWORD_FILE, for the
//     registry of XGO_REPO (so also for XGO_BASE when it is on that registry): set for this
//     tool and this run, they come before anything else;
//  2. the docker config (credential helpers included), as `docker login` and
//     docker/login-action leave it: a login someone made for the job;
//  3. CI_REGISTRY_USER with CI_REGISTRY_PASSWORD, for the registry CI_REGISTRY names (GitLab
//     CI sets all three in every job), and GITHUB_TOKEN (with GITHUB_ACTOR) for ghcr.io:
//     what a CI system gives any job, used when nothing more deliberate is there, as ko
//     takes GITHUB_TOKEN after the docker config.
//
// Each goes to its own registry host and port alone (see registry.Login).

// ghcrHost is the registry GITHUB_TOKEN logs in to.
const ghcrHost = "ghcr.io"

// readLogins reads the registry logins of the environment through getenv and returns the
// keychain of the run's registry calls, with an error for each bad setting: a user without a
// password or the other way round, XGO_REGISTRY_PASSWORD and XGO_REGISTRY_PASSWORD_FILE both
// set, a password file that cannot be read or is empty, a CI_REGISTRY that is not a host.
// The errors name the variables, never a password. repo is XGO_REPO's repository, the zero
// value when it is unset or bad (its own error says so); without it XGO_REGISTRY_* are
// checked but go nowhere.
func readLogins(getenv func(string) string, repo name.Repository) (*registry.Keychain, []error) {
	var before, after []registry.Login
	var errs []error
	if l, ok, err := xgoLogin(getenv, repo); err != nil {
		errs = append(errs, err...)
	} else if ok {
		before = append(before, l)
	}
	if l, ok, err := gitlabLogin(getenv); err != nil {
		errs = append(errs, err)
	} else if ok {
		after = append(after, l)
	}
	if token := getenv("GITHUB_TOKEN"); token != "" {
		actor := strings.TrimSpace(getenv("GITHUB_ACTOR"))
		if actor == "" {
			actor = "unset" // ghcr.io takes any user name with a token, as go-containerregistry's GitHub keychain sends
		}
		if l, err := registry.NewLogin(ghcrHost, actor, token, "GITHUB_TOKEN"); err == nil { // ghcrHost is a host
			after = append(after, l)
		}
	}
	return registry.NewKeychain(before, after), errs
}

// xgoLogin reads XGO_REGISTRY_USER and its password, from XGO_REGISTRY_PASSWORD or the file
// XGO_REGISTRY_PASSWORD_FILE names (one trailing newline, \n or \r\n, trimmed); ok is false
// when none of them is set or repo is the zero value.
func xgoLogin(getenv func(string) string, repo name.Repository) (l registry.Login, ok bool, errs []error) {
	user := strings.TrimSpace(getenv("XGO_REGISTRY_USER"))
	password, file := getenv("XGO_REGISTRY_PASSWORD"), getenv("XGO_REGISTRY_PASSWORD_FILE")
	from := "XGO_REGISTRY_USER and XGO_REGISTRY_PASSWORD"
	switch {
	case password != "" && file != "":
		errs = append(errs, errors.New("XGO_REGISTRY_PASSWORD and XGO_REGISTRY_PASSWORD_FILE are both set: set one of them"))
	case file != "":
		from = "XGO_REGISTRY_USER and XGO_REGISTRY_PASSWORD_FILE"
		var err error
		if password, err = readPasswordFile(file); err != nil {
			errs = append(errs, badValue("XGO_REGISTRY_PASSWORD_FILE", file, err))
		}
	}
	switch {
	case user == "" && password == "" && file == "":
		return l, false, nil
	case user == "" && file != "":
		errs = append(errs, errors.New("XGO_REGISTRY_PASSWORD_FILE is set but XGO_REGISTRY_USER is not: set both"))
	case user == "":
		errs = append(errs, errors.New("XGO_REGISTRY_PASSWORD is set but XGO_REGISTRY_USER is not: set both"))
	case password == "" && file == "":
		errs = append(errs, errors.New("XGO_REGISTRY_USER is set but neither XGO_REGISTRY_PASSWORD nor XGO_REGISTRY_PASSWORD_FILE is: set one of them"))
	}
	if len(errs) > 0 || repo.RepositoryStr() == "" {
		return l, false, errs
	}
	l, err := registry.NewLogin(repo.RegistryStr(), user, password, from)
	if err != nil {
		return l, false, []error{badValue("XGO_REPO", getenv("XGO_REPO"), err)}
	}
	return l, true, nil
}

// readPasswordFile returns the content of the password file path without its trailing
// newline (\n or \r\n). The error shows neither path (the caller names it) nor the content.
func readPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var perr *os.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		return "", fmt.Errorf("cannot read the password file: %w", err)
	}
	password := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if password == "" {
		return "", errors.New("the password file is empty")
	}
	return password, nil
}

// gitlabLogin reads CI_REGISTRY_USER and CI_REGISTRY_PASSWORD, for the registry CI_REGISTRY
// names; ok is false when neither is set (CI_REGISTRY alone logs in nowhere).
func gitlabLogin(getenv func(string) string) (l registry.Login, ok bool, err error) {
	host := strings.TrimSpace(getenv("CI_REGISTRY"))
	user, password := strings.TrimSpace(getenv("CI_REGISTRY_USER")), getenv("CI_REGISTRY_PASSWORD")
	switch {
	case user == "" && password == "":
		return l, false, nil
	case user == "":
		return l, false, errors.New("CI_REGISTRY_PASSWORD is set but CI_REGISTRY_USER is not: set both, or neither")
	case password == "":
		return l, false, errors.New("CI_REGISTRY_USER is set but CI_REGISTRY_PASSWORD is not: set both, or neither")
	case host == "":
		return l, false, errors.New("CI_REGISTRY_USER and CI_REGISTRY_PASSWORD are set but CI_REGISTRY, the registry they are for, is not")
	}
	l, err = registry.NewLogin(host, user, password, "CI_REGISTRY_USER and CI_REGISTRY_PASSWORD")
	if err != nil {
		return l, false, badValue("CI_REGISTRY", getenv("CI_REGISTRY"), err)
	}
	return l, true, nil
}
