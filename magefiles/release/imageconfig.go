package release

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xgo-build/xgo-build/shim"
)

// imageConfig is what the release sets in each image's config and manifests over the base's:
// XGO_LABELS, XGO_ANNOTATIONS, XGO_USER, XGO_ENV, XGO_WORKDIR and XGO_PORTS, validated.
type imageConfig struct {
	Labels      map[string]string // config labels, over the release's org.opencontainers.image.* ones
	Annotations annotationSet     // manifest and index annotations, over the release's
	User        string            // config User; "" keeps the base's
	Env         []string          // KEY=value, in the order given, each key once
	WorkingDir  string            // cleaned absolute path; "" keeps the base's
	Ports       []string          // port/protocol, such as 8080/tcp, each once
}

// annotationSet is a parsed XGO_ANNOTATIONS value, split by buildx's scopes.
type annotationSet struct {
	Index      map[string]string                   // index:
	Manifest   map[string]string                   // manifest: (or no scope): every platform's manifest
	ByPlatform map[shim.Platform]map[string]string // manifest[os/arch[/variant]]: that platform's manifest only
}

// forManifest returns the annotations of the manifest of platform p: the unscoped ones, and
// over them the ones scoped to p.
func (s annotationSet) forManifest(p shim.Platform) map[string]string {
	return withOver(s.Manifest, s.ByPlatform[p])
}

// checkPlatforms returns an error when an annotation is scoped to a platform not in
// platforms: it would be on no manifest.
func (s annotationSet) checkPlatforms(platforms []shim.Platform) error {
	for _, p := range slices.SortedFunc(maps.Keys(s.ByPlatform), func(a, b shim.Platform) int { return strings.Compare(a.String(), b.String()) }) {
		if !slices.Contains(platforms, p) {
			names := make([]string, len(platforms))
			for i, q := range platforms {
				names[i] = q.String()
			}
			return fmt.Errorf("scope manifest[%s] names a platform the release does not build: must be one of %s", p, strings.Join(names, ", "))
		}
	}
	return nil
}

// withOver returns a copy of base with every entry of over set in it (over wins).
func withOver(base, over map[string]string) map[string]string {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, over)
	return m
}

// readImageConfig reads the image config variables through getenv. An annotation scoped to a
// platform must name one of platforms (unless all, checked by plan once the base is read); a
// by-digest job builds some of the platforms only, and drops the ones scoped to the others.
// It returns one error for each bad variable.
func readImageConfig(getenv func(string) string, platforms platformList, byDigest bool) (imageConfig, []error) {
	var ic imageConfig
	var errs []error
	bad := func(variable, value string, err error) {
		errs = append(errs, badValue(variable, value, err))
	}
	if v := getenv("XGO_LABELS"); v != "" {
		labels, err := parseLabels(v)
		if err != nil {
			bad("XGO_LABELS", v, err)
		}
		ic.Labels = labels
	}
	if v := getenv("XGO_ANNOTATIONS"); v != "" {
		set, err := parseAnnotations(v)
		if err == nil && !platforms.All {
			if byDigest {
				maps.DeleteFunc(set.ByPlatform, func(p shim.Platform, _ map[string]string) bool { return !slices.Contains(platforms.List, p) })
			} else {
				err = set.checkPlatforms(platforms.List)
			}
		}
		if err != nil {
			bad("XGO_ANNOTATIONS", v, err)
		}
		ic.Annotations = set
	}
	if v := getenv("XGO_USER"); v != "" {
		user, err := parseUser(v)
		if err != nil {
			bad("XGO_USER", v, err)
		}
		ic.User = user
	}
	if v := getenv("XGO_ENV"); v != "" {
		env, err := parseEnvList(v)
		if err != nil {
			bad("XGO_ENV", v, err)
		}
		ic.Env = env
	}
	if v := getenv("XGO_WORKDIR"); v != "" {
		dir, err := parseWorkdir(v)
		if err != nil {
			bad("XGO_WORKDIR", v, err)
		}
		ic.WorkingDir = dir
	}
	if v := getenv("XGO_PORTS"); v != "" {
		ports, err := parsePorts(v)
		if err != nil {
			bad("XGO_PORTS", v, err)
		}
		ic.Ports = ports
	}
	return ic, errs
}

