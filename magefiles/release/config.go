package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
)

// config is everything a release needs from the environment and from git, validated.
type config struct {
	Dir       string       // project directory: go and git run here
	Main      string       // import path of the main package
	Name      string       // binary name (without .exe)
	Platforms platformList // requested platforms, resolved against the base by plan
	Base      string       // "scratch", "static" or a registry reference
	Repo      string       // repository to push to, "" when XGO_REPO is unset
	repo      name.Repository
	Tags      []string             // tags release pushes
	ByDigest  bool                 // push the manifests by digest only, and write their record (XGO_PUSH_BY_DIGEST)
	Jobs      int                  // parallel go builds
	Flags     []string             // extra go build flags
	Smoke     []string             // arguments of each binary's smoke run (XGO_SMOKE); nil: none
	Image     imageConfig          // labels, annotations, user, env, workdir and ports (XGO_LABELS etc.)
	Dist      string               // absolute output directory
	Wait      bool                 // wait for another run to release Dist instead of failing (XGO_WAIT)
	Insecure  bool                 // plain HTTP allowed to registries that are not on loopback
	Retry     registry.RetryPolicy // how registry requests are retried (XGO_RETRY_TIMEOUT)
	keychain  *registry.Keychain   // credentials of registry calls (XGO_REGISTRY_*, the docker config, CI_REGISTRY_*, GITHUB_TOKEN)
	Created   time.Time            // timestamp of the images
	Version   string               // git tag on HEAD, "" when there is none
	Revision  string               // HEAD commit, "" outside git
	Source    string               // https URL of the origin remote, "" when unknown
	// DistUnignored is set when Dist lies in the git work tree and git does not ignore it:
	// go then stamps the binaries of a second run as built from a modified tree.
	DistUnignored bool
	// SBOM and Provenance attach an SPDX SBOM and a SLSA provenance to each platform image,
	// as OCI referrers (XGO_SBOM, XGO_PROVENANCE: on unless set to off).
	SBOM, Provenance bool
}

// readEnv reads the XGO_* variables and SOURCE_DATE_EPOCH through getenv, without running
// anything: every bad value is one error naming the variable and the value.
func readEnv(dir string, getenv func(string) string) (config, []error) {
	c := config{Dir: dir}
	var errs []error
	bad := func(variable, value string, err error) {
		errs = append(errs, badValue(variable, value, err))
	}

	if v := getenv("XGO_INSECURE_REGISTRY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("XGO_INSECURE_REGISTRY", v, errors.New("must be true or false"))
		}
		c.Insecure = b
	}

	if v := getenv("XGO_PUSH_BY_DIGEST"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("XGO_PUSH_BY_DIGEST", v, errors.New("must be true or false"))
		}
		c.ByDigest = b
	}

	if v := getenv("XGO_WAIT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("XGO_WAIT", v, errors.New("must be true or false"))
		}
		c.Wait = b
	}

	c.SBOM, c.Provenance = true, true
	if v := getenv("XGO_SBOM"); v != "" {
		b, err := parseSwitch(v)
		if err != nil {
			bad("XGO_SBOM", v, err)
		}
		c.SBOM = b
	}

	if v := getenv("XGO_PROVENANCE"); v != "" {
		b, err := parseSwitch(v)
		if err != nil {
			bad("XGO_PROVENANCE", v, err)
		}
		c.Provenance = b
	}

	pl, err := parsePlatformList(getenv("XGO_PLATFORMS"))
	if err != nil {
		bad("XGO_PLATFORMS", getenv("XGO_PLATFORMS"), err)
	}
	c.Platforms = pl

	image, imageErrs := readImageConfig(getenv, c.Platforms, c.ByDigest)
	c.Image, errs = image, append(errs, imageErrs...)

	c.Base = "scratch"
	if v := getenv("XGO_BASE"); v != "" {
		c.Base = strings.TrimSpace(v)
		if err := checkReference(c.Base); err != nil {
			bad("XGO_BASE", v, err)
		} else if !store.Builtin(c.Base) {
			if _, err := registry.ParseRef(c.Base, c.Insecure); err != nil {
				bad("XGO_BASE", v, errors.New(`must be "scratch", "static" or an image reference like registry.example/repo:tag`))
			}
		}
	}

	if v := getenv("XGO_REPO"); v != "" {
		repo, err := registry.ParseRepo(strings.TrimSpace(v), c.Insecure)
		if cerr := checkReference(strings.TrimSpace(v)); cerr != nil {
			bad("XGO_REPO", v, cerr)
		} else if err != nil {
			bad("XGO_REPO", v, errors.New("must be a repository like registry.example/owner/app, without tag or digest"))
		}
		c.Repo, c.repo = strings.TrimSpace(v), repo
	}

	retry, err := retryPolicyFromEnv(getenv)
	if err != nil {
		bad("XGO_RETRY_TIMEOUT", getenv("XGO_RETRY_TIMEOUT"), errors.New("must be a non-negative duration such as 90s or 5m, or a number of seconds"))
	}
	c.Retry = retry

	c.Jobs = min(runtime.NumCPU(), maxJobs)
	if v := getenv("XGO_JOBS"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(strings.TrimSpace(v), "-"),
			err == nil && n > maxJobs:
			bad("XGO_JOBS", v, fmt.Errorf("must be at most %d", maxJobs))
		case err != nil || n < 1:
			bad("XGO_JOBS", v, errors.New("must be a positive integer"))
		}
		c.Jobs = n
	}

	if v := getenv("XGO_FLAGS"); v != "" {
		flags, err := splitWords(v)
		if err == nil {
			err = checkFlags(flags)
		}
		if err != nil {
			bad("XGO_FLAGS", v, err)
		}
		c.Flags = flags
	}

	if smoke, err := readSmoke(getenv); err != nil {
		bad("XGO_SMOKE", getenv("XGO_SMOKE"), err)
	} else {
		c.Smoke = smoke
	}

	c.Dist = filepath.Join(dir, "dist")
	if v := getenv("XGO_DIST"); v != "" {
		if strings.TrimSpace(v) == "" {
			bad("XGO_DIST", v, errors.New("must be a directory path"))
		} else {
			if filepath.IsAbs(v) {
				c.Dist = filepath.Clean(v)
			} else {
				c.Dist = filepath.Join(dir, v)
			}
			if err := checkDist(c.Dist, dir, getenv); err != nil {
				bad("XGO_DIST", v, err)
			}
		}
	} else if err := checkDist(c.Dist, dir, getenv); err != nil {
		errs = append(errs, fmt.Errorf("the output directory %s %w", c.Dist, err))
	}

	if epoch := getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(epoch), 10, 64)
		if err != nil || n < 0 || n > maxEpoch {
			bad("SOURCE_DATE_EPOCH", epoch, errors.New("must be a non-negative integer number of seconds since 1970"))
		}
		c.Created = time.Unix(n, 0).UTC()
	}

	// The tags are computed from git by askGoAndGit; the given ones can be checked now.
	if _, err := applyTags(nil, getenv("XGO_TAGS")); err != nil {
		bad("XGO_TAGS", getenv("XGO_TAGS"), err)
	}
	keychain, loginErrs := readLogins(getenv, c.repo)
	c.keychain, errs = keychain, append(errs, loginErrs...)
	return c, errs
}

