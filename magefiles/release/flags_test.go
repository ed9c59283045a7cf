package release

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestCheckFlags(t *testing.T) {
	for _, ok := range []string{
		`-ldflags "-s -w"`, `-ldflags="-s -w" -trimpath`, `--ldflags=-s`, `-tags a,b -race`,
		`-buildvcs=false`, `-buildvcs`, `-buildvcs=auto`, `-race=false`, `-gcflags all=-N -a`,
		`-ldflags -o`, `-tags -o`, `-p 2`, `-mod=readonly`, `-mod vendor`, `-toolexec 'echo x'`,
		`-covermode atomic -cover`, `-x -v -work`, `-pgo=off`, `-ldflags=`,
	} {
		words, err := splitWords(ok)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkFlags(words); err != nil {
			t.Errorf("checkFlags(%s): %v", ok, err)
		}
	}
	for flags, want := range map[string]string{
		`./cmd/x`:            `"./cmd/x" is not a go build flag: XGO_FLAGS must hold flags only; name the package with XGO_MAIN`,
		`-ldflags=-s ./...`:  `"./..." is not a go build flag: XGO_FLAGS must hold flags only; name the package with XGO_MAIN`,
		`-ldflags -s -w`:     `"-w" is not a go build flag (go help build lists them)`,
		`-race false`:        `"false" is not a go build flag: -race takes a value only as -race=false`,
		`-trimpath -`:        `"-" is not a go build flag: XGO_FLAGS must hold flags only; name the package with XGO_MAIN`,
		`-- -x`:              `"--" is not a go build flag: it would end go's flags`,
		`-o x`:               `must not set -o: the release chooses each binary's path`,
		`--o=x`:              `must not set -o`,
		`-C sub`:             `must not set -C: go takes it only as the first flag of its command line`,
		`-C=sub`:             `must not set -C`,
		`-a -C sub`:          `must not set -C`,
		`-foo`:               `"-foo" is not a go build flag (go help build lists them)`,
		`---race`:            `"---race" is not a go build flag`,
		`-ldflags`:           `-ldflags needs a value`,
		`-p 0`:               `-p "0": must be a positive integer`,
		`-p=two`:             `-p "two": must be a positive integer`,
		`-mod=bogus`:         `-mod="bogus": must be readonly, vendor, mod`,
		`-race=maybe`:        `-race="maybe": must be true or false`,
		`-buildvcs=sometime`: `-buildvcs="sometime": must be true, false, auto`,
	} {
		words, err := splitWords(flags)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkFlags(words); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("checkFlags(%s) = %v, want %q", flags, err, want)
		}
	}
}

// TestGoBuildFlagsTable checks goBuildFlags against the installed go: every flag `go help
// build` lists is there, a flag shown with a value ("-p n") as one that takes a value, a
// flag shown alone ("-race") as a boolean one.
func TestGoBuildFlagsTable(t *testing.T) {
	out, err := exec.Command("go", "help", "build").CombinedOutput()
	if err != nil {
		t.Fatalf("go help build: %v\n%s", err, out)
	}
	listed := regexp.MustCompile(`(?m)^\t-([A-Za-z0-9-]+)( \S.*)?$`).FindAllStringSubmatch(string(out), -1)
	if len(listed) < 30 {
		t.Fatalf("go help build lists %d flags, want 30 or more:\n%s", len(listed), out)
	}
	for _, m := range listed {
		name, takesValue := m[1], m[2] != ""
		got, ok := goBuildFlags[name]
		switch {
		case !ok:
			t.Errorf("go help build lists -%s, goBuildFlags lacks it", name)
		case got != takesValue:
			t.Errorf("goBuildFlags[%q] = %v, go help build shows %q", name, got, m[0])
		}
	}
}

// TestLoadConfigFlagsGoRefuses checks that XGO_FLAGS go build would refuse after the
// release's own flags fail the configuration, each in one line.
func TestLoadConfigFlagsGoRefuses(t *testing.T) {
	dir := appModule(t)
	for flags, want := range map[string]string{
		`-trimpath ./cmd/app`: `XGO_FLAGS="-trimpath ./cmd/app": "./cmd/app" is not a go build flag: XGO_FLAGS must hold flags only; name the package with XGO_MAIN`,
		`-C cmd`:              `XGO_FLAGS="-C cmd": must not set -C`,
	} {
		_, err := loadConfig(context.Background(), dir, envMap(map[string]string{"XGO_FLAGS": flags}))
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("XGO_FLAGS=%s: %v, want one line starting %q", flags, err, want)
		}
	}
}
