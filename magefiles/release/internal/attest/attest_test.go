package attest

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdxlib"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xgo-build/xgo-build/shim"
)

// created is the release time of the tests.
var created = time.Date(2026, 11, 30, 3, 4, 5, 0, time.UTC)

// root is this module's directory.
func root(t testing.TB) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// goBuild builds pkg of the module in dir for goos/goarch into a temporary file, with
// -trimpath and the extra flags, and returns its path.
func goBuild(t testing.TB, dir, pkg, goos, goarch string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "app")
	args := append(append([]string{"build", "-trimpath"}, flags...), "-o", out, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

var (
	toolOnce sync.Once
	toolBin  string
	toolErr  error
)

// xgoBuildBinary is this module's cmd/xgo-build built for linux/arm64 with -ldflags, once: a
// binary with dependencies (kong) and build settings.
func xgoBuildBinary(t *testing.T) string {
	t.Helper()
	toolOnce.Do(func() {
		dir, err := os.MkdirTemp("", "attest-test-")
		if err != nil {
			toolErr = err
			return
		}
		toolBin = filepath.Join(dir, "xgo-build")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", toolBin, "./cmd/xgo-build")
		cmd.Dir = root(t)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			toolErr = &buildError{err: err, out: string(b)}
		}
	})
	if toolErr != nil {
		t.Fatal(toolErr)
	}
	return toolBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// goVersionM runs `go version -m` on bin and returns the module lines it prints: "mod" and
// "dep" as path and version, and a "=>" replacement in place of the line it replaces.
func goVersionM(t *testing.T, bin string) (modules map[string]string, settings []string) {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	modules = map[string]string{}
	var last string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case len(f) >= 3 && (f[0] == "mod" || f[0] == "dep"):
			last = f[1]
			modules[f[1]] = f[2]
		case len(f) >= 2 && f[0] == "=>":
			version := ""
			if len(f) >= 3 {
				version = f[2]
			}
			modules[last] = version
		case len(f) >= 2 && f[0] == "build":
			settings = append(settings, f[1])
		}
	}
	return modules, settings
}