// askGoAndGit fills in what comes from go and git: the main package (XGO_MAIN, checked by go
// list run in environ; nil: this process's environment), the version, commit, commit time and
// origin, and the tags. mainFound, when not nil, is called as soon as the main package is
// found (not at all when it is not), while git may still run.
// It returns the errors of resolving the main package.
func (c *config) askGoAndGit(ctx context.Context, getenv func(string) string, environ []string, mainFound func()) []error {
	// go list and git are a process or more each: run them side by side.
	var (
		wg        sync.WaitGroup
		mainPkg   string
		mainErr   error
		unignored bool
	)
	wg.Go(func() {
		mainPkg, mainErr = findMain(ctx, c.Dir, getenv("XGO_MAIN"), environ)
		if mainErr == nil && mainFound != nil {
			mainFound()
		}
	})
	var g gitInfo
	if mayBeInGit(c.Dir, getenv) {
		wg.Go(func() { unignored = distUnignored(ctx, c.Dir, c.Dist) })
		g = readGit(ctx, c.Dir)
	}
	wg.Wait()
	c.Version, c.Revision, c.Source = g.tag, g.revision, g.source
	if getenv("SOURCE_DATE_EPOCH") == "" {
		c.Created = time.Unix(g.commitTime, 0).UTC()
	}
	c.DistUnignored = unignored && c.Revision != ""
	if tags, err := applyTags(versionTags(c.Version), getenv("XGO_TAGS")); err == nil {
		c.Tags = tags
	}
	c.Main = mainPkg
	c.Name = binaryName(c.Main)
	if mainErr != nil {
		return []error{mainErr}
	}
	return nil
}

// maxEpoch is the last second of the year 9999, the largest time an RFC 3339 timestamp holds.
const maxEpoch = 253402300799

// maxJobs is the largest XGO_JOBS: more go builds at a time than that only share the same
// cores and memory, and as many uploads at a time would flood a registry. A larger value is
// an error, and the default, the number of CPUs, is cut to it.
const maxJobs = 256

