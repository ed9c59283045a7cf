package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// progName is the prefix of every line the shim itself writes to stderr.
const progName = "xgo-build"

// Exit statuses of the shim's own outcomes; any other status is the real go's.
const (
	exitOK       = 0
	exitMismatch = 1 // --xgo-verify found a binary that does not match the target
	exitShim     = 2 // the shim's own error: nothing was built
)

// options are the shim's own --xgo-* flags, parsed by kong.
type options struct {
	Platform string `name:"xgo-platform" placeholder:"OS/ARCH[/VARIANT]" help:"Target platform, overriding TARGETPLATFORM and TARGETOS/TARGETARCH/TARGETVARIANT."`
	Env      bool   `name:"xgo-env" xor:"action" help:"Print the variables the build would get as KEY=value lines and exit without building."`
	Verify   bool   `name:"xgo-verify" xor:"action" help:"Check that each FILE after this flag is a Go binary built for the target; exit 1 on any mismatch."`
	List     bool   `name:"xgo-list" xor:"action" help:"Print every platform accepted for the go toolchain in use, one a line."`
	Help     bool   `name:"xgo-help" xor:"action" help:"Show this help."`
	Version  bool   `name:"xgo-version" xor:"action" help:"Print the xgo-build version."`
}

// action returns the option that replaces the build (at most one is set), or "".
func (o *options) action() string {
	switch {
	case o.Env:
		return "--xgo-env"
	case o.Verify:
		return "--xgo-verify"
	case o.List:
		return "--xgo-list"
	case o.Help:
		return "--xgo-help"
	case o.Version:
		return "--xgo-version"
	}
	return ""
}

// usageHeader opens the --xgo-help text; kong adds the options.
const usageHeader = `Usage: xgo-build [--xgo-* options] [go build flags] [packages]
       xgo-build [--xgo-platform=P] --xgo-verify FILE...
       go [command] [args]   (when installed or linked under the name go)

xgo-build runs "go build" for the platform that docker buildx asks for
(TARGETPLATFORM, or TARGETOS/TARGETARCH/TARGETVARIANT): it sets GOOS, GOARCH,
the variant variable of the arch (GOARM, GOAMD64, GOARM64, ...) and
CGO_ENABLED=0 unless CGO_ENABLED is set, then runs the real go with every
argument after the leading --xgo-* options passed through untouched.

Exit status: the real go's; 2 for xgo-build's own errors (nothing is built);
1 when --xgo-verify finds a mismatch.

Environment: XGO_GO names the real go (default: the first go on PATH that is
not xgo-build itself). With CGO_ENABLED=1 and a target other than the host,
CC (and CXX) become a C cross compiler unless CC is set: XGO_CC (and XGO_CXX)
if set, else <triple>-gcc (and <triple>-g++) in PATH, such as
aarch64-linux-gnu-gcc; PKG_CONFIG_LIBDIR then points at the triple's
multiarch pkg-config directories unless set.

`

// Main runs the xgo-build command: args is the full command line (args[0] is the program
// name), environ the process environment in os.Environ form; it returns the exit status.
// On unix a successful run never returns: the process becomes the real go.
func Main(args, environ []string, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		self = ""
	}
	inv := invocation{
		args:    args,
		environ: environ,
		getenv:  getenvFrom(environ),
		stdout:  stdout,
		stderr:  stderr,
		self:    self,
		exec:    execGo,
	}
	return inv.run()
}

// execFunc starts the real go as path with argv and env, replacing the process where the
// system allows it; it returns the child's exit status when it does not.
type execFunc func(path string, argv, env []string) (int, error)

// invocation is one run of the shim with everything it reads from the outside world.
type invocation struct {
	args    []string
	environ []string
	getenv  func(string) string
	stdout  io.Writer
	stderr  io.Writer
	self    string // path of this executable, "" if unknown
	exec    execFunc
}

// run dispatches on the program name: under the name go every argument is forwarded to
// the real go; otherwise the leading --xgo-* arguments are the shim's.
func (inv invocation) run() int {
	var rest []string
	if len(inv.args) > 1 {
		rest = inv.args[1:]
	}
	if len(inv.args) > 0 && isGoName(inv.args[0]) {
		return inv.wrap(rest)
	}
	return inv.build(rest)
}

// isGoName reports whether argv0 names the go command (go, or go.exe on Windows).
func isGoName(argv0 string) bool {
	base := filepath.Base(argv0)
	return base == "go" || strings.EqualFold(base, "go.exe")
}

// wrap runs the real go with every argument untouched and the target's environment.
func (inv invocation) wrap(args []string) int {
	env, err := inv.targetEnv("")
	if err != nil {
		return inv.fail(exitShim, err)
	}
	return inv.runGo(args, env)
}

