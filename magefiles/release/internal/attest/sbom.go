package attest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/xgo-build/xgo-build/shim"
)

// noAssertion is SPDX's "nothing is said of this".
const noAssertion = "NOASSERTION"

// SBOM returns the SPDX 2.3 JSON document of the binary that info describes, built as b says,
// made by the given version of xgo-build at the release's time created. It describes one
// package, the application: the binary (its path in the image and its sha256), the main
// package with its module and version, and the build settings of `go version -m` as
// annotations (-ldflags, GOOS, GOARCH, the variant variable, CGO_ENABLED, vcs.* and the rest).
// The application depends on the standard library of the Go version that built it and on
// every module the binary lists, each with its version, its go.sum hash (h1:, a SHA-256, in
// hex) and a package URL, pkg:golang/<module>@<version>; a replaced module is given as its
// replacement.
//
// The document's namespace is made of the main module, its version, the platform and the
// binary's digest, and its creation time is created: the same binary gives the same bytes.
func SBOM(info BinaryInfo, b Build, created time.Time, tool string) ([]byte, error) {
	bi := info.Build
	if bi == nil {
		return nil, fmt.Errorf("the binary %s has no build information", b.Binary)
	}
	when := created.UTC().Format(time.RFC3339)
	creator := "xgo-build-" + tool
	ids := idSet{}

	mainID := ids.add("Package-" + firstNonEmpty(bi.Path, b.Main))
	app := &spdx.Package{
		PackageName:             firstNonEmpty(bi.Path, b.Main),
		PackageSPDXIdentifier:   mainID,
		PackageVersion:          bi.Main.Version,
		PackageFileName:         b.File,
		PackageDownloadLocation: noAssertion,
		PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: info.Digest.Hex}},
		PackageComment:          fmt.Sprintf("the %s binary %s, built by %s", b.Platform, b.File, bi.GoVersion),
		PackageExternalReferences: []*spdx.PackageExternalReference{
			purlRef(bi.Main.Path, bi.Main.Version, strings.TrimPrefix(strings.TrimPrefix(bi.Path, bi.Main.Path), "/")),
		},
		PrimaryPackagePurpose: "APPLICATION",
	}
	for _, s := range bi.Settings {
		app.Annotations = append(app.Annotations, spdx.Annotation{
			Annotator:         common.Annotator{Annotator: creator, AnnotatorType: "Tool"},
			AnnotationDate:    when,
			AnnotationType:    "OTHER",
			AnnotationComment: "go build setting: " + s.Key + "=" + s.Value,
		})
	}

	goVersion, _, _ := strings.Cut(bi.GoVersion, " ") // "go1.26.8 X:nodwarf5" has experiments
	stdlib := &spdx.Package{
		PackageName:               "stdlib",
		PackageSPDXIdentifier:     ids.add("Package-stdlib"),
		PackageVersion:            goVersion,
		PackageDownloadLocation:   noAssertion,
		PackageComment:            "the Go standard library of " + bi.GoVersion + ", compiled into the binary",
		PackageExternalReferences: []*spdx.PackageExternalReference{purlRef("stdlib", strings.TrimPrefix(goVersion, "go"), "")},
		PrimaryPackagePurpose:     "LIBRARY",
	}

	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      app.PackageName + " " + b.Platform.String(),
		DocumentNamespace: namespace(bi, b.Platform, info),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{Creator: creator, CreatorType: "Tool"}},
			Created:  when,
		},
		Packages: []*spdx.Package{app, stdlib},
		Relationships: []*spdx.Relationship{
			relationship("DOCUMENT", common.TypeRelationshipDescribe, mainID),
			relationship(mainID, common.TypeRelationshipDependsOn, stdlib.PackageSPDXIdentifier),
		},
	}
	for _, dep := range bi.Deps {
		p := modulePackage(dep, ids.add("Package-"+dep.Path))
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, relationship(mainID, common.TypeRelationshipDependsOn, p.PackageSPDXIdentifier))
	}

	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("writing the SPDX document: %w", err)
	}
	return buf.Bytes(), nil
}

