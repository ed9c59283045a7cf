package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// toolModule is the module of xgo-build, whose version names the builder.
const toolModule = "github.com/xgo-build/xgo-build"

// Provenance returns the SLSA provenance v1 in-toto statement of spec's image, whose binary
// info describes, as canonical JSON (see canonicalJSON). Its subject is the image manifest
// (spec.Name, its sha256); the build definition is of type BuildType, with the external
// parameters platform, main, flags, env and base, and as resolved dependencies the source
// repository at its commit (when known), the base image's manifest (when there is one) and
// the Go toolchain that built the binary; the builder is xgo-build's release, with its
// version; the binary is a byproduct. It holds no time: when the build ran is not part of
// what it made.
func Provenance(spec Spec, info BinaryInfo) ([]byte, error) {
	b := spec.Build
	flags := make([]any, len(b.Flags))
	for i, f := range b.Flags {
		flags[i] = f
	}
	env := map[string]any{}
	for _, kv := range b.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	params, err := structpb.NewStruct(map[string]any{
		"platform": b.Platform.String(),
		"main":     b.Main,
		"flags":    flags,
		"env":      env,
		"base":     spec.Base,
	})
	if err != nil {
		return nil, err
	}
	var deps []*intoto.ResourceDescriptor
	if src := sourceDescriptor(spec.Source); src != nil {
		deps = append(deps, src)
	}
	if spec.BaseDigest.Hex != "" {
		deps = append(deps, &intoto.ResourceDescriptor{
			Name:   spec.Base,
			Digest: map[string]string{spec.BaseDigest.Algorithm: spec.BaseDigest.Hex},
		})
	}
	if info.Build != nil && info.Build.GoVersion != "" {
		toolchain, err := structpb.NewStruct(map[string]any{"version": info.Build.GoVersion})
		if err != nil {
			return nil, err
		}
		deps = append(deps, &intoto.ResourceDescriptor{Name: "go", Annotations: toolchain})
	}
	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   params,
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa.RunDetails{
			Builder: &slsa.Builder{
				Id:      "https://github.com/xgo-build/xgo-build/release@" + spec.Tool,
				Version: map[string]string{toolModule: spec.Tool},
			},
			Byproducts: []*intoto.ResourceDescriptor{{
				Name:   b.File,
				Digest: map[string]string{info.Digest.Algorithm: info.Digest.Hex},
			}},
		},
	}
	predicate, err := asStruct(pred)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type: intoto.StatementTypeUri,
		Subject: []*intoto.ResourceDescriptor{{
			Name:   spec.Name,
			Digest: map[string]string{spec.Subject.Digest.Algorithm: spec.Subject.Digest.Hex},
		}},
		PredicateType: SLSAProvenance,
		Predicate:     predicate,
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("writing the in-toto statement: %w", err)
	}
	return canonicalJSON(raw)
}

// sourceDescriptor is the resolved dependency of the source: git+<repository URL>, at the
// git tag when there is one (@refs/tags/<tag>), with the commit as its gitCommit digest; nil
// when neither is known.
func sourceDescriptor(s Source) *intoto.ResourceDescriptor {
	if s.URL == "" && s.Revision == "" {
		return nil
	}
	d := &intoto.ResourceDescriptor{}
	if s.URL != "" {
		d.Uri = "git+" + s.URL
		if s.Version != "" {
			d.Uri += "@refs/tags/" + s.Version
		}
	}
	if s.Revision != "" {
		d.Digest = map[string]string{"gitCommit": s.Revision}
	} else {
		d.Name = "source"
	}
	return d
}

// asStruct converts a message to the struct of its JSON form, as an in-toto predicate.
func asStruct(m proto.Message) (*structpb.Struct, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, s); err != nil {
		return nil, err
	}
	return s, nil
}

// canonicalJSON returns the JSON raw in one form whatever the whitespace protojson chose
// (it varies it on purpose): compact, object keys sorted, no HTML escaping, a final newline.
func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonicalising JSON: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonicalising JSON: %w", err)
	}
	return buf.Bytes(), nil
}
