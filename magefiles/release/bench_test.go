package release

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
)

// BenchmarkWarmImage measures a warm `image` run (nothing changed since the last run) of the
// hello program for the eight default platforms on scratch, without and with the layer
// cache. What remains with the cache is mostly go build finding each binary up to date.
//
//	go test -run '^$' -bench WarmImage -benchtime 5x ./magefiles/release/
func BenchmarkWarmImage(b *testing.B) {
	src := filepath.Join("..", "..", "testdata", "hello")
	for _, bc := range []struct{ name, cache string }{{"cache=off", "off"}, {"cache=on", ""}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			for _, f := range []string{"go.mod", "main.go"} {
				data, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			env := map[string]string{"SOURCE_DATE_EPOCH": "86400", "XGO_CACHE": bc.cache}
			if bc.cache == "" {
				env["XGO_CACHE"] = filepath.Join(b.TempDir(), "cache")
			}
			e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: io.Discard}
			if err := run(b.Context(), e, stageImage); err != nil { // builds, fills the cache
				b.Fatal(err)
			}
			for b.Loop() {
				if err := run(b.Context(), e, stageImage); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLayer measures making the layer of a 10 MiB binary (about a mid-size program)
// and its digests: compressed every time without the cache, looked up (build ID, entry,
// blob digest check) with it.
func BenchmarkLayer(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "app")
	fakeGoBinary(b, bin, "bench/id", 10<<20, 7)
	b.Run("cache=off", func(b *testing.B) {
		b.SetBytes(10 << 20)
		for b.Loop() {
			l, err := oci.BinaryLayer(bin, "app", created)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.Digest(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache=on", func(b *testing.B) {
		c := layerCache{dir: b.TempDir()}
		if _, _, err := c.layer(bin, "app", created); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(10 << 20)
		for b.Loop() {
			_, hit, err := c.layer(bin, "app", created)
			if err != nil || !hit {
				b.Fatalf("hit %v, err %v", hit, err)
			}
		}
	})
}
