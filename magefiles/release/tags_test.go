package release

import (
	"slices"
	"strings"
	"testing"
)

func TestVersionTags(t *testing.T) {
	tests := []struct {
		tag  string
		want []string
	}{
		{"v1.2.3", []string{"1.2.3", "1.2", "1", "latest"}},
		{"v0.1.0", []string{"0.1.0", "0.1", "0", "latest"}},
		{"v10.20.30", []string{"10.20.30", "10.20", "10", "latest"}},
		{"v1.2.3-rc.1", []string{"1.2.3-rc.1"}},
		{"v2.0.0-alpha", []string{"2.0.0-alpha"}},
		{"", []string{"latest"}},
		{"v1.2", []string{"latest"}},
		{"v1", []string{"latest"}},
		{"1.2.3", []string{"latest"}},
		{"v1.2.3+build.5", []string{"latest"}},
		{"v01.2.3", []string{"latest"}},
		{"release-2024", []string{"latest"}},
	}
	for _, tt := range tests {
		if got := versionTags(tt.tag); !slices.Equal(got, tt.want) {
			t.Errorf("versionTags(%q) = %q, want %q", tt.tag, got, tt.want)
		}
	}
}

func TestPickGitTag(t *testing.T) {
	tests := []struct {
		tags []string
		want string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"v1.2.3"}, "v1.2.3"},
		{[]string{"v1.2.3-rc.1", "v1.2.3"}, "v1.2.3"},
		{[]string{"v1.2.3", "v1.10.0", "v1.9.9"}, "v1.10.0"},
		{[]string{"nightly", "v0.3.0"}, "v0.3.0"},
		{[]string{"zeta", "alpha"}, "alpha"},
		{[]string{"v1.2", "v1.2.3+meta"}, "v1.2"},
	}
	for _, tt := range tests {
		if got := pickGitTag(tt.tags); got != tt.want {
			t.Errorf("pickGitTag(%q) = %q, want %q", tt.tags, got, tt.want)
		}
	}
}

func TestApplyTags(t *testing.T) {
	computed := []string{"1.2.3", "1.2", "1", "latest"}
	tests := []struct {
		value   string
		want    []string
		wantErr string
	}{
		{"", computed, ""},
		{"edge", []string{"edge"}, ""},
		{" edge , nightly ", []string{"edge", "nightly"}, ""},
		{"+edge", []string{"1.2.3", "1.2", "1", "latest", "edge"}, ""},
		{" +edge ", []string{"1.2.3", "1.2", "1", "latest", "edge"}, ""},
		{"  ", computed, ""},
		{"+latest,edge", []string{"1.2.3", "1.2", "1", "latest", "edge"}, ""},
		{"a,a,b", []string{"a", "b"}, ""},
		{"_x.y-z", []string{"_x.y-z"}, ""},
		{strings.Repeat("a", 128), []string{strings.Repeat("a", 128)}, ""},
		{strings.Repeat("a", 129), nil, "invalid tag"},
		{"+", nil, "empty tag"},
		{"a,,b", nil, "empty tag"},
		{",", nil, "empty tag"},
		{"a b", nil, `invalid tag "a b"`},
		{"-x", nil, `invalid tag "-x"`},
		{".x", nil, `invalid tag ".x"`},
		{"v1+meta", nil, `invalid tag "v1+meta"`},
		{"a:b", nil, `invalid tag "a:b"`},
		{"++a", nil, `invalid tag "+a"`},
	}
	for _, tt := range tests {
		got, err := applyTags(computed, tt.value)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("applyTags(%q) error = %v, want one containing %q", tt.value, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("applyTags(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
		}
	}
}

// FuzzVersionTags checks that every tag computed from any git tag is a valid OCI tag and that
// the computed tags contain latest exactly when the git tag is not a prerelease.
func FuzzVersionTags(f *testing.F) {
	for _, s := range []string{"v1.2.3", "v1.2.3-rc.1", "v1.2", "", "x", "v1.2.3+m", "v0.0.0-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, gitTag string) {
		tags := versionTags(gitTag)
		if len(tags) == 0 {
			t.Fatalf("versionTags(%q) is empty", gitTag)
		}
		for _, tag := range tags {
			if !tagPattern.MatchString(tag) {
				t.Fatalf("versionTags(%q) gives invalid tag %q", gitTag, tag)
			}
		}
		if got, err := applyTags(nil, strings.Join(tags, ",")); err != nil || !slices.Equal(got, tags) {
			t.Fatalf("applyTags of versionTags(%q) = %q, %v", gitTag, got, err)
		}
	})
}

// FuzzApplyTags checks that XGO_TAGS parsing never panics and only ever yields valid, unique
// tags, and that "+" only ever adds to the computed tags.
func FuzzApplyTags(f *testing.F) {
	for _, s := range []string{"", "a", "+a,b", "a,,b", " x ", "+", "latest,latest"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		computed := []string{"1.0.0", "latest"}
		got, err := applyTags(computed, value)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tag := range got {
			if !tagPattern.MatchString(tag) || seen[tag] {
				t.Fatalf("applyTags(%q) = %q: invalid or repeated tag %q", value, got, tag)
			}
			seen[tag] = true
		}
		if v := strings.TrimSpace(value); strings.HasPrefix(v, "+") || v == "" {
			if !slices.Equal(got[:len(computed)], computed) {
				t.Fatalf("applyTags(%q) = %q lost the computed tags", value, got)
			}
		}
	})
}
