package oci

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/xgo-build/xgo-build/shim"
)

// ImageSpec is what NewImage puts on top of a base image.
type ImageSpec struct {
	Platform    shim.Platform
	Entrypoint  []string          // ["/<name>"]
	Created     time.Time         // config and history time
	Annotations map[string]string // manifest annotations (org.opencontainers.image.*)

	// What follows is set in the config over the base's; the zero value keeps the base's.
	User         string            // User
	Env          []string          // KEY=value, each replacing the base's KEY in its place, or added after the base's
	WorkingDir   string            // WorkingDir
	ExposedPorts []string          // port/protocol, such as 8080/tcp, added to the base's
	Labels       map[string]string // Labels, added to the base's (these win)
}

// NewImage returns base with layer on top, as an OCI image: OCI manifest,
// config and layer media types (a docker base's layers are the same bytes under
// their OCI names); a config with spec's platform (variant included),
// entrypoint (the base's Cmd dropped, as a Dockerfile ENTRYPOINT does) and
// creation time, keeping the base's Env, User, WorkingDir and the rest, with
// spec's user, env, working directory, ports and labels over them; and spec's
// manifest annotations.
func NewImage(base v1.Image, layer v1.Layer, spec ImageSpec) (v1.Image, error) {
	img, err := appendBinary(base, layer, spec)
	if err != nil {
		return nil, fmt.Errorf("building the %s image: %w", spec.Platform, err)
	}
	return img, nil
}

func appendBinary(base v1.Image, layer v1.Layer, spec ImageSpec) (v1.Image, error) {
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base config: %w", err)
	}
	cfg := cf.DeepCopy()
	m, err := base.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the base manifest: %w", err)
	}
	baseLayers, err := base.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the base layers: %w", err)
	}
	if len(baseLayers) != len(m.Layers) {
		return nil, fmt.Errorf("base has %d layers but its manifest lists %d", len(baseLayers), len(m.Layers))
	}
	diffID, err := layer.DiffID()
	if err != nil {
		return nil, fmt.Errorf("reading the layer: %w", err)
	}

	adds := make([]mutate.Addendum, 0, len(baseLayers)+1)
	for i, l := range baseLayers {
		d := m.Layers[i]
		adds = append(adds, mutate.Addendum{
			Layer:       asOCILayer(l, d.MediaType),
			MediaType:   ociLayerType(d.MediaType),
			Annotations: d.Annotations,
			URLs:        d.URLs,
		})
	}
	created := v1.Time{Time: LayerTime(spec.Created)}
	adds = append(adds, mutate.Addendum{Layer: layer, MediaType: types.OCILayer})

	p := PlatformOf(spec.Platform)
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Created = created
	cfg.Config.Entrypoint = append([]string(nil), spec.Entrypoint...)
	cfg.Config.Cmd = nil
	setConfig(&cfg.Config, spec)
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	cfg.History = append(cfg.History, v1.History{
		Created:   created,
		CreatedBy: "xgo-build",
		Comment:   fmt.Sprintf("%s for %s", firstOr(spec.Entrypoint, "binary"), spec.Platform),
	})

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	// ConfigFile replaces the config mutate.Append made: the diff IDs and
	// history above already list every layer.
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	if len(spec.Annotations) > 0 {
		img = mutate.Annotations(img, maps.Clone(spec.Annotations)).(v1.Image)
	}
	return img, nil
}

// setConfig sets spec's user, env, working directory, ports and labels in c,
// over (or beside) what it has.
func setConfig(c *v1.Config, spec ImageSpec) {
	if spec.User != "" {
		c.User = spec.User
	}
	if len(spec.Env) > 0 {
		c.Env = mergeEnv(c.Env, spec.Env)
	}
	if spec.WorkingDir != "" {
		c.WorkingDir = spec.WorkingDir
	}
	if len(spec.ExposedPorts) > 0 {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range spec.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	if len(spec.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, spec.Labels)
	}
}

// mergeEnv returns env (KEY=value entries) with each entry of set in it: in the
// place of the first entry of its key, or, for a new key, after them all, in
// the order of set.
func mergeEnv(env, set []string) []string {
	out := slices.Clone(env)
	at := make(map[string]int, len(out))
	for i, e := range out {
		k, _, _ := strings.Cut(e, "=")
		if _, ok := at[k]; !ok {
			at[k] = i
		}
	}
	for _, e := range set {
		k, _, _ := strings.Cut(e, "=")
		if i, ok := at[k]; ok {
			out[i] = e
			continue
		}
		at[k] = len(out)
		out = append(out, e)
	}
	return out
}

// ociLayerType is the OCI name of a layer media type (docker's gzip, plain and
// foreign layers have the same bytes as their OCI counterparts).
func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	case types.DockerForeignLayer:
		return types.OCIRestrictedLayer
	}
	return mt
}

// asOCILayer returns l reporting its OCI media type, when mt has one that
// differs. A layer that can be mounted from the base's repository stays
// mountable.
func asOCILayer(l v1.Layer, mt types.MediaType) v1.Layer {
	oci := ociLayerType(mt)
	if oci == mt {
		return l
	}
	if ml, ok := l.(*remote.MountableLayer); ok {
		return &remote.MountableLayer{Layer: renamedLayer{ml.Layer, oci}, Reference: ml.Reference}
	}
	return renamedLayer{l, oci}
}

// renamedLayer is a layer under another media type name (same bytes).
type renamedLayer struct {
	v1.Layer
	mediaType types.MediaType
}

// MediaType implements v1.Layer.
func (l renamedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// BlobFile is the file of the renamed layer, when it is kept in one (see FileLayer).
func (l renamedLayer) BlobFile() (string, error) {
	if fl, ok := l.Layer.(FileLayer); ok {
		return fl.BlobFile()
	}
	return "", nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
