package oci

import (
	"testing"

	"github.com/xgo-build/xgo-build/shim"
)

// mustPlatform parses a platform or fails the test.
func mustPlatform(t testing.TB, s string) shim.Platform {
	t.Helper()
	p, err := shim.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
