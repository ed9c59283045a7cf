package release

import (
	"io"
	"os"
	"path/filepath"
	"testing"
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