// splitEntries splits a list value into its entries: one a line when the value holds a
// newline (so an entry may hold commas; blank lines are skipped), else comma-separated. Each
// entry is trimmed of surrounding blanks; an empty entry of a comma-separated list is an error.
func splitEntries(v string) ([]string, error) {
	sep := ","
	if strings.Contains(v, "\n") {
		sep = "\n"
	}
	var entries []string
	for e := range strings.SplitSeq(v, sep) {
		e = strings.TrimSpace(e)
		if e == "" {
			if sep == "\n" {
				continue
			}
			return nil, errors.New("empty entry in the list")
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, errors.New("no entries given")
	}
	return entries, nil
}

// keyValue is one key=value entry of a list.
type keyValue struct{ key, value string }

// parseKeyValues splits a list value (see splitEntries) into key=value entries, in order.
// Each needs an =; the key (before the first =) must be non-empty, without blanks or control
// characters; the value is anything in UTF-8 (may be empty).
func parseKeyValues(v string) ([]keyValue, error) {
	entries, err := splitEntries(v)
	if err != nil {
		return nil, err
	}
	kvs := make([]keyValue, 0, len(entries))
	for _, e := range entries {
		k, val, ok := strings.Cut(e, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("entry %q must be key=value", e)
		case k == "":
			return nil, fmt.Errorf("entry %q has an empty key", e)
		case strings.IndexFunc(k, badKeyRune) >= 0:
			return nil, fmt.Errorf("key %q must not hold blanks or control characters", k)
		case !utf8.ValidString(val) || strings.ContainsRune(val, 0):
			return nil, fmt.Errorf("the value of %q must be UTF-8 text without NUL", k)
		}
		kvs = append(kvs, keyValue{k, val})
	}
	return kvs, nil
}

// badKeyRune reports whether r may not be in a key.
func badKeyRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
}

// parseLabels parses XGO_LABELS: key=value entries; a later entry of a key replaces an earlier one.
func parseLabels(v string) (map[string]string, error) {
	kvs, err := parseKeyValues(v)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.key] = kv.value
	}
	return m, nil
}

// annotationScopes is what parseAnnotations accepts before a key, as shown in its errors.
const annotationScopes = "index, manifest or manifest[os/arch[/variant]]"

// parseAnnotations parses XGO_ANNOTATIONS: [scope:]key=value entries with buildx's scopes,
// index, manifest (the default) and manifest[os/arch[/variant]]; the scope ends at the first
// colon of the part before the =, as buildx reads it. A later entry of a key in one scope
// replaces an earlier one.
func parseAnnotations(v string) (annotationSet, error) {
	kvs, err := parseKeyValues(v)
	if err != nil {
		return annotationSet{}, err
	}
	var s annotationSet
	for _, kv := range kvs {
		scope, key, scoped := strings.Cut(kv.key, ":")
		if !scoped {
			scope, key = "manifest", kv.key
		}
		if key == "" {
			return annotationSet{}, fmt.Errorf("entry %q has an empty key", kv.key+"="+kv.value)
		}
		var m map[string]string
		switch {
		case scope == "index":
			s.Index = ensure(s.Index)
			m = s.Index
		case scope == "manifest":
			s.Manifest = ensure(s.Manifest)
			m = s.Manifest
		case strings.HasPrefix(scope, "manifest[") && strings.HasSuffix(scope, "]"):
			p, err := shim.Parse(strings.TrimSuffix(strings.TrimPrefix(scope, "manifest["), "]"))
			if err != nil {
				return annotationSet{}, fmt.Errorf("scope %q: %w", scope, err)
			}
			if s.ByPlatform == nil {
				s.ByPlatform = map[shim.Platform]map[string]string{}
			}
			s.ByPlatform[p] = ensure(s.ByPlatform[p])
			m = s.ByPlatform[p]
		case scope == "manifest-descriptor" || scope == "index-descriptor" ||
			strings.HasPrefix(scope, "manifest-descriptor["):
			return annotationSet{}, fmt.Errorf("scope %q is not supported: must be %s", scope, annotationScopes)
		default:
			return annotationSet{}, fmt.Errorf("unknown scope %q: must be %s", scope, annotationScopes)
		}
		m[key] = kv.value
	}
	return s, nil
}

