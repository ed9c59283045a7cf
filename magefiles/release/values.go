package release

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
)

// Every message about a bad value names the variable and shows the value, as
// XGO_X="value": reason. The value is shown by showValue: quoted, without the credentials a
// reference may hold, and cut to maxShown bytes, so that a value of 100 KB is not printed
// whole, let alone twice (the reason's own quoted echoes are cut the same way).

// maxShown is the most bytes of a value a message shows.
const maxShown = 200

// badValue returns the error of a bad value of variable: `variable="value": reason`, the value
// shown by showValue and the quoted parts of reason cut alike. It wraps reason.
func badValue(variable, value string, reason error) error {
	return &valueError{variable: variable, value: value, err: reason}
}

// valueError is a bad value of a variable, with the reason.
type valueError struct {
	variable, value string
	err             error
}

func (e *valueError) Error() string {
	return e.variable + "=" + showValue(e.value) + ": " + shortenQuoted(e.err.Error())
}

func (e *valueError) Unwrap() error { return e.err }

// showValue returns v quoted as %q does, with the user information of a URL-like reference
// redacted (see registry.Redact) and, past maxShown bytes, cut there (at a character
// boundary) and followed by `... (N bytes)`.
func showValue(v string) string {
	v = registry.Redact(v)
	if len(v) <= maxShown {
		return strconv.Quote(v)
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", v[:cut], len(v))
}

// shortenQuoted returns msg with every Go-quoted string in it that holds more than maxShown
// bytes shown by showValue instead: the reasons of bad values quote the offending part of the
// value (`invalid platform "..."`), which may be as long as the value.
func shortenQuoted(msg string) string {
	if len(msg) <= maxShown {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		msg = msg[i:]
		q, err := strconv.QuotedPrefix(msg)
		if err != nil {
			b.WriteByte('"')
			msg = msg[1:]
			continue
		}
		if s, err := strconv.Unquote(q); err == nil && len(s) > maxShown {
			b.WriteString(showValue(s))
		} else {
			b.WriteString(q)
		}
		msg = msg[len(q):]
	}
}

// checkReference refuses a reference of XGO_BASE or XGO_REPO written as a URL: with
// credentials in it (they come from the docker config), or with a scheme (plain HTTP is
// XGO_INSECURE_REGISTRY's to allow).
func checkReference(s string) error {
	if err := registry.CheckNoCredentials(s); err != nil {
		return err
	}
	if registry.HasScheme(s) {
		return errors.New("must not start with a URL scheme: name the registry host first, such as registry.example/owner/app " +
			"(plain HTTP to a registry that is not on loopback needs XGO_INSECURE_REGISTRY=true)")
	}
	return nil
}

// withoutEcho returns err with every word of its message longer than maxShown bytes cut
// there, followed by its length: go list's messages repeat a package path of XGO_MAIN, as it
// is or made absolute, without quotes. It returns err itself when no word is that long.
func withoutEcho(err error) error {
	msg := err.Error()
	words := strings.Fields(msg)
	if !slices.ContainsFunc(words, func(w string) bool { return len(w) > maxShown }) {
		return err
	}
	for i, w := range words {
		if len(w) > maxShown {
			cut := maxShown
			for cut > 0 && !utf8.RuneStart(w[cut]) {
				cut--
			}
			words[i] = fmt.Sprintf("%s... (%d bytes)", w[:cut], len(w))
		}
	}
	return errors.New(strings.Join(words, " "))
}
