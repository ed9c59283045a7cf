// Package vars is the one source of the release targets' configuration: the table of the
// environment variables they read, with each one's meaning, default and the targets that use
// it, and the first sentences of each target's doc comment. `go generate ./magefiles/release`
// writes from it the README's configuration table and magefiles/release/targets.go, the
// targets with their doc comments, which `go tool mage -h <target>` shows; the release
// package's tests fail while either is out of date, or while the package reads a variable that
// is not in the table.
//
// Meanings and defaults are plain text in which `backticks` mark literal values: the README
// shows them as code, Go doc and mage as they are.
package vars

import "slices"

// A Var is one environment variable of the release targets.
type Var struct {
	Name    string   // as set in the environment
	Default string   // what an unset (or empty) variable means, as shown to users
	Meaning string   // what the value does, a phrase or two without a final period
	Targets []string // the mage targets that use the value, in the order of Targets
}

// A Target is one mage target of package release.
type Target struct {
	Name string // the mage target name, the Go function name in lower case
	// Doc is the doc comment's opening, what the target does, beginning with the function
	// name; the variables the target reads follow it.
	Doc string
	// Call is the function of package release the target calls with its context; "" is
	// runTarget with the target's stage (stageBinaries for binaries).
	Call string
}

// Targets are the release targets: binaries, image and release each do what the one before
// does, and more; load gives what image builds to the local Docker engine; merge stitches
// what several by-digest releases pushed into one index.
var Targets = []Target{
	{
		Name: "binaries",
		Doc: "Binaries cross-compiles the main package for every platform, in parallel, into " +
			"dist/bin/<os>_<arch>[_<variant>]/<name>, and verifies each binary against its platform; " +
			"-v prints the go commands.",
	},
	{
		Name: "image",
		Doc: "Image builds the binaries, puts each on the base image for its platform and writes one " +
			"multi-platform OCI image layout to dist/oci, with each platform's SBOM and provenance " +
			"(readable by skopeo and oras as dist/oci:<first tag>); no network unless the base is " +
			"remote.",
	},
	{
		Name: "load",
		Doc: "Load builds the image and loads the image of one platform of it, the Docker " +
			"engine's or XGO_LOAD_PLATFORM, into the engine at DOCKER_HOST (no registry), tagged " +
			"XGO_LOAD_TAG; it prints the tag, for docker run.",
		Call: "runLoad",
	},
	{
		Name: "release",
		Doc: "Release builds the image and pushes it to XGO_REPO: missing blobs, the manifests and " +
			"their attestations, the index, and the tags last; it prints the pushed reference, repo@sha256:<digest>, and " +
			"writes dist/release.json. With XGO_PUSH_BY_DIGEST=true it pushes only the blobs and " +
			"the platform manifests, by digest, and writes the record merge reads to " +
			"dist/digests-<platforms>.json.",
	},
	{
		Name: "merge",
		Doc: "Merge reads the records of by-digest releases (one CI job a platform), checks that " +
			"they are of one commit, one a platform, and that the registry has each manifest, then " +
			"pushes the index a single release of those platforms pushes, the same digest, and its " +
			"tags last; it prints the pushed reference and writes dist/release.json.",
		Call: "runMerge",
	},
}

var (
	builds     = []string{"binaries", "image", "load", "release"}
	all        = []string{"binaries", "image", "load", "release", "merge"}
	imageOn    = []string{"image", "load", "release"}
	onlyLoads  = []string{"load"}
	pushes     = []string{"release", "merge"}
	onlyMerges = []string{"merge"}
	onlyPushes = []string{"release"}
	metadataOn = []string{"image", "load", "release", "merge"}
)