func TestSBOMNamesEveryModuleOfGoVersionM(t *testing.T) {
	bin := xgoBuildBinary(t)
	info, err := ReadBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	p := shim.Platform{OS: "linux", Arch: "arm64"}
	b := Build{Binary: bin, File: "/xgo-build", Platform: p, Main: "github.com/xgo-build/xgo-build/cmd/xgo-build"}
	raw, err := SBOM(info, b, created, "v9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	again, err := SBOM(info, b, created, "v9.9.9")
	if err != nil || !bytes.Equal(raw, again) {
		t.Fatalf("a second SBOM of the same binary differs (%v)", err)
	}
	doc, err := spdxjson.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading the SBOM with tools-golang: %v\n%s", err, raw)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Errorf("the SBOM is not valid: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "2026-11-30T03:04:05Z" ||
		!strings.HasSuffix(doc.DocumentNamespace, "/linux/arm64/sha256-"+info.Digest.Hex) {
		t.Errorf("version %q, created %q, namespace %q", doc.SPDXVersion, doc.CreationInfo.Created, doc.DocumentNamespace)
	}
	if len(doc.CreationInfo.Creators) != 1 || doc.CreationInfo.Creators[0].Creator != "xgo-build-v9.9.9" {
		t.Errorf("creators %+v", doc.CreationInfo.Creators)
	}

	byName := map[string]*spdx.Package{}
	for _, pkg := range doc.Packages {
		byName[pkg.PackageName] = pkg
	}
	modules, settings := goVersionM(t, bin)
	if len(modules) < 2 {
		t.Fatalf("go version -m lists %d modules, want the main one and kong at least", len(modules))
	}
	for path, version := range modules {
		if path == info.Build.Main.Path {
			continue // the main module is the application's
		}
		pkg := byName[path]
		if pkg == nil {
			t.Errorf("the SBOM does not name %s, which go version -m lists", path)
			continue
		}
		if pkg.PackageVersion != version {
			t.Errorf("%s: version %q, go version -m says %q", path, pkg.PackageVersion, version)
		}
		if len(pkg.PackageChecksums) != 1 || pkg.PackageChecksums[0].Algorithm != "SHA256" || len(pkg.PackageChecksums[0].Value) != 64 {
			t.Errorf("%s: checksums %+v, want the h1 hash as SHA256", path, pkg.PackageChecksums)
		}
		if len(pkg.PackageExternalReferences) != 1 || pkg.PackageExternalReferences[0].Locator != "pkg:golang/"+path+"@"+version {
			t.Errorf("%s: external references %+v, want pkg:golang/%s@%s", path, pkg.PackageExternalReferences, path, version)
		}
	}
	for _, dep := range info.Build.Deps {
		want, ok := h1Hex(dep.Sum)
		if pkg := byName[dep.Path]; !ok || pkg == nil || pkg.PackageChecksums[0].Value != want {
			t.Errorf("%s: checksum of sum %s is not in the SBOM", dep.Path, dep.Sum)
		}
	}

	app := byName["github.com/xgo-build/xgo-build/cmd/xgo-build"]
	if app == nil {
		t.Fatalf("no package of the main package: %s", raw)
	}
	if app.PrimaryPackagePurpose != "APPLICATION" || app.PackageFileName != "/xgo-build" ||
		len(app.PackageChecksums) != 1 || app.PackageChecksums[0].Value != info.Digest.Hex || app.PackageVersion != info.Build.Main.Version {
		t.Errorf("application package %+v", app)
	}
	if got := app.PackageExternalReferences[0].Locator; got != "pkg:golang/github.com/xgo-build/xgo-build#cmd/xgo-build" {
		t.Errorf("application purl %q", got)
	}
	var annotated []string
	for _, a := range app.Annotations {
		annotated = append(annotated, strings.TrimPrefix(a.AnnotationComment, "go build setting: "))
	}
	if !slices.Equal(annotated, settings) {
		t.Errorf("build settings annotated %q, go version -m prints %q", annotated, settings)
	}
	// -trimpath leaves -ldflags out of the build information; the provenance has the flags.
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0", "-trimpath=true"} {
		if !slices.Contains(annotated, want) {
			t.Errorf("build settings %q lack %q", annotated, want)
		}
	}
	goVersion, _, _ := strings.Cut(info.Build.GoVersion, " ")
	if std := byName["stdlib"]; std == nil || std.PackageVersion != goVersion ||
		std.PackageExternalReferences[0].Locator != "pkg:golang/stdlib@"+strings.TrimPrefix(goVersion, "go") {
		t.Errorf("stdlib package %+v, want %s", std, goVersion)
	}
	// DOCUMENT describes the application, which depends on everything else.
	depends := 0
	for _, r := range doc.Relationships {
		switch r.Relationship {
		case "DESCRIBES":
			if r.RefA.ElementRefID != "DOCUMENT" || r.RefB.ElementRefID != app.PackageSPDXIdentifier {
				t.Errorf("DESCRIBES %+v", r)
			}
		case "DEPENDS_ON":
			depends++
		}
	}
	if depends != len(doc.Packages)-1 {
		t.Errorf("%d DEPENDS_ON relationships for %d packages", depends, len(doc.Packages))
	}
}