// ensure returns m, or a new map when m is nil.
func ensure(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// parseEnvList parses XGO_ENV: NAME=value entries, in order; a later entry of a name replaces
// the earlier one, in its place.
func parseEnvList(v string) ([]string, error) {
	kvs, err := parseKeyValues(v)
	if err != nil {
		return nil, err
	}
	var env []string
	at := map[string]int{}
	for _, kv := range kvs {
		e := kv.key + "=" + kv.value
		if i, ok := at[kv.key]; ok {
			env[i] = e
			continue
		}
		at[kv.key] = len(env)
		env = append(env, e)
	}
	return env, nil
}

// userPart matches a user or group name of XGO_USER.
func userPart(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	if strings.Trim(s, "0123456789") == "" {
		_, err := strconv.ParseUint(s, 10, 32)
		return err == nil
	}
	return true
}

// parseUser parses XGO_USER: user[:group], each a name or a numeric id.
func parseUser(v string) (string, error) {
	u := strings.TrimSpace(v)
	user, group, hasGroup := strings.Cut(u, ":")
	if !userPart(user) || hasGroup && !userPart(group) {
		return "", errors.New("must be user[:group], each a name (letters, digits, ., _ and -) or a numeric id, such as 65532:65532 or nonroot")
	}
	return u, nil
}

// parseWorkdir parses XGO_WORKDIR: an absolute slash path, cleaned.
func parseWorkdir(v string) (string, error) {
	d := strings.TrimSpace(v)
	if !path.IsAbs(d) || strings.IndexFunc(d, unicode.IsControl) >= 0 {
		return "", errors.New("must be an absolute path such as /app")
	}
	return path.Clean(d), nil
}

// parsePorts parses XGO_PORTS: port[/protocol] entries, the protocol tcp (the default), udp or
// sctp, each normalised to port/protocol and kept once.
func parsePorts(v string) ([]string, error) {
	entries, err := splitEntries(v)
	if err != nil {
		return nil, err
	}
	var ports []string
	for _, e := range entries {
		num, proto, ok := strings.Cut(e, "/")
		proto = strings.ToLower(proto)
		if !ok {
			proto = "tcp"
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > 65535 || num[0] == '+' || num[0] == '0' ||
			(proto != "tcp" && proto != "udp" && proto != "sctp") {
			return nil, fmt.Errorf("entry %q must be a port 1-65535 with /tcp, /udp or /sctp (tcp when none), such as 8080/tcp", e)
		}
		if p := strconv.Itoa(n) + "/" + proto; !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// checkAllPlatforms checks, for XGO_PLATFORMS=all, that every platform an annotation is
// scoped to is one of the targets' (see readImageConfig).
func (ic imageConfig) checkAllPlatforms(targets []target) error {
	platforms := make([]shim.Platform, len(targets))
	for i, t := range targets {
		platforms[i] = t.Platform
	}
	if err := ic.Annotations.checkPlatforms(platforms); err != nil {
		return fmt.Errorf("XGO_ANNOTATIONS with XGO_PLATFORMS=\"all\": %w", err)
	}
	return nil
}
