package attest

import "runtime/debug"

// devel is the version of a module built from a directory rather than a published version.
const devel = "(devel)"

// ToolVersion returns the version of xgo-build in the running program: of its main module
// when that is xgo-build (its own magefile, its tests), else of the dependency on it (a
// user's magefile), the replacement's version when it is replaced by another version, and
// "(devel)" when it is built from a directory or the program has no build information.
func ToolVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return devel
	}
	return moduleVersion(bi, toolModule)
}

// moduleVersion returns the version of module path in bi, as ToolVersion describes.
func moduleVersion(bi *debug.BuildInfo, path string) string {
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m.Path != path {
			continue
		}
		if r := m.Replace; r != nil {
			m = r
		}
		if m.Version == "" {
			return devel
		}
		return m.Version
	}
	return devel
}
