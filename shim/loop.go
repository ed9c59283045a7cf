package shim

import (
	"fmt"
	"strconv"
	"strings"
)

// depthVar is the environment variable through which a shim tells the shims below it how
// deep they run in wrappers: "N:PATH", where N counts the go commands that were not the real
// go run by shims up the chain, and PATH is the last of them.
const depthVar = "XGO_BUILD_DEPTH"

// maxDepth is the most wrappers a chain of shims runs; a shim that would run one more
// reports a loop instead.
const maxDepth = 8

// markDepth returns env for running gopath: env unchanged when gopath is the real go (real:
// its build info names cmd/go, as findGo read it), else env with depthVar one deeper and naming gopath. It returns
// a loop error, and runs nothing, when the shims up the chain have already run maxDepth
// wrappers (getenv reads depthVar).
//
// findGo catches a go that is xgo-build itself; this catches a loop with a script in
// between, such as XGO_GO or a go on PATH that runs xgo-build again. A counter, not an exact
// match, because a shim cannot see what ran between it and the shim above: a wrapper that
// runs the real go, whose test, generator or go run program runs xgo-build, which runs the
// same wrapper, is legitimate (version-manager shims such as asdf's do that), and its
// environment is the same as a wrapper that runs xgo-build at once. So "the same wrapper
// again" would refuse it, while a few wrapper hops cost a loop only milliseconds. Running
// the real go counts nothing and is never refused: go runs xgo-build only when asked to (a
// test, a generator), so the chain `go test` -> test binary -> xgo-build -> real go works
// however deep. A go that this check takes for a wrapper (one without build info) only
// uses up one of the hops.
func markDepth(env []string, getenv func(string) string, gopath string, real bool) ([]string, error) {
	if real {
		return env, nil
	}
	depth, last, err := parseDepth(getenv(depthVar))
	if err != nil {
		return nil, err
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("loop: the go that xgo-build ran, %q, is not the real go and ran xgo-build again (%d deep, %s); set XGO_GO to the real go", last, depth, depthVar)
	}
	return MergeEnv(env, []string{fmt.Sprintf("%s=%d:%s", depthVar, depth+1, gopath)}), nil
}

// parseDepth splits a depthVar value into its count and path; "" is depth 0.
func parseDepth(v string) (depth int, path string, err error) {
	if v == "" {
		return 0, "", nil
	}
	n, path, ok := strings.Cut(v, ":")
	depth, err = strconv.Atoi(n)
	if !ok || err != nil || depth < 0 || path == "" {
		return 0, "", fmt.Errorf("invalid %s=%q: xgo-build sets it to N:PATH for the go commands it runs; unset it", depthVar, v)
	}
	return depth, path, nil
}
