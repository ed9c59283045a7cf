package oci

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestBuildImageConfig checks that spec's user, env, working directory, ports and labels are
// set over the base's: its env kept, a key overridden in its place, new keys after it; its
// ports and labels kept beside spec's, spec's label winning.
func TestBuildImageConfig(t *testing.T) {
	base := randomBase(t)
	bcf, _ := base.ConfigFile()
	bcf = bcf.DeepCopy()
	bcf.Config.ExposedPorts = map[string]struct{}{"22/tcp": {}}
	bcf.Config.Labels = map[string]string{"base": "kept", "org.opencontainers.image.version": "base's"}
	base, err := mutate.ConfigFile(base, bcf)
	if err != nil {
		t.Fatal(err)
	}
	spec := ImageSpec{
		Platform:     mustPlatform(t, "linux/arm64"),
		Entrypoint:   []string{"/app"},
		Created:      created,
		User:         "1000:1000",
		Env:          []string{"NEW=2", "BASE=overridden", "EMPTY="},
		WorkingDir:   "/srv",
		ExposedPorts: []string{"8080/tcp", "53/udp"},
		Labels:       map[string]string{"org.opencontainers.image.version": "1.2.3", "com.example.team": "a, b"},
	}
	img, err := NewImage(base, mustLayer(t, writeBinary(t, "binary"), "app", created), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if want := []string{"PATH=/usr/local/bin:/usr/bin", "BASE=overridden", "NEW=2", "EMPTY="}; !slices.Equal(c.Env, want) {
		t.Errorf("env %q, want %q", c.Env, want)
	}
	if c.User != "1000:1000" || c.WorkingDir != "/srv" {
		t.Errorf("user %q workdir %q, want 1000:1000 and /srv", c.User, c.WorkingDir)
	}
	if got := slices.Sorted(maps.Keys(c.ExposedPorts)); !slices.Equal(got, []string{"22/tcp", "53/udp", "8080/tcp"}) {
		t.Errorf("exposed ports %q, want the base's 22/tcp and 53/udp, 8080/tcp", got)
	}
	want := map[string]string{"base": "kept", "org.opencontainers.image.version": "1.2.3", "com.example.team": "a, b"}
	if !reflect.DeepEqual(c.Labels, want) {
		t.Errorf("labels %v, want %v", c.Labels, want)
	}
	if b, _ := base.ConfigFile(); b.Config.User != "65532:65532" || len(b.Config.Labels) != 2 || len(b.Config.ExposedPorts) != 1 {
		t.Error("NewImage changed the base's config")
	}

	// The zero value keeps the base's.
	img, err = NewImage(base, mustLayer(t, writeBinary(t, "binary"), "app", created), ImageSpec{Platform: spec.Platform, Entrypoint: spec.Entrypoint, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ = img.ConfigFile()
	if c := cf.Config; c.User != "65532:65532" || c.WorkingDir != "/home/nonroot" || !slices.Equal(c.Env, []string{"PATH=/usr/local/bin:/usr/bin", "BASE=1"}) ||
		!reflect.DeepEqual(c.Labels, bcf.Config.Labels) || !reflect.DeepEqual(c.ExposedPorts, bcf.Config.ExposedPorts) {
		t.Errorf("config %+v, want the base's user, workdir, env, labels and ports", c)
	}
}

// TestBuildImageConfigIsReproducible checks that labels and ports (maps) give the same digest
// in every run, whatever order the maps are filled in.
func TestBuildImageConfigIsReproducible(t *testing.T) {
	base := randomBase(t)
	p := writeBinary(t, "binary")
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	var digests []v1.Hash
	for i := range 4 {
		labels := map[string]string{}
		order := slices.Clone(keys)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			labels[k] = "v" + k
		}
		ports := []string{"8080/tcp", "53/udp", "9090/tcp"}
		if i%2 == 1 {
			slices.Reverse(ports)
		}
		img, err := NewImage(base, mustLayer(t, p, "app", created), ImageSpec{
			Platform: mustPlatform(t, "linux/arm64"), Entrypoint: []string{"/app"}, Created: created,
			User: "1", Env: []string{"A=1"}, WorkingDir: "/w", ExposedPorts: ports, Labels: labels,
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	for _, d := range digests[1:] {
		if d != digests[0] {
			t.Fatalf("same inputs, digests %s", digests)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	for _, tt := range []struct {
		env, set, want []string
	}{
		{nil, nil, nil},
		{nil, []string{"A=1"}, []string{"A=1"}},
		{[]string{"A=1", "B=2"}, []string{"B=3", "C=4", "A="}, []string{"A=", "B=3", "C=4"}},
		// The first entry of a key is the one replaced (the runtime reads the first).
		{[]string{"A=1", "A=2"}, []string{"A=3"}, []string{"A=3", "A=2"}},
		{[]string{"NOVALUE"}, []string{"NOVALUE=x"}, []string{"NOVALUE=x"}},
	} {
		env := slices.Clone(tt.env)
		if got := mergeEnv(env, tt.set); !slices.Equal(got, tt.want) {
			t.Errorf("mergeEnv(%q, %q) = %q, want %q", tt.env, tt.set, got, tt.want)
		}
		if !slices.Equal(env, tt.env) {
			t.Errorf("mergeEnv changed its input %q to %q", tt.env, env)
		}
	}
}