func TestModulePackageReplaced(t *testing.T) {
	sum := "h1:" + strings.Repeat("A", 43) + "="
	p := modulePackage(&debug.Module{Path: "example.com/a", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1", Sum: sum}}, "Package-a")
	if p.PackageName != "example.com/a" || p.PackageVersion != "v1.0.1" || p.PackageExternalReferences[0].Locator != "pkg:golang/example.com/fork@v1.0.1" ||
		p.PackageChecksums[0].Value != strings.Repeat("0", 64) || !strings.Contains(p.PackageComment, "replaced by example.com/fork v1.0.1") {
		t.Errorf("module replaced by another: %+v", p)
	}
	p = modulePackage(&debug.Module{Path: "example.com/a", Version: "v1.0.0", Replace: &debug.Module{Path: "../a"}}, "Package-a")
	if p.PackageVersion != "" || len(p.PackageExternalReferences) != 0 || len(p.PackageChecksums) != 0 || !strings.Contains(p.PackageComment, "the directory ../a") {
		t.Errorf("module replaced by a directory: %+v", p)
	}
}

func TestPurl(t *testing.T) {
	for _, tt := range []struct{ path, version, subpath, want string }{
		{"github.com/BurntSushi/toml", "v1.4.0", "", "pkg:golang/github.com/BurntSushi/toml@v1.4.0"},
		{"github.com/docker/cli", "v29.7.2+incompatible", "", "pkg:golang/github.com/docker/cli@v29.7.2%2Bincompatible"},
		{"example.com/app", "(devel)", "cmd/app", "pkg:golang/example.com/app#cmd/app"},
		{"stdlib", "1.26.8", "", "pkg:golang/stdlib@1.26.8"},
	} {
		if got := purlRef(tt.path, tt.version, tt.subpath).Locator; got != tt.want {
			t.Errorf("purl of %s %s %s = %q, want %q", tt.path, tt.version, tt.subpath, got, tt.want)
		}
	}
}

func TestIDSet(t *testing.T) {
	ids := idSet{}
	for _, tt := range []struct{ in, want string }{
		{"Package-a/b", "Package-a-b"},
		{"Package-a-b", "Package-a-b-2"},
		{"Package-a_b", "Package-a-b-3"},
		{"Package-v1.2", "Package-v1.2"},
	} {
		if got := ids.add(tt.in); string(got) != tt.want {
			t.Errorf("add(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWasmBuildInfo checks that a wasm module's build information, which debug/buildinfo
// cannot read, reads as that of the same program built for linux.
func TestWasmBuildInfo(t *testing.T) {
	for _, goos := range []string{"wasip1", "js"} {
		t.Run(goos, func(t *testing.T) {
			wasm := goBuild(t, root(t), "./cmd/xgo-build", goos, "wasm")
			if _, err := buildinfo.ReadFile(wasm); err == nil {
				t.Log("debug/buildinfo reads wasm modules now: the wasm reader could go")
			}
			got, err := ReadBinary(wasm)
			if err != nil {
				t.Fatal(err)
			}
			native, err := buildinfo.ReadFile(goBuild(t, root(t), "./cmd/xgo-build", "linux", "amd64"))
			if err != nil {
				t.Fatal(err)
			}
			bi := got.Build
			if bi.GoVersion != native.GoVersion || bi.Path != native.Path || bi.Main != native.Main {
				t.Errorf("wasm: %s %s %+v; linux: %s %s %+v", bi.GoVersion, bi.Path, bi.Main, native.GoVersion, native.Path, native.Main)
			}
			if len(bi.Deps) != len(native.Deps) {
				t.Fatalf("wasm: %d deps, linux %d", len(bi.Deps), len(native.Deps))
			}
			for i := range bi.Deps {
				if *bi.Deps[i] != *native.Deps[i] {
					t.Errorf("dep %d: wasm %+v, linux %+v", i, bi.Deps[i], native.Deps[i])
				}
			}
			var settings []string
			for _, s := range bi.Settings {
				settings = append(settings, s.Key+"="+s.Value)
			}
			if !slices.Contains(settings, "GOOS="+goos) || !slices.Contains(settings, "GOARCH=wasm") {
				t.Errorf("wasm build settings %q", settings)
			}
		})
	}
	if _, err := wasmBuildInfo(append(slices.Clone(wasmMagic), 11, 0x80)); err == nil {
		t.Error("a truncated wasm module: no error")
	}
}

func TestModuleVersion(t *testing.T) {
	mod := func(path, version string, replace *debug.Module) *debug.Module {
		return &debug.Module{Path: path, Version: version, Replace: replace}
	}
	for _, tt := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"main module", debug.BuildInfo{Main: *mod(toolModule, "v1.2.3", nil)}, "v1.2.3"},
		{"dependency", debug.BuildInfo{Main: *mod("example.com/app", "(devel)", nil), Deps: []*debug.Module{mod(toolModule, "v0.4.0", nil)}}, "v0.4.0"},
		{"replaced by a version", debug.BuildInfo{Deps: []*debug.Module{mod(toolModule, "v0.4.0", mod("example.com/fork", "v0.4.1", nil))}}, "v0.4.1"},
		{"replaced by a directory", debug.BuildInfo{Deps: []*debug.Module{mod(toolModule, "v0.4.0", mod("../xgo-build", "", nil))}}, "(devel)"},
		{"absent", debug.BuildInfo{Main: *mod("example.com/app", "v1.0.0", nil)}, "(devel)"},
	} {
		if got := moduleVersion(&tt.bi, toolModule); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if v := ToolVersion(); v == "" {
		t.Error("ToolVersion is empty")
	}
}

// testSpec is the Spec of an image of the xgo-build binary on a base.
func testSpec(t *testing.T) Spec {
	t.Helper()
	return Spec{
		Subject: v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 1234, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)},
			Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}, ArtifactType: "application/vnd.oci.image.config.v1+json"},
		Name: "registry.example/team/app",
		Build: Build{
			Binary: xgoBuildBinary(t), File: "/xgo-build", Platform: shim.Platform{OS: "linux", Arch: "arm64"},
			Main: "github.com/xgo-build/xgo-build/cmd/xgo-build", Flags: []string{"-trimpath", "-ldflags=-s -w"},
			Env: []string{"CGO_ENABLED=0", "GOARCH=arm64", "GOOS=linux"},
		},
		Source:     Source{URL: "https://github.com/you/app", Revision: strings.Repeat("c", 40), Version: "v1.2.3"},
		Base:       "registry.example/base:1",
		BaseDigest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ba", 32)},
		Created:    created,
		Tool:       "v9.9.9",
		SBOM:       true, Provenance: true,
	}
}

func TestProvenance(t *testing.T) {
	spec := testSpec(t)
	info, err := ReadBinary(spec.Build.Binary)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Provenance(spec, info)
	if err != nil {
		t.Fatal(err)
	}
	// Canonical: compact, keys sorted, one final newline; the same bytes every time.
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil || compact.String()+"\n" != string(raw) {
		t.Errorf("the statement is not compact JSON with a final newline (%v):\n%s", err, raw)
	}
	for range 5 {
		if again, err := Provenance(spec, info); err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("a second statement differs (%v):\n%s\n%s", err, raw, again)
		}
	}
	if again, _ := canonicalJSON(raw); !bytes.Equal(again, raw) {
		t.Error("canonicalJSON of the statement changes it")
	}

	var st intoto.Statement
	if err := protojson.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if err := st.Validate(); err != nil {
		t.Errorf("the statement is not valid: %v", err)
	}
	if st.PredicateType != SLSAProvenance || len(st.Subject) != 1 || st.Subject[0].Name != spec.Name ||
		st.Subject[0].Digest["sha256"] != spec.Subject.Digest.Hex {
		t.Errorf("statement %v", &st)
	}
	predicate, err := protojson.Marshal(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	var prov slsa.Provenance
	if err := protojson.Unmarshal(predicate, &prov); err != nil {
		t.Fatal(err)
	}
	if err := prov.Validate(); err != nil {
		t.Errorf("the provenance is not valid: %v", err)
	}
	bd := prov.BuildDefinition
	params := bd.ExternalParameters.AsMap()
	if bd.BuildType != BuildType || params["platform"] != "linux/arm64" || params["main"] != spec.Build.Main || params["base"] != spec.Base {
		t.Errorf("build definition %v", bd)
	}
	if flags, _ := json.Marshal(params["flags"]); string(flags) != `["-trimpath","-ldflags=-s -w"]` {
		t.Errorf("flags %s", flags)
	}
	if env, _ := json.Marshal(params["env"]); string(env) != `{"CGO_ENABLED":"0","GOARCH":"arm64","GOOS":"linux"}` {
		t.Errorf("env %s", env)
	}
	deps := bd.ResolvedDependencies
	if len(deps) != 3 {
		t.Fatalf("resolved dependencies %v, want the source, the base and go", deps)
	}
	if deps[0].Uri != "git+https://github.com/you/app@refs/tags/v1.2.3" || deps[0].Digest["gitCommit"] != spec.Source.Revision {
		t.Errorf("source %v", deps[0])
	}
	if deps[1].Name != spec.Base || deps[1].Digest["sha256"] != spec.BaseDigest.Hex {
		t.Errorf("base %v", deps[1])
	}
	if deps[2].Name != "go" || deps[2].Annotations.AsMap()["version"] != info.Build.GoVersion {
		t.Errorf("toolchain %v", deps[2])
	}
	rd := prov.RunDetails
	if rd.Builder.Id != "https://github.com/xgo-build/xgo-build/release@v9.9.9" || rd.Builder.Version[toolModule] != "v9.9.9" {
		t.Errorf("builder %v", rd.Builder)
	}
	if rd.Metadata != nil {
		t.Errorf("metadata %v: the provenance must hold no time", rd.Metadata)
	}
	if len(rd.Byproducts) != 1 || rd.Byproducts[0].Name != "/xgo-build" || rd.Byproducts[0].Digest["sha256"] != info.Digest.Hex {
		t.Errorf("byproducts %v", rd.Byproducts)
	}

	// Outside git, on scratch: only the toolchain is a resolved dependency.
	spec.Source, spec.Base, spec.BaseDigest = Source{}, "scratch", v1.Hash{}
	raw, err = Provenance(spec, info)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "gitCommit") || strings.Contains(string(raw), "git+") || !strings.Contains(string(raw), `"base":"scratch"`) {
		t.Errorf("provenance outside git on scratch:\n%s", raw)
	}
}