// modulePackage is the SPDX package of a module the binary lists: its replacement, when it
// has one, gives the version, the hash and the package URL.
func modulePackage(dep *debug.Module, id common.ElementID) *spdx.Package {
	used := dep
	p := &spdx.Package{
		PackageName:             dep.Path,
		PackageSPDXIdentifier:   id,
		PackageDownloadLocation: noAssertion,
		PrimaryPackagePurpose:   "LIBRARY",
	}
	if r := dep.Replace; r != nil {
		used = r
		if r.Version == "" {
			p.PackageComment = fmt.Sprintf("%s %s replaced by the directory %s", dep.Path, dep.Version, r.Path)
		} else {
			p.PackageComment = fmt.Sprintf("%s %s replaced by %s %s", dep.Path, dep.Version, r.Path, r.Version)
		}
	}
	p.PackageVersion = used.Version
	if sum, ok := h1Hex(used.Sum); ok {
		p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: sum}}
	}
	if used.Version != "" {
		p.PackageExternalReferences = []*spdx.PackageExternalReference{purlRef(used.Path, used.Version, "")}
	}
	return p
}

// h1Hex returns the SHA-256 of a go.sum hash "h1:<base64>" in hex.
func h1Hex(sum string) (string, bool) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return hex.EncodeToString(raw), true
}

// purlRef is the package URL reference of the Go module path at version (none for "" or
// "(devel)"), with a subpath for a package below the module's root: pkg:golang/<path>@<version>.
// The module path keeps its case, as Go's own vulnerability tools write it: go module paths are
// case-sensitive.
func purlRef(path, version, subpath string) *spdx.PackageExternalReference {
	s := "pkg:golang/" + escapeSegments(path)
	if version != "" && version != "(devel)" {
		s += "@" + purlEscape(version)
	}
	if subpath != "" {
		s += "#" + escapeSegments(subpath)
	}
	return &spdx.PackageExternalReference{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: s}
}

// escapeSegments percent-encodes each /-separated segment of p as a package URL does.
func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = purlEscape(s)
	}
	return strings.Join(segs, "/")
}

// purlEscape percent-encodes every byte of s but the unreserved characters of RFC 3986.
func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// namespace is the document namespace of the SBOM of a binary: a URI made of the main
// module, its version, the platform and the binary's digest, the same for the same binary.
func namespace(bi *debug.BuildInfo, p shim.Platform, info BinaryInfo) string {
	mod := firstNonEmpty(bi.Main.Path, bi.Path, "unknown")
	version := firstNonEmpty(bi.Main.Version, "(devel)")
	parts := []string{p.OS, p.Arch}
	if p.Variant != "" {
		parts = append(parts, p.Variant)
	}
	return "https://github.com/xgo-build/xgo-build/spdx/" + escapeSegments(mod) + "/" + url.PathEscape(version) + "/" +
		strings.Join(parts, "/") + "/" + info.Digest.Algorithm + "-" + info.Digest.Hex
}

// relationship is "a rel b" between two elements of the document.
func relationship(a common.ElementID, rel string, b common.ElementID) *spdx.Relationship {
	return &spdx.Relationship{RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(b)), Relationship: rel}
}

// idSet hands out SPDX element identifiers: letters, digits, '.' and '-', each once.
type idSet map[common.ElementID]bool

// add returns an identifier made from s (other characters become '-'), with a number
// appended when it is taken.
func (ids idSet) add(s string) common.ElementID {
	base := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '-':
			return r
		}
		return '-'
	}, s)
	id := common.ElementID(base)
	for n := 2; ids[id]; n++ {
		id = common.ElementID(fmt.Sprintf("%s-%d", base, n))
	}
	ids[id] = true
	return id
}

// firstNonEmpty returns the first of ss that is not "".
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
