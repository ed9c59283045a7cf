package registry

import (
	"fmt"
	"regexp"
	"strings"
)

// Credentials come only from the docker config keychain (see Options). A reference written
// as a URL with user information, https://user:password@host/app or user:token@host/app,
// would put them in the environment, and in every message that shows the reference: such a
// reference is refused, and every message shows it redacted.

// schemePrefix matches a URL scheme at the start of a reference ("https://").
var schemePrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// digestStart matches the start of a digest, the text after the '@' of alpine@sha256:...
var digestStart = regexp.MustCompile(`^(sha256|sha384|sha512|blake3):`)

// splitUserinfo finds the user information of a URL-like reference: the text before the
// last '@' of its authority (what follows an optional scheme, up to the first '/'), unless
// that '@' starts a digest (alpine@sha256:...). prefix is the scheme ("" without one), rest
// what follows the '@'; ok is false when the reference has no user information.
func splitUserinfo(s string) (prefix, userinfo, rest string, ok bool) {
	start := len(schemePrefix.FindString(s))
	auth := s[start:]
	if j := strings.IndexByte(auth, '/'); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 || digestStart.MatchString(auth[at+1:]) {
		return "", "", "", false
	}
	return s[:start], auth[:at], s[start+at+1:], true
}

// HasScheme reports whether the reference s starts with a URL scheme such as https://.
func HasScheme(s string) bool { return schemePrefix.MatchString(s) }

// Redact returns the reference s with its user information, if any, replaced by "xxxxx":
// https://user:password@host/app gives https://xxxxx@host/app. The user name goes too: it may
// be a token.
func Redact(s string) string {
	prefix, _, rest, ok := splitUserinfo(s)
	if !ok {
		return s
	}
	return prefix + "xxxxx@" + rest
}

// CheckNoCredentials returns an error when the reference s holds user information, saying to
// log in to its registry instead; nil otherwise. The error does not show s.
func CheckNoCredentials(s string) error {
	_, _, rest, ok := splitUserinfo(s)
	if !ok {
		return nil
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" {
		host = "REGISTRY"
	}
	return fmt.Errorf("must not hold credentials: log in with `docker login %s` (or set up a credential helper in the docker config) instead of putting them in the reference", host)
}