func TestReferrers(t *testing.T) {
	spec := testSpec(t)
	refs, err := Referrers(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 {
		t.Fatalf("%d referrers, want the SBOM and the provenance", len(refs))
	}
	again, err := Referrers(spec)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		artifactType, title string
		predicate           string
	}{{SBOMType, "sbom.spdx.json", ""}, {ProvenanceType, "provenance.intoto.json", SLSAProvenance}} {
		img := refs[i]
		d, _ := img.Digest()
		if d2, _ := again[i].Digest(); d2 != d {
			t.Errorf("%s: digest %s, then %s", want.artifactType, d, d2)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.SchemaVersion != 2 || m.MediaType != types.OCIManifestSchema1 || m.ArtifactType != want.artifactType {
			t.Errorf("%s: manifest %+v", want.artifactType, m)
		}
		if m.Config.MediaType != types.OCIEmptyJSON || m.Config.Size != 2 || m.Config.Digest.Hex != "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" {
			t.Errorf("%s: config %+v, want the empty descriptor", want.artifactType, m.Config)
		}
		if raw, _ := img.RawConfigFile(); string(raw) != "{}" {
			t.Errorf("%s: config %q", want.artifactType, raw)
		}
		wantSubject := v1.Descriptor{MediaType: spec.Subject.MediaType, Size: spec.Subject.Size, Digest: spec.Subject.Digest}
		if m.Subject == nil || m.Subject.MediaType != wantSubject.MediaType || m.Subject.Size != wantSubject.Size ||
			m.Subject.Digest != wantSubject.Digest || m.Subject.Platform != nil || m.Subject.ArtifactType != "" {
			t.Errorf("%s: subject %+v, want %+v", want.artifactType, m.Subject, wantSubject)
		}
		if m.Annotations[PredicateTypeAnnotation] != want.predicate || m.Annotations["org.opencontainers.image.created"] != "2026-11-30T03:04:05Z" {
			t.Errorf("%s: annotations %v", want.artifactType, m.Annotations)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 || len(m.Layers) != 1 {
			t.Fatalf("%s: %d layers, %v", want.artifactType, len(layers), err)
		}
		if m.Layers[0].MediaType != types.MediaType(want.artifactType) || m.Layers[0].Annotations[titleAnnotation] != want.title {
			t.Errorf("%s: layer %+v", want.artifactType, m.Layers[0])
		}
		if ld, _ := layers[0].Digest(); ld != m.Layers[0].Digest {
			t.Errorf("%s: layer digest %s, manifest says %s", want.artifactType, ld, m.Layers[0].Digest)
		}
	}

	spec.SBOM = false
	if refs, err := Referrers(spec); err != nil || len(refs) != 1 {
		t.Errorf("without the SBOM: %d referrers, %v", len(refs), err)
	}
	spec.Provenance = false
	if refs, err := Referrers(spec); err != nil || len(refs) != 0 {
		t.Errorf("with neither: %d referrers, %v", len(refs), err)
	}
}