// Table lists every variable the release targets read, in the order the README and the
// targets' doc comments show them. A variable the release package reads must have a row here.
var Table = []Var{
	{
		Name:    "XGO_MAIN",
		Meaning: "the main package to build, a package path such as `./cmd/app`",
		Default: "the module's only main package outside any `magefiles` directory; with none, or " +
			"several, the run fails saying so",
		Targets: builds,
	},
	{
		Name: "XGO_PLATFORMS",
		Meaning: "comma-separated `os/arch[/variant]` (the shim's table), or `all` for every " +
			"platform of the base index",
		Default: "`linux/amd64,linux/386,linux/arm64,linux/arm/v7,linux/arm/v6,linux/ppc64le,linux/s390x,linux/riscv64`; " +
			"for `merge`, the platforms of the records, in the order of that list (others after them, " +
			"sorted): give `merge` the jobs' list when it has another order, and it also fails when a " +
			"record of the list is missing",
		Targets: all,
	},
	{
		Name: "XGO_BASE",
		Meaning: "the base image: `scratch` (empty), `static` (CA certificates, time zones, " +
			"`/etc/passwd`, `/tmp`, user 65532: made here, without network; see [The static base](#the-static-base)) " +
			"or any registry reference, without a scheme or " +
			"credentials (`docker login` gives those); a requested platform the base lacks is an error",
		Default: "`scratch`",
		Targets: builds,
	},
	{
		Name: "XGO_REPO",
		Meaning: "the repository `release` pushes to, such as `ghcr.io/you/app`, without tag, " +
			"digest, scheme or credentials (`docker login` gives those)",
		Default: "none; `release` and `merge` require it",
		Targets: pushes,
	},
	{
		Name: "XGO_TAGS",
		Meaning: "comma-separated tags that replace the computed ones; with a leading `+` " +
			"(`+edge,nightly`) they are added to them",
		Default: "from the git tag on HEAD: `vX.Y.Z` gives `X.Y.Z`, `X.Y`, `X` and `latest`, a " +
			"prerelease `vX.Y.Z-rc.1` only `X.Y.Z-rc.1`, anything else `latest` (for `merge`, the " +
			"git tag the records carry); a by-digest release pushes none",
		Targets: pushes,
	},
	{
		Name: "XGO_PUSH_BY_DIGEST",
		Meaning: "`true` makes `release` push the blobs and the platform manifests by digest only, " +
			"no index and no tag, and write what it pushed to `dist/digests-<platforms>.json` (in " +
			"GitHub Actions also the step output `record`, its path) for `merge`",
		Default: "`false`",
		Targets: onlyPushes,
	},
	{
		Name: "XGO_MERGE",
		Meaning: "the records `merge` stitches: comma-separated files, or directories searched " +
			"(subdirectories too) for `digests-*.json`, relative to the project directory",
		Default: "none; `merge` requires it",
		Targets: onlyMerges,
	},
	{
		Name: "XGO_LOAD_TAG",
		Meaning: "the tag `load` gives the image in the Docker engine, `name[:tag]` (`latest` " +
			"when it has none); it replaces an image the engine has under it",
		Default: "the binary name in lower case, with the first tag a release of the commit " +
			"pushes: `app:1.2.3` on a `v1.2.3` git tag, else `app:latest`",
		Targets: onlyLoads,
	},
	{
		Name: "XGO_LOAD_PLATFORM",
		Meaning: "the platform of the index whose image `load` gives the engine, " +
			"`os/arch[/variant]`; one that `XGO_PLATFORMS` leaves out is an error, before the " +
			"build (a foreign one runs only where the engine emulates it, binfmt_misc and " +
			"qemu-user)",
		Default: "the Docker engine's platform, as its info says (`linux/arm64` on an arm64 " +
			"machine or Apple silicon, whatever the machine mage runs on)",
		Targets: onlyLoads,
	},
	{
		Name: "DOCKER_HOST",
		Meaning: "the Docker engine `load` talks to: `unix:///path/to/docker.sock`, or " +
			"`tcp://host:port` in plain HTTP (no TLS, `ssh://` or docker contexts: for a " +
			"context, set it to `docker context inspect --format '{{.Endpoints.docker.Host}}'`)",
		Default: "`unix:///var/run/docker.sock`",
		Targets: onlyLoads,
	},
	{
		Name: "XGO_JOBS",
		Meaning: "parallel go builds, at most 256 (a larger value is an error, not cut down); as " +
			"many images are assembled, and blobs uploaded, at a time",
		Default: "the number of CPUs, at most 256",
		Targets: builds,
	},
	{
		Name: "XGO_FLAGS",
		Meaning: "extra go build flags, split into words as a POSIX shell splits them (quotes and " +
			"backslashes; no variables, globs or command substitution: no shell ever runs); flags " +
			"only, each word a flag of Go 1.26's `go build` or its value (the package is " +
			"`XGO_MAIN`); `-o` is refused, the release chooses each binary's path, and so is `-C`, " +
			"which go takes only first. Trusted input: `-toolexec` runs a program, and values such " +
			"as `-ldflags=-o=...` or `-ldflags=-extld=...` write files or run programs",
		Default: "none",
		Targets: builds,
	},
	{
		Name: "XGO_SMOKE",
		Meaning: "arguments (split into words as `XGO_FLAGS` is) to run each built binary with, " +
			"after the builds and before anything is written to `dist/oci` or pushed: natively, " +
			"under `qemu-<arch>-static` found on PATH, or through a binfmt_misc handler; each run " +
			"may take 30 s. A non-zero exit, a signal or a timeout fails the run, naming the " +
			"platform, the status and the last 20 lines of output; a platform that cannot run " +
			"here (another OS, wasm, no qemu for the arch) is a warning, and `not run: <why>` in " +
			"`dist/release.json`",
		Default: "none: no smoke runs",
		Targets: builds,
	},
	{
		Name: "XGO_DIST",
		Meaning: "the output directory, relative to the project directory; one run at a time uses it " +
			"(a second one fails at once, naming the first one's pid)",
		Default: "`dist`",
		Targets: all,
	},
	{
		Name:    "XGO_WAIT",
		Meaning: "`true` makes a run whose `XGO_DIST` is in use wait for the other run to end instead of failing",
		Default: "`false`",
		Targets: all,
	},
	{
		Name: "XGO_INSECURE_REGISTRY",
		Meaning: "`true` allows plain HTTP to a registry that is not on loopback (loopback " +
			"registries may always use it): the base's, and the one `release` pushes to",
		Default: "`false`",
		Targets: all,
	},
	{
		Name: "XGO_RETRY_TIMEOUT",
		Meaning: "how long failing registry requests (for a remote base, and the push) are retried " +
			"before the run gives up: a duration such as `90s`, or a number of seconds; `0` turns " +
			"retries off",
		Default: "`3m`",
		Targets: all,
	},
	{
		Name: "XGO_REGISTRY_USER",
		Meaning: "the user name to log in with to the registry of `XGO_REPO`, its host and port (so " +
			"also to `XGO_BASE`'s when it is that registry), with `XGO_REGISTRY_PASSWORD` or " +
			"`XGO_REGISTRY_PASSWORD_FILE`; no other registry gets them. They come first: before the " +
			"docker config, `CI_REGISTRY_USER` and `GITHUB_TOKEN`. Without `XGO_REPO` they are " +
			"checked but unused",
		Default: "none: the docker config's credentials (`docker login`, credential helpers), else " +
			"`CI_REGISTRY_USER` or `GITHUB_TOKEN`",
		Targets: all,
	},
	{
		Name:    "XGO_REGISTRY_PASSWORD",
		Meaning: "the password (or token) of `XGO_REGISTRY_USER`, as it is; no message or file shows it",
		Default: "none",
		Targets: all,
	},
	{
		Name: "XGO_REGISTRY_PASSWORD_FILE",
		Meaning: "a file holding the password of `XGO_REGISTRY_USER` (a trailing newline is " +
			"dropped), instead of `XGO_REGISTRY_PASSWORD`: setting both is an error",
		Default: "none",
		Targets: all,
	},
	{
		Name: "XGO_CACHE",
		Meaning: "the cache directory: remote base blobs, and the layers of `image` and " +
			"`release`; `off` disables it",
		Default: "`<user cache dir>/xgo-build/layers`, such as `~/.cache/xgo-build/layers`",
		Targets: builds,
	},
	{
		Name:    "SOURCE_DATE_EPOCH",
		Meaning: "image timestamps, seconds since 1970",
		Default: "the HEAD commit time, else 0",
		Targets: imageOn,
	},
	{
		Name: "XGO_LABELS",
		Meaning: "config labels (what `docker inspect` shows as `Config.Labels`), `key=value` " +
			"entries: comma-separated, or one a line when the value holds a newline (then a value " +
			"may hold commas: end even a single entry with a newline; blank lines are skipped), " +
			"as docker/metadata-action's `labels` output gives them; each entry is trimmed, the " +
			"key has no blanks, a later entry of a key wins. They go over the base's labels and " +
			"over the `org.opencontainers.image.*` labels the release sets, the same keys and " +
			"values as its own manifest annotations (not `XGO_ANNOTATIONS`')",
		Default: "the base's labels, with the release's `org.opencontainers.image.*` ones",
		Targets: imageOn,
	},
	{
		Name: "XGO_ANNOTATIONS",
		Meaning: "annotations, `[scope:]key=value` entries listed as in `XGO_LABELS`, with " +
			"buildx's `--annotation` scopes: `index:` the index, `manifest:` (the default) every " +
			"platform's manifest, `manifest[os/arch[/variant]]:` that platform's manifest only " +
			"(a platform the release does not build is an error; a by-digest job skips the other " +
			"jobs' platforms); the `-descriptor` scopes are not supported. The scope ends at the " +
			"first colon, so a key with a colon needs one. They go over the release's own " +
			"`org.opencontainers.image.*` annotations",
		Default: "none: the release's `org.opencontainers.image.*` annotations only",
		Targets: imageOn,
	},
	{
		Name: "XGO_USER",
		Meaning: "the user the image runs as, `user[:group]`, each a name (letters, digits, " +
			"`.`, `_`, `-`) or a numeric id, such as `65532:65532`",
		Default: "the base's user (root for `scratch`)",
		Targets: imageOn,
	},
	{
		Name: "XGO_ENV",
		Meaning: "environment variables of the image, `NAME=value` entries listed as in " +
			"`XGO_LABELS`; each replaces the base's value of that name, in its place, and new " +
			"names follow the base's in the order given. Values are taken as they are: no `$PATH` " +
			"expansion",
		Default: "the base's environment",
		Targets: imageOn,
	},
	{
		Name:    "XGO_WORKDIR",
		Meaning: "the working directory of the image, an absolute path such as `/app`",
		Default: "the base's (`/` for `scratch`)",
		Targets: imageOn,
	},
	{
		Name: "XGO_PORTS",
		Meaning: "ports the image exposes, comma-separated `port[/protocol]` with `tcp` (the " +
			"default), `udp` or `sctp`, such as `8080/tcp,53/udp`; added to the base's",
		Default: "the base's exposed ports",
		Targets: imageOn,
	},
	{
		Name: "XGO_SBOM",
		Meaning: "`off` (or `false`) leaves out each platform image's SBOM: an SPDX 2.3 JSON document of its " +
			"binary made from the build information go stamped into it (the main module, every " +
			"module with its version and go.sum hash, the Go version, the build settings), " +
			"attached as an OCI referrer of the image manifest (artifactType " +
			"`application/spdx+json`), written to `dist/oci` and pushed after the image; see " +
			"[SBOM and provenance](#sbom-and-provenance)",
		Default: "`on`",
		Targets: imageOn,
	},
	{
		Name: "XGO_PROVENANCE",
		Meaning: "`off` (or `false`) leaves out each platform image's provenance: a SLSA provenance v1 in-toto " +
			"statement of its build (platform, main package, go build flags and environment, " +
			"base, the commit and the Go toolchain), attached as `XGO_SBOM`'s SBOM is (artifactType " +
			"`application/vnd.in-toto+json`)",
		Default: "`on`",
		Targets: imageOn,
	},
	{
		Name: "CI_REGISTRY",
		Meaning: "the registry host (`host[:port]`) that `CI_REGISTRY_USER` and " +
			"`CI_REGISTRY_PASSWORD` log in to, and no other, as GitLab CI sets the three in every job",
		Default: "none",
		Targets: all,
	},
	{
		Name: "CI_REGISTRY_USER",
		Meaning: "with `CI_REGISTRY_PASSWORD`, the login for `CI_REGISTRY`, used when neither " +
			"`XGO_REGISTRY_USER` nor the docker config has credentials for that registry; one " +
			"without the other, or both without `CI_REGISTRY`, is an error",
		Default: "none",
		Targets: all,
	},
	{
		Name:    "CI_REGISTRY_PASSWORD",
		Meaning: "the password of `CI_REGISTRY_USER` (GitLab's job token); no message or file shows it",
		Default: "none",
		Targets: all,
	},
	{
		Name: "GITHUB_TOKEN",
		Meaning: "a token for `ghcr.io` alone, used when neither `XGO_REGISTRY_USER` nor the docker " +
			"config has credentials for it (in GitHub Actions, pass `secrets.GITHUB_TOKEN` in `env`, " +
			"with the `packages: write` permission); no message or file shows it",
		Default: "none",
		Targets: all,
	},
	{
		Name:    "GITHUB_ACTOR",
		Meaning: "the user name sent with `GITHUB_TOKEN` (GitHub Actions sets it)",
		Default: "`unset`, as go-containerregistry's GitHub keychain sends",
		Targets: all,
	},
	{
		Name: "GITHUB_OUTPUT",
		Meaning: "a file (GitHub Actions sets it) to which a release (or merge) that completed appends its step " +
			"outputs: `digest` (the index digest), `imageid` (the same, as docker/build-push-action " +
			"gives it for a multi-platform image), `image` (`repo@sha256:...`), `tags` (`repo:tag`, " +
			"one a line) and `metadata` (the content of `dist/release.json`); a failed run " +
			"appends nothing",
		Default: "none: no step outputs",
		Targets: pushes,
	},
	{
		Name: "GITHUB_STEP_SUMMARY",
		Meaning: "a file (GitHub Actions sets it) to which a release (or merge) that completed appends a Markdown " +
			"job summary: the pushed reference, the tags, the upload, and a table of the platforms " +
			"with their binary sizes, build times and manifest digests; a failed run appends nothing",
		Default: "none: no job summary",
		Targets: pushes,
	},
	{
		Name: "DOCKER_METADATA_OUTPUT_JSON",
		Meaning: "the JSON that docker/metadata-action exports: its tags (`repo:tag`; they give " +
			"`XGO_REPO` when they all name one repository, else `XGO_REPO` picks its own among " +
			"them), labels and annotations are used where `XGO_TAGS`, `XGO_LABELS` and " +
			"`XGO_ANNOTATIONS` are unset, all but `org.opencontainers.image.created`, the time " +
			"the job ran: the images keep the commit time, so the same commit gives the same digests",
		Default: "none",
		Targets: metadataOn,
	},
}

// For returns the rows of Table that target uses, in the order of Table.
func For(target string) []Var {
	var vs []Var
	for _, v := range Table {
		if v.ReadBy(target) {
			vs = append(vs, v)
		}
	}
	return vs
}

// ReadBy reports whether target uses v.
func (v Var) ReadBy(target string) bool {
	return slices.Contains(v.Targets, target)
}
