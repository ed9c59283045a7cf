package store

import (
	"path/filepath"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
)

// BenchmarkLayer measures making the layer of a 10 MiB binary (about a mid-size program)
// and its digests: compressed every time without the cache, looked up (build ID, entry,
// blob digest check) with it.
func BenchmarkLayer(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "app")
	fakeGoBinary(b, bin, "bench/id", 10<<20, 7)
	b.Run("cache=off", func(b *testing.B) {
		b.SetBytes(10 << 20)
		for b.Loop() {
			l, err := oci.BinaryLayer(bin, "app", releasetest.Created)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.Digest(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache=on", func(b *testing.B) {
		c := Cache{Dir: b.TempDir()}
		if _, _, err := c.Layer(bin, "app", releasetest.Created); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(10 << 20)
		for b.Loop() {
			_, hit, err := c.Layer(bin, "app", releasetest.Created)
			if err != nil || !hit {
				b.Fatalf("hit %v, err %v", hit, err)
			}
		}
	})
}