// build handles the xgo-build command line: the shim's options, then go build.
func (inv invocation) build(args []string) int {
	own, files, forwarded := splitArgs(args)
	opts, parser, err := parseOptions(own, inv.stdout, inv.stderr)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	if action := opts.action(); action != "" && len(forwarded) > 0 {
		return inv.fail(exitShim, fmt.Errorf("%s builds nothing: unexpected argument %q", action, forwarded[0]))
	}
	switch {
	case opts.Help:
		fmt.Fprint(inv.stdout, usageHeader)
		if err := parser.PrintUsage(false); err != nil {
			return inv.fail(exitShim, err)
		}
		return exitOK
	case opts.Version:
		fmt.Fprintf(inv.stdout, "%s %s\n", progName, version())
		return exitOK
	case opts.List:
		return inv.list()
	case opts.Verify:
		return inv.verify(opts.Platform, files)
	case opts.Env:
		vars, err := inv.vars(opts.Platform)
		if err != nil {
			return inv.fail(exitShim, err)
		}
		for _, kv := range vars {
			fmt.Fprintln(inv.stdout, kv)
		}
		return exitOK
	}
	env, err := inv.targetEnv(opts.Platform)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	return inv.runGo(append([]string{"build"}, forwarded...), env)
}

// splitArgs separates the leading --xgo-* arguments (own) from the rest, which is returned
// exactly as given. A bare --xgo-platform takes the next argument as its value, and
// --xgo-verify takes every argument after it as the files to verify.
func splitArgs(args []string) (own, files, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--xgo-") {
			return own, nil, args[i:]
		}
		switch a {
		case "--xgo-verify":
			return append(own, a), args[i+1:], nil
		case "--xgo-platform":
			own = append(own, a)
			if i+1 < len(args) {
				i++
				own = append(own, args[i])
			}
			continue
		}
		own = append(own, a)
	}
	return own, nil, nil
}

// parseOptions parses the shim's own arguments with kong; kong never sees go's. With no
// --xgo-* arguments (the usual Dockerfile case) kong is not even built.
func parseOptions(own []string, stdout, stderr io.Writer) (*options, *kong.Context, error) {
	var opts options
	if len(own) == 0 {
		return &opts, nil, nil
	}
	parser, err := kong.New(&opts,
		kong.Name(progName),
		kong.NoDefaultHelp(),
		kong.Writers(stdout, stderr),
		kong.ConfigureHelp(kong.HelpOptions{NoAppSummary: true}),
		kong.Exit(func(int) {}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("building the option parser: %w", err)
	}
	ctx, err := parser.Parse(own)
	if err != nil {
		var perr *kong.ParseError
		if errors.As(err, &perr) {
			err = perr.Unwrap()
		}
		return nil, nil, err
	}
	if strings.TrimSpace(opts.Platform) == "" && slices.ContainsFunc(own, isPlatformFlag) {
		return nil, nil, errors.New("--xgo-platform needs a value such as linux/arm64")
	}
	return &opts, ctx, nil
}

// isPlatformFlag reports whether arg is the --xgo-platform option, in either form.
func isPlatformFlag(arg string) bool {
	return arg == "--xgo-platform" || strings.HasPrefix(arg, "--xgo-platform=")
}

// targetEnv returns the environment for the real go: the process environment with the
// target's variables merged in, or unchanged (after one warning line) for a host build.
func (inv invocation) targetEnv(flag string) ([]string, error) {
	p, ok, err := Target(flag, inv.getenv)
	if err != nil {
		return nil, err
	}
	if !ok {
		inv.warnHost()
		return inv.environ, nil
	}
	vars, err := buildVars(p, inv.getenv)
	if err != nil {
		return nil, err
	}
	return MergeEnv(inv.environ, vars), nil
}

// buildVars returns the variables of a build for p: Vars, then CgoVars.
func buildVars(p Platform, getenv func(string) string) ([]string, error) {
	vars, err := Vars(p, getenv)
	if err != nil {
		return nil, err
	}
	cgo, err := CgoVars(p, getenv)
	if err != nil {
		return nil, err
	}
	return append(vars, cgo...), nil
}

// vars returns the variables for the target, or none (after the warning) for a host build.
func (inv invocation) vars(flag string) ([]string, error) {
	p, ok, err := Target(flag, inv.getenv)
	if err != nil {
		return nil, err
	}
	if !ok {
		inv.warnHost()
		return nil, nil
	}
	return buildVars(p, inv.getenv)
}

// warnHost writes the one warning line of a build without a target platform.
func (inv invocation) warnHost() {
	fmt.Fprintf(inv.stderr, "%s: warning: no target platform (TARGETPLATFORM, TARGETOS/TARGETARCH unset): building for the host; declare ARG TARGETPLATFORM in the Dockerfile stage or pass --xgo-platform\n", progName)
}

// runGo finds the real go and runs it with args (argv[0] excluded) and env, marked with the
// wrapper depth (see markDepth).
func (inv invocation) runGo(args, env []string) int {
	gopath, real, err := findGo(inv.getenv, inv.self)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	env, err = markDepth(env, inv.getenv, gopath, real)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	code, err := inv.exec(gopath, append([]string{gopath}, args...), env)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	return code
}

// fail writes err as the single prefixed line and returns code.
func (inv invocation) fail(code int, err error) int {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintf(inv.stderr, "%s: %s\n", progName, msg)
	return code
}

// version returns the main module's version from the build info, "(devel)" if unknown.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}

// getenvFrom returns a lookup over environ that, like a Go process's os.Getenv, sees the
// first of duplicate keys.
func getenvFrom(environ []string) func(string) string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return func(key string) string { return m[key] }
}
