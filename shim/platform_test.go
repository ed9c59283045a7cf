package shim

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// readmeRow is one row of the README's platform table.
type readmeRow struct {
	input, canonical, goos, goarch, variable string
}

// readmeTable reads the platform table between its markers in the README: the documented
// mapping is the tested mapping.
func readmeTable(t *testing.T) []readmeRow {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	_, rest, ok := strings.Cut(text, "<!-- begin platform table -->")
	body, _, ok2 := strings.Cut(rest, "<!-- end platform table -->")
	if !ok || !ok2 {
		t.Fatal("README.md: platform table markers not found")
	}
	var rows []readmeRow
	for _, line := range strings.Split(strings.TrimSpace(body), "\n")[2:] {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 5 {
			t.Fatalf("README.md: malformed table row %q", line)
		}
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		rows = append(rows, readmeRow{
			input:     strings.ReplaceAll(cells[0], "␠", " "),
			canonical: cells[1], goos: cells[2], goarch: cells[3], variable: cells[4],
		})
	}
	return rows
}

func TestREADMETable(t *testing.T) {
	rows := readmeTable(t)
	covered := map[Platform]bool{}
	for _, r := range rows {
		p, err := Parse(r.input)
		if err != nil {
			t.Errorf("Parse(%q): %v", r.input, err)
			continue
		}
		covered[p] = true
		if p.String() != r.canonical || p.OS != r.goos || p.Arch != r.goarch {
			t.Errorf("Parse(%q) = %s (%s, %s), README says %s (%s, %s)", r.input, p, p.OS, p.Arch, r.canonical, r.goos, r.goarch)
		}
		vars, err := Vars(p, func(string) string { return "" })
		if err != nil {
			t.Errorf("Vars(%s): %v", p, err)
			continue
		}
		want := []string{"GOOS=" + r.goos, "GOARCH=" + r.goarch}
		if r.variable != "—" {
			want = append(want, r.variable)
		}
		want = append(want, "CGO_ENABLED=0")
		if !slices.Equal(vars, want) {
			t.Errorf("Vars(%s) = %q, README says %q", p, vars, want)
		}
	}
	// Every variant of every arch is documented, on linux at least.
	for _, p := range Platforms() {
		if p.OS == "linux" && !covered[p] {
			t.Errorf("README platform table lacks %s", p)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "must be os/arch or os/arch/variant"},
		{"linux", "must be os/arch or os/arch/variant"},
		{"linux/arm/v7/extra", "must be os/arch or os/arch/variant"},
		{"/arm64", "empty os"},
		{"linux/", "empty arch"},
		{"linux/arm/", "empty variant"},
		{"linux//v7", "empty arch"},
		{"linux/ arm", "space inside the platform"},
		{"lnux/amd64", `unknown os "lnux": must be aix, android, darwin, dragonfly, freebsd, illumos, ios, js, linux, netbsd, openbsd, plan9, solaris, wasip1 or windows`},
		{"linux/arm65", `unknown arch "arm65": must be 386, amd64, arm, arm64, loong64, mips, mips64, mips64le, mipsle, ppc64, ppc64le, riscv64, s390x or wasm`},
		{"windows/s390x", "windows/s390x is not a Go port; windows supports 386, amd64 or arm64"},
		{"linux/wasm", "linux/wasm is not a Go port"},
		{"linux/amd64/v5", "amd64 variant must be v1, v2, v3 or v4"},
		{"linux/arm/v9", "arm variant must be v5, v6, v7 or v8"},
		{"linux/arm/8", "arm variant must be v5, v6, v7 or v8"},
		{"linux/arm64/v9.6", "arm64 variant must be v8, v8.0, v8.1, v8.2, v8.3, v8.4, v8.5, v8.6, v8.7, v8.8, v8.9, v9, v9.0, v9.1, v9.2, v9.3, v9.4 or v9.5"},
		{"linux/arm64/v7", "arm64 variant must be"},
		{"linux/386/sse", "386 variant must be sse2 or softfloat"},
		{"linux/mips/soft", "mips variant must be hardfloat or softfloat"},
		{"linux/mips64le/v2", "mips64le variant must be hardfloat or softfloat"},
		{"linux/ppc64le/power7", "ppc64le variant must be power8, power9 or power10"},
		{"linux/riscv64/rva24u64", "riscv64 variant must be rva20u64, rva22u64 or rva23u64"},
		{"linux/s390x/v1", "s390x has no variants"},
		{"wasip1/wasm/v1", "wasm has no variants"},
		{"linux/armhf/v6", "armhf means arm/v7 but the variant is v6"},
		{"linux/armel/v7", "armel means arm/v6 but the variant is v7"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, %v; want a *ParseError", tt.in, p, err)
			continue
		}
		if p != (Platform{}) {
			t.Errorf("Parse(%q) returned %v with an error", tt.in, p)
		}
		if !strings.HasPrefix(pe.Reason, tt.reason) {
			t.Errorf("Parse(%q) reason = %q, want prefix %q", tt.in, pe.Reason, tt.reason)
		}
		if want := `invalid platform "` + tt.in + `": ` + pe.Reason; err.Error() != want {
			t.Errorf("Parse(%q) error = %q, want %q", tt.in, err, want)
		}
	}
}

