package shim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mustParse parses a platform the test relies on.
func mustParse(t testing.TB, s string) Platform {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyRealBinaries(t *testing.T) {
	skipShort(t, "cross-builds the sample program")
	tests := []struct {
		build    string
		mismatch map[string][]string // platform to verify against -> parts of the error
	}{
		{"linux/arm/v6", map[string][]string{
			"linux/arm/v7":  {"GOARM: expected 7, found 6"},
			"linux/arm64":   {"GOARCH: expected arm64, found arm", "GOARM64: expected v8.0, found none", "ELF machine: expected EM_AARCH64, found EM_ARM", "ELF class: expected ELFCLASS64, found ELFCLASS32"},
			"darwin/arm64":  {"object format: expected Mach-O, found ELF"},
			"windows/arm64": {"object format: expected PE, found ELF"},
			"wasip1/wasm":   {"object format: expected wasm, found ELF"},
		}},
		{"linux/amd64/v3", map[string][]string{
			"linux/amd64":      {"GOAMD64: expected v1, found v3"},
			"linux/amd64/v4":   {"GOAMD64: expected v4, found v3"},
			"freebsd/amd64/v3": {"GOOS: expected freebsd, found linux"},
		}},
		{"linux/ppc64le", map[string][]string{
			"linux/ppc64": {"GOARCH: expected ppc64, found ppc64le", "ELF data: expected ELFDATA2MSB, found ELFDATA2LSB"},
		}},
		{"linux/s390x", map[string][]string{
			"linux/ppc64": {"ELF machine: expected EM_PPC64, found EM_S390"},
		}},
		{"linux/riscv64/rva22u64", map[string][]string{
			"linux/riscv64": {"GORISCV64: expected rva20u64, found rva22u64"},
		}},
		{"windows/arm64", map[string][]string{
			"windows/amd64": {"GOARCH: expected amd64, found arm64", "PE machine: expected IMAGE_FILE_MACHINE_AMD64, found IMAGE_FILE_MACHINE_ARM64"},
			"linux/arm64":   {"object format: expected ELF, found PE"},
		}},
		{"darwin/arm64", map[string][]string{
			"darwin/amd64": {"GOARCH: expected amd64, found arm64", "Mach-O cpu: expected CpuAmd64, found CpuArm64"},
			"ios/arm64":    {"GOOS: expected ios, found darwin"},
		}},
		{"plan9/arm/v7", map[string][]string{ // build info unreadable: the header decides
			"plan9/386": {"Plan 9 magic: expected 0x1eb, found 0x647"},
		}},
		{"aix/ppc64", map[string][]string{
			"linux/ppc64": {"object format: expected ELF, found XCOFF"},
		}},
		{"wasip1/wasm", map[string][]string{
			"js/wasm":     {"wasm import module: expected gojs, found wasi_snapshot_preview1"},
			"linux/amd64": {"object format: expected ELF, found wasm"},
		}},
		{"js/wasm", map[string][]string{
			"wasip1/wasm": {"wasm import module: expected wasi_snapshot_preview1, found gojs"},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.build, "/", "_"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), strings.ReplaceAll(tt.build, "/", "-"))
			mustDo(t, os.Mkdir(dir, 0o755))
			bin := buildHello(t, tt.build, dir)
			if err := Verify(bin, mustParse(t, tt.build)); err != nil {
				t.Errorf("Verify(%s) = %v, want nil", tt.build, err)
			}
			for target, parts := range tt.mismatch {
				err := Verify(bin, mustParse(t, target))
				if err == nil {
					t.Errorf("Verify(%s binary, %s) = nil, want a mismatch", tt.build, target)
					continue
				}
				msg := err.Error()
				if strings.Contains(msg, "\n") {
					t.Errorf("error spans lines: %q", msg)
				}
				for _, part := range parts {
					if !strings.Contains(msg, part) {
						t.Errorf("Verify(%s binary, %s) = %q, want it to contain %q", tt.build, target, msg, part)
					}
				}
			}
		})
	}
}

func TestVerifyNotABinary(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	mustDo(t, os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755))
	short := filepath.Join(dir, "short")
	mustDo(t, os.WriteFile(short, []byte("MZ"), 0o644))
	cases := map[string]string{
		text:                         `verifying "` + text + `": unknown object format`,
		short:                        `verifying "` + short + `": reading the header`,
		filepath.Join(dir, "absent"): "no such file",
	}
	for path, want := range cases {
		err := Verify(path, mustParse(t, "linux/amd64"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Verify(%q) = %v, want an error containing %q", path, err, want)
		}
	}
}

func TestExpectedSettings(t *testing.T) {
	p := mustParse(t, "linux/arm64/v8.2")
	want := map[string]string{"GOOS": "linux", "GOARCH": "arm64", "GOARM64": "v8.2", "CGO_ENABLED": "0"}
	if got := expectedSettings(p, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("expectedSettings(%s, nil) = %v, want %v", p, got, want)
	}
	p = mustParse(t, "linux/amd64")
	got := expectedSettings(p, []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3"})
	if got["GOAMD64"] != "v3" || got["CGO_ENABLED"] != "0" {
		t.Errorf("expectedSettings with vars = %v, want GOAMD64=v3 and CGO_ENABLED=0", got)
	}
	if got := expectedSettings(mustParse(t, "linux/s390x"), nil); len(got) != 3 {
		t.Errorf("expectedSettings(linux/s390x) = %v, want GOOS, GOARCH, CGO_ENABLED only", got)
	}
}

// wasmModule assembles a wasm module from sections (id, payload).
func wasmModule(sections ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

// section encodes one wasm section.
func section(id byte, payload []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(payload)))...), payload...)
}

