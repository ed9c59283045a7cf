// Package release provides mage targets that build multi-platform container images of a Go
// program without a Docker daemon, buildx or QEMU: every platform is cross-compiled natively
// and in parallel, each binary is put on a base image, and the images are stitched into one
// OCI image index that is written to disk or pushed to any OCI registry.
//
// Pull the targets into a magefile with one import:
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		_ "github.com/xgo-build/xgo-build/magefiles/release"
//	)
//
// Targets:
//
//	binaries  go build per platform into dist/bin/<os>_<arch>[_<variant>]/<name>, each binary
//	          verified against its platform
//	image     binaries, then one image per platform, with its SBOM and provenance, and an OCI
//	          image layout in dist/oci
//	load      image, then the image of one platform into the local Docker engine, tagged;
//	          prints the tag
//	release   image, then a push to XGO_REPO: blobs, manifests, their attestations, the index,
//	          and tags last;
//	          prints repo@sha256:... and writes dist/release.json
//
// Configuration is read from XGO_* environment variables and SOURCE_DATE_EPOCH; every value is
// checked before any work starts, and a bad value fails with one message naming the variable
// and the value. The doc of each target, [Binaries], [Image] and [Release], lists the
// variables it reads with their meanings and defaults (go doc -all shows them, and so does go
// tool mage -h <target>); the README has them in one table.
//
// Tags: when HEAD carries a git tag vX.Y.Z, the image is tagged X.Y.Z, X.Y, X and latest; a
// prerelease tag vX.Y.Z-pre gives only X.Y.Z-pre; anything else (no tag, a tag that is not
// exact semver such as v1.2 or v1.2.3+meta) gives latest. When several tags point at HEAD the
// highest semver one is used.
//
// Reproducibility: binaries are built with -trimpath and images take their timestamps from
// SOURCE_DATE_EPOCH or the commit, so the same commit gives the same index digest on every run
// and every machine with the same Go toolchain. Go stamps VCS information into binaries, and
// it marks the tree as modified when dist/ is untracked: list dist/ in .gitignore.
//
// Attestations: each platform image gets an SPDX 2.3 SBOM of its binary, made from the build
// information go stamped into it (XGO_SBOM), and a SLSA provenance v1 in-toto statement of
// its build (XGO_PROVENANCE), both on by default, as OCI 1.1 referrers: artifact manifests
// whose subject is the image manifest. They are reproducible as the images are (no wall-clock
// time, nothing random, canonical JSON). dist/oci lists them after the index, which it names
// by the first tag (oci:dist/oci:<tag> in skopeo); a release pushes them after the image
// manifests and before the index, under the referrers tag scheme on a registry without the
// referrers API, and dist/release.json names their digests.
//
// Layer cache: image and release keep the compressed layer of every binary in XGO_CACHE, keyed
// by the binary's Go build ID (read from its headers or first pages, not the whole file), its
// size, the file name, the image time and the layer format. When go build leaves a binary as
// it was, its layer is taken from the cache instead of being tarred and compressed again, and
// linked into dist/oci. An entry is used only if its blob still has the recorded size and
// digest (the blob is hashed every time a run uses it) and the binary the recorded size and
// modification time (or, when the file was written again, the recorded SHA-256), so a changed
// binary is never served from it; a damaged or missing entry is made again, never an error.
//
// The cache also keeps a remote base: its index, manifests and configs by digest, and its
// layers as files that are linked into dist/oci. Each is hashed and checked against its digest
// every time a run uses it, and fetched again when it does not match. A warm run on a base
// named by digest makes no registry request for it; on a base named by tag, one HEAD request
// for the tag's digest.
//
// The files of dist/oci are read-only, and its layers are the cache's files (hard links): a
// blob changed through either name, even with its size and time kept, fails its check on the
// next run, which makes it again and writes a layout with the intact one. A file of the cache
// that is not a regular file of the expected size (a FIFO, a symbolic link, a directory) is a
// missing entry; it is never waited on or followed.
//
// Entries are written to temporary files and renamed into place, so concurrent runs may share
// the cache. Entries and blobs unused for five days are removed (checked at most once a day);
// removing the directory is always safe.
//
// One run at a time: a target holds an advisory lock (flock on unix, LockFileEx on windows) on
// the file .lock in the dist directory, which holds its pid, from the moment its configuration
// and plan are checked until it ends, and the lock goes with the process when it dies. A
// second target on the same dist fails at once, before it changes anything there, with an
// error naming the first one's pid; with XGO_WAIT=true it prints one line and waits for the
// lock instead (an interrupt stops the wait).
//
// Interrupting a target (SIGINT, or SIGTERM as CI systems send) stops the builds and uploads.
// The dist directory holds a file named INCOMPLETE from the moment a target starts writing
// there until it has finished well; dist/oci is only ever replaced by a complete layout, and
// only when it is empty or a layout that xgo-build wrote, and dist/release.json is removed
// before a push and written after it. XGO_DIST may not be /, the home directory, or the
// project directory or one that contains it. A release pushes the tags
// last, so a failed or interrupted release leaves no tag pointing at anything new.
//
// Every go build gets the environment of the xgo-build shim for its platform (GOOS, GOARCH,
// the variant variable, CGO_ENABLED=0 unless set), so a mage release and a Dockerfile build
// with xgo-build produce the same binary for the same platform string. Run mage with -v to see
// the go commands.
package release