// gitInfo is what the release takes from the git repository around the project.
type gitInfo struct {
	tag        string
	revision   string
	source     string
	commitTime int64
}

// mayBeInGit reports whether git could find a repository for dir: GIT_DIR is set, or dir or a
// directory above it has a .git entry (a directory, or the file of a worktree or submodule).
// Where it cannot, the git commands are not run at all.
func mayBeInGit(dir string, getenv func(string) string) bool {
	if getenv("GIT_DIR") != "" {
		return true
	}
	for d := range ancestors(dir) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return true
		}
	}
	return false
}

// readGit asks git in dir for the tag on HEAD, the HEAD commit and its time, and the origin
// URL, running its three commands side by side. Outside a git work tree (or without git) every
// field stays empty.
func readGit(ctx context.Context, dir string) gitInfo {
	var g gitInfo
	var tags, remote string
	var tagsErr, remoteErr error
	var wg sync.WaitGroup
	wg.Go(func() { tags, tagsErr = gitOutput(ctx, dir, "tag", "--points-at", "HEAD") })
	wg.Go(func() { remote, remoteErr = gitOutput(ctx, dir, "remote", "get-url", "origin") })
	head, err := gitOutput(ctx, dir, "log", "-1", "--no-show-signature", "--format=%H %ct")
	wg.Wait()
	rev, ct, ok := strings.Cut(head, " ")
	if err != nil || !ok || rev == "" {
		return g
	}
	g.revision = rev
	if n, err := strconv.ParseInt(ct, 10, 64); err == nil && n >= 0 {
		g.commitTime = n
	}
	if tagsErr == nil {
		g.tag = pickGitTag(strings.Split(tags, "\n"))
	}
	if remoteErr == nil {
		g.source = sourceURL(remote)
	}
	return g
}

// distUnignored reports whether git, in dir, does not ignore dist/bin. git check-ignore exits 1
// for a path that is not ignored and 128 outside a work tree.
func distUnignored(ctx context.Context, dir, dist string) bool {
	cmd := exec.CommandContext(ctx, "git", "check-ignore", "-q", "--no-index", filepath.Join(dist, "bin"))
	cmd.Dir = dir
	var exitErr *exec.ExitError
	return errors.As(cmd.Run(), &exitErr) && exitErr.ExitCode() == 1
}

// gitOutput runs git with args in dir and returns its trimmed standard output.
func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// hostPattern matches the host names (and ports) a source URL may carry.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)