// uleb encodes n as unsigned LEB128.
func uleb(n uint64) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// wasmName encodes a wasm name.
func wasmName(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func TestWasmImports(t *testing.T) {
	types := section(1, []byte{1, 0x60, 0, 0}) // one func type () -> ()
	var imports []byte
	imports = append(imports, uleb(5)...)
	imports = append(append(append(imports, wasmName("env")...), wasmName("f")...), 0x00, 0x00)                // func 0
	imports = append(append(append(imports, wasmName("gojs")...), wasmName("t")...), 0x01, 0x70, 0x01, 1, 100) // table funcref, min 1 max 100
	imports = append(append(append(imports, wasmName("gojs")...), wasmName("m")...), 0x02, 0x00, 0x80, 0x02)   // memory, min 256
	imports = append(append(append(imports, wasmName("wasi_snapshot_preview1")...), wasmName("g")...), 0x03, 0x7f, 0x01)
	imports = append(append(append(imports, wasmName("env")...), wasmName("e")...), 0x04, 0x00, 0x00) // tag
	custom := section(0, append(wasmName("name"), 1, 2, 3))
	tests := []struct {
		name    string
		module  []byte
		want    []string
		wantErr error
	}{
		{"imports after other sections", wasmModule(custom, types, section(2, imports), section(3, []byte{0})), []string{"env", "gojs", "wasi_snapshot_preview1"}, nil},
		{"no import section", wasmModule(types), nil, nil},
		{"empty module", wasmModule(), nil, nil},
		{"bad magic", []byte("\x00asn\x01\x00\x00\x00"), nil, errWasmFormat},
		{"bad version", []byte("\x00asm\x02\x00\x00\x00"), nil, errWasmFormat},
		{"bad import kind", wasmModule(section(2, append(append(append(uleb(1), wasmName("a")...), wasmName("b")...), 0x09))), nil, errWasmFormat},
		{"section longer than the file", append(wasmModule(), 1, 50, 0), nil, nil},
		{"truncated import", wasmModule(section(2, append(uleb(2), wasmName("a")...))), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wasmImports(bytes.NewReader(tt.module))
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("wasmImports = %q, %v; want %v", got, err, tt.wantErr)
				}
			case strings.HasPrefix(tt.name, "section longer") || strings.HasPrefix(tt.name, "truncated"):
				if err == nil {
					t.Fatalf("wasmImports = %q, nil; want an error", got)
				}
			case err != nil || !reflect.DeepEqual(got, tt.want):
				t.Fatalf("wasmImports = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzWasmImports(f *testing.F) {
	f.Add(wasmModule(section(2, append(append(append(uleb(1), wasmName("gojs")...), wasmName("x")...), 0, 0))))
	f.Add(wasmModule())
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x02\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		modules, err := wasmImports(bytes.NewReader(b))
		if err != nil && modules != nil {
			t.Errorf("wasmImports returned modules %q with error %v", modules, err)
		}
	})
}

func TestSniffFormat(t *testing.T) {
	for head, want := range map[string]string{
		"\x7fELF\x02":          "ELF",
		"MZ\x90\x00":           "PE",
		"\xcf\xfa\xed\xfe":     "Mach-O",
		"\xfe\xed\xfa\xce":     "Mach-O",
		"\xca\xfe\xba\xbe":     "Mach-O",
		"\x00asm\x01":          "wasm",
		"\x00\x00\x8a\x97":     "Plan 9",
		"\x01\xf7\x00\x04":     "XCOFF",
		"\x00\x00\x00\x00\x00": "",
	} {
		got, err := sniffFormat(bytes.NewReader([]byte(head)))
		if got != want || (want == "") != (err != nil) {
			t.Errorf("sniffFormat(%q) = %q, %v; want %q", head, got, err, want)
		}
	}
}

// TestVerifyFor builds for linux/amd64 with the user's GOAMD64=v3, and with CGO_ENABLED=1,
// as the shim keeps them: VerifyFor with those variables accepts each binary, and still
// refuses it for the variables another build would have used.
func TestVerifyFor(t *testing.T) {
	skipShort(t, "builds the sample program")
	for _, tt := range []struct {
		env  []string // the user's variables
		want string   // what Verify, which knows none of them, reports
	}{
		{[]string{"GOAMD64=v3"}, "GOAMD64: expected v1, found v3"},
		{[]string{"CGO_ENABLED=1"}, "CGO_ENABLED: expected 0, found 1"},
	} {
		t.Run(strings.Join(tt.env, " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "hello")
			code, stdout, stderr := shimBuild(t, helloDir(t), tt.env, "--xgo-platform=linux/amd64", "-o", out, ".")
			if code != 0 {
				t.Fatalf("xgo-build with %q: exit %d\n%s%s", tt.env, code, stdout, stderr)
			}
			p := mustParse(t, "linux/amd64")
			environ := withEnv(os.Environ(), tt.env)
			if err := VerifyFor(out, p, getenvFrom(environ)); err != nil {
				t.Errorf("VerifyFor with %q: %v", tt.env, err)
			}
			if err := Verify(out, p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify without %q: %v, want %q", tt.env, err, tt.want)
			}
			if err := VerifyFor(out, p, getenvFrom(os.Environ())); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerifyFor without %q: %v, want %q", tt.env, err, tt.want)
			}
		})
	}
}
