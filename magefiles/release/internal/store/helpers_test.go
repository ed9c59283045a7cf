package store

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// retyped is a layer under another media type (the same bytes).
type retyped struct {
	v1.Layer
	mediaType types.MediaType
}

// MediaType implements v1.Layer.
func (l retyped) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// envMap returns a getenv that reads m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
