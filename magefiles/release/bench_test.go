package release

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// BenchmarkWarmImageGoList measures what remembering go list's answer saves: warm `image`
// runs of the mid-size program (testdata/midsize) for the eight default platforms on
// scratch, alternately with the answer remembered and with it forgotten (go list runs
// again), side by side in one loop. It reports both times and their ratio.
//
//	go test -run '^$' -bench WarmImageGoList -benchtime 10x ./magefiles/release/
func BenchmarkWarmImageGoList(b *testing.B) {
	src := filepath.Join("..", "..", "testdata", "midsize")
	dir := b.TempDir()
	old := time.Now().Add(-time.Hour) // older than racyAge, so the answer can be remembered
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.Chtimes(dir, old, old); err != nil {
		b.Fatal(err)
	}
	cacheDir := filepath.Join(b.TempDir(), "cache")
	env := map[string]string{"SOURCE_DATE_EPOCH": "86400", "XGO_CACHE": cacheDir, "XGO_DIST": filepath.Join(b.TempDir(), "dist")}
	e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: io.Discard}
	if err := run(b.Context(), e, stageImage); err != nil { // builds, fills the caches
		b.Fatal(err)
	}
	lc := listCache{cache: layerCache{dir: cacheDir}}
	entry := lc.cache.entryPath(lc.key(dir, ""))
	if _, err := os.Stat(entry); err != nil {
		b.Fatalf("go list's answer was not remembered: %v", err)
	}
	var remembered, listed time.Duration
	for b.Loop() {
		start := time.Now()
		if err := run(b.Context(), e, stageImage); err != nil {
			b.Fatal(err)
		}
		remembered += time.Since(start)
		if err := os.Remove(entry); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := run(b.Context(), e, stageImage); err != nil {
			b.Fatal(err)
		}
		listed += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(remembered.Milliseconds())/n, "remembered-ms/op")
	b.ReportMetric(float64(listed.Milliseconds())/n, "golist-ms/op")
	b.ReportMetric(float64(listed)/float64(remembered), "golist/remembered")
}
