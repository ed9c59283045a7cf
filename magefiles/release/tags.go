package release

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/mod/semver"
)

// tagPattern is the OCI distribution spec's rule for a tag.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// versionTags returns the image tags for the git tag on HEAD: an exact release vX.Y.Z gives
// X.Y.Z, X.Y, X and latest; an exact prerelease vX.Y.Z-pre gives only X.Y.Z-pre; anything
// else (no tag, a tag that is not semver, a shorthand like v1.2, build metadata) gives latest.
func versionTags(gitTag string) []string {
	if !isExactSemver(gitTag) {
		return []string{"latest"}
	}
	v := strings.TrimPrefix(gitTag, "v")
	if semver.Prerelease(gitTag) != "" {
		return []string{v}
	}
	mm := strings.TrimPrefix(semver.MajorMinor(gitTag), "v")
	major := strings.TrimPrefix(semver.Major(gitTag), "v")
	return []string{v, mm, major, "latest"}
}

// isExactSemver reports whether tag is a full vX.Y.Z[-pre] version with no build metadata.
func isExactSemver(tag string) bool {
	return semver.IsValid(tag) && semver.Canonical(tag) == tag
}

// pickGitTag chooses the version among the git tags that point at HEAD: the highest exact
// semver tag (a release sorts above its prereleases), else the first tag in byte order, else "".
func pickGitTag(tags []string) string {
	best := ""
	var others []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
		case isExactSemver(t):
			if best == "" || semver.Compare(t, best) > 0 {
				best = t
			}
		default:
			others = append(others, t)
		}
	}
	if best != "" || len(others) == 0 {
		return best
	}
	sort.Strings(others)
	return others[0]
}

// applyTags combines the computed tags with an XGO_TAGS value: "" (or blanks) keeps the computed tags,
// a value starting with "+" adds its tags to them, any other value replaces them. The result
// has no duplicates and keeps first-seen order.
func applyTags(computed []string, value string) ([]string, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return dedupe(computed), nil
	}
	add := strings.HasPrefix(value, "+")
	list := strings.TrimPrefix(value, "+")
	var given []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, fmt.Errorf("empty tag in the list")
		}
		if !tagPattern.MatchString(t) {
			return nil, fmt.Errorf("invalid tag %q: must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", t)
		}
		given = append(given, t)
	}
	if add {
		return dedupe(append(append([]string(nil), computed...), given...)), nil
	}
	return dedupe(given), nil
}

// dedupe returns list without repeated entries, in first-seen order.
func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
