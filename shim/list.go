package shim

import (
	"bytes"
	"fmt"
	"strings"
)

// list runs --xgo-list: every canonical platform the shim accepts whose os/arch pair the
// go toolchain in use supports, one a line.
func (inv invocation) list() int {
	gopath, real, err := findGo(inv.getenv, inv.self)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	env, err := markDepth(inv.environ, inv.getenv, gopath, real)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	var out, errOut bytes.Buffer
	argv := []string{gopath, "tool", "dist", "list"}
	code, err := runChild(gopath, argv, env, nil, &out, &errOut)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(errOut.String()))
	}
	if err != nil {
		return inv.fail(exitShim, fmt.Errorf("running %q tool dist list: %w", gopath, err))
	}
	for _, p := range supported(Platforms(), out.String()) {
		fmt.Fprintln(inv.stdout, p)
	}
	return exitOK
}

// supported returns the platforms of all whose os/arch pair is a line of distList, the
// output of "go tool dist list", keeping their order.
func supported(all []Platform, distList string) []Platform {
	pairs := map[string]bool{}
	for _, line := range strings.Split(distList, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			pairs[line] = true
		}
	}
	var out []Platform
	for _, p := range all {
		if pairs[p.OS+"/"+p.Arch] {
			out = append(out, p)
		}
	}
	return out
}