func TestParseArmAliasWithMatchingVariant(t *testing.T) {
	for in, want := range map[string]string{"linux/armhf/v7": "linux/arm/v7", "linux/armhf/7": "linux/arm/v7", "linux/armel/v6": "linux/arm/v6"} {
		p, err := Parse(in)
		if err != nil || p.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	all := Platforms()
	if len(all) < 60 {
		t.Fatalf("Platforms() has %d entries, want every port and variant", len(all))
	}
	for _, p := range all {
		q, err := Parse(p.String())
		if err != nil || q != p {
			t.Errorf("Parse(%q) = %v, %v; want %v", p.String(), q, err, p)
		}
		if q, err := Parse(strings.ToUpper(" " + p.String() + "\t")); err != nil || q != p {
			t.Errorf("Parse(upper-case %q) = %v, %v", p.String(), q, err)
		}
		if (p.VariantVar() == "") != (p.VariantValue() == "") {
			t.Errorf("%s: variable %q with value %q", p, p.VariantVar(), p.VariantValue())
		}
	}
	if !slices.IsSortedFunc(all, func(a, b Platform) int {
		if a.less(b) {
			return -1
		}
		return 0
	}) {
		t.Error("Platforms() is not sorted")
	}
}

// TestPortsMatchToolchain checks the built-in port table against `go tool dist list` of the
// toolchain the tests run with, so a Go release that adds or drops a port is noticed.
func TestPortsMatchToolchain(t *testing.T) {
	out, err := exec.Command("go", "tool", "dist", "list").Output()
	if err != nil {
		t.Skipf("go tool dist list: %v", err)
	}
	var want []string
	for _, p := range portTable {
		for _, arch := range p.arches {
			want = append(want, p.os+"/"+arch)
		}
	}
	slices.Sort(want)
	got := strings.Fields(string(out))
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("go tool dist list = %v\nport table       = %v", got, want)
	}
}

func FuzzParsePlatform(f *testing.F) {
	for _, s := range []string{"linux/arm64", "linux/arm/v7", " Linux/X86_64/V3 ", "linux/armhf/v6", "a/b/c/d", "//", "wasi/wasm", "linux/arm64/v9.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if p != (Platform{}) {
				t.Fatalf("Parse(%q) = %v with error %v", s, p, err)
			}
			return
		}
		q, err := Parse(p.String())
		if err != nil || q != p {
			t.Fatalf("Parse(%q) = %v, but Parse(%q) = %v, %v", s, p, p.String(), q, err)
		}
		if _, err := Vars(p, func(string) string { return "" }); err != nil {
			t.Fatalf("Vars(%v): %v", p, err)
		}
	})
}