// scpLike matches git's scp-like remote syntax, user@host:path.
var scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+@)?([A-Za-z0-9.-]+):([^/].*)$`)

// sourceURL turns a git remote URL into the https URL that org.opencontainers.image.source
// carries, dropping any credentials, port-less ssh users and a trailing .git; local paths and
// unknown forms give "".
func sourceURL(remote string) string {
	remote = strings.TrimSpace(remote)
	var host, p string
	if m := scpLike.FindStringSubmatch(remote); m != nil && !strings.Contains(remote, "://") {
		host, p = m[1], m[2]
	} else {
		u, err := url.Parse(remote)
		if err != nil {
			return ""
		}
		switch u.Scheme {
		case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
		default:
			return ""
		}
		host, p = u.Hostname(), u.Path
		if u.Scheme == "https" || u.Scheme == "http" {
			if port := u.Port(); port != "" {
				host += ":" + port
			}
		}
	}
	p = strings.TrimSuffix(strings.Trim(path.Clean("/"+p), "/"), ".git")
	if !hostPattern.MatchString(host) || p == "" || p == "." {
		return ""
	}
	return (&url.URL{Scheme: "https", Host: host, Path: "/" + p}).String()
}

// listedPackage is the part of `go list -json` output the release reads.
type listedPackage struct {
	ImportPath string
	Name       string
	Error      *struct{ Err string }
}

// findMain resolves XGO_MAIN (value) to the import path of a main package, or, when value is
// empty, finds the module's only main package under dir. The magefiles directory and the
// packages below it are mage's, not candidates.
func findMain(ctx context.Context, dir, value string, environ []string) (string, error) {
	if value == "" {
		pkgs, err := goList(ctx, dir, "./...", environ)
		if err != nil {
			return "", fmt.Errorf("finding the main package: %w", err)
		}
		var mains []string
		for _, p := range pkgs {
			if p.ImportPath == "./..." && p.Error != nil {
				return "", fmt.Errorf("finding the main package: go list ./...: %s", strings.TrimSpace(p.Error.Err))
			}
			if p.Name == "main" && p.Error == nil && !slices.Contains(strings.Split(p.ImportPath, "/"), "magefiles") {
				mains = append(mains, p.ImportPath)
			}
		}
		switch len(mains) {
		case 1:
			return mains[0], nil
		case 0:
			return "", errors.New("XGO_MAIN is not set and the module has no main package: set XGO_MAIN to the package to build")
		default:
			return "", fmt.Errorf("XGO_MAIN is not set and the module has %d main packages: set XGO_MAIN to one of %s", len(mains), strings.Join(mains, ", "))
		}
	}
	v := strings.TrimSpace(value)
	switch {
	case v == "" || strings.HasPrefix(v, "-"):
		return "", badValue("XGO_MAIN", value, errors.New("must be a package path like ./cmd/app"))
	case strings.Contains(v, "..."):
		return "", badValue("XGO_MAIN", value, errors.New("must name one package, not a pattern"))
	}
	pkgs, err := goList(ctx, dir, v, environ)
	if err != nil {
		return "", badValue("XGO_MAIN", value, withoutEcho(err))
	}
	if len(pkgs) != 1 {
		return "", badValue("XGO_MAIN", value, fmt.Errorf("must name exactly one package, found %d", len(pkgs)))
	}
	p := pkgs[0]
	switch {
	case p.Error != nil:
		return "", badValue("XGO_MAIN", value, withoutEcho(errors.New(strings.TrimSpace(p.Error.Err))))
	case p.Name != "main":
		return "", badValue("XGO_MAIN", value, fmt.Errorf("package %s is package %s, not a main package", p.ImportPath, p.Name))
	}
	return p.ImportPath, nil
}

// goList runs `go list -e -find -json` for one pattern in dir, in environ (nil: this
// process's environment). -find identifies the packages without loading their dependencies:
// the name and import path are all the release needs before it builds, and go build reports a
// broken import itself.
func goList(ctx context.Context, dir, pattern string, environ []string) ([]listedPackage, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-find", "-json=ImportPath,Name,Error", pattern)
	cmd.Dir = dir
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("go list %s: %w", pattern, &processError{msg: msg, err: err})
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(&stdout)
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// majorSuffix matches a module major version path element such as v2.
var majorSuffix = regexp.MustCompile(`^v[0-9]+$`)

// binaryName is the file name go build gives the main package importPath: its last path
// element, or the one before a major version suffix (example.com/app/v2 -> app).
func binaryName(importPath string) string {
	if importPath == "" {
		return ""
	}
	elems := strings.Split(importPath, "/")
	last := elems[len(elems)-1]
	if majorSuffix.MatchString(last) && len(elems) > 1 {
		return elems[len(elems)-2]
	}
	return last
}

// splitWords splits s into words as a POSIX shell does, without any expansion: blanks
// (space, tab, newline) separate words; single quotes keep everything up to the next single
// quote; double quotes keep everything except that a backslash escapes ", \, $, ` and
// newline; outside quotes a backslash keeps the next character, and backslash-newline is
// removed. An unterminated quote or a trailing backslash is an error.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\\':
			if i+1 >= len(s) {
				return nil, errors.New("ends with a lone backslash")
			}
			i++
			if s[i] == '\n' {
				continue
			}
			cur.WriteByte(s[i])
			inWord = true
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("has an unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case '"':
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						cur.WriteByte(s[i])
					}
					continue
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New("has an unterminated double quote")
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// quoteWords joins words into one string that splitWords splits back into the same words,
// quoting only the words that need it; it is used to show commands.
func quoteWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = quoteWord(w)
	}
	return strings.Join(out, " ")
}

// quoteWord returns w as one shell word.
func quoteWord(w string) string {
	if w != "" && strings.IndexFunc(w, needsQuote) < 0 {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// needsQuote reports whether r is special to a shell.
func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./=:,+@%", r)
}

// retryPolicyFromEnv returns the default policy with the timeout of
// XGO_RETRY_TIMEOUT: a Go duration ("90s", "5m") or a number of seconds; "0"
// turns retries off.
func retryPolicyFromEnv(getenv func(string) string) (registry.RetryPolicy, error) {
	p := registry.DefaultRetryPolicy()
	v := strings.TrimSpace(getenv("XGO_RETRY_TIMEOUT"))
	if v == "" {
		return p, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseUint(v, 10, 32)
		if nerr != nil {
			return p, fmt.Errorf("invalid XGO_RETRY_TIMEOUT %q: must be a duration such as 90s or 5m, or a number of seconds", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return p, fmt.Errorf("invalid XGO_RETRY_TIMEOUT %q: must not be negative", v)
	}
	p.Timeout = d
	return p, nil
}

// ancestors yields dir, cleaned, and every directory above it up to the root.
func ancestors(dir string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
			if !yield(d) || filepath.Dir(d) == d {
				return
			}
		}
	}
}
