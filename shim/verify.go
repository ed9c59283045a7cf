package shim

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"debug/plan9obj"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Verify checks that the file at path is a Go binary built for p with cgo off: its build
// info must show p's GOOS, GOARCH, variant variable value and CGO_ENABLED=0, and its object
// header (ELF machine, class and byte order, PE machine, Mach-O cpu, wasm import module)
// must match the arch. The error names every expected and found value that differ.
func Verify(path string, p Platform) error {
	return verify(path, p, expectedSettings(p, nil))
}

// VerifyFor checks the file at path as Verify does, against the build settings a build for
// p records with the user's variables, read through getenv, as Vars applies them: a variant
// variable the user set (GOAMD64=v3 with linux/amd64) and a CGO_ENABLED the user set are
// expected as set.
func VerifyFor(path string, p Platform, getenv func(string) string) error {
	want, err := wantedSettings(p, getenv)
	if err != nil {
		return err
	}
	return verify(path, p, want)
}

// wantedSettings returns the build settings a build for p records when the user's variables
// are those getenv reads.
func wantedSettings(p Platform, getenv func(string) string) (map[string]string, error) {
	vars, err := Vars(p, getenv)
	if err != nil {
		return nil, err
	}
	want := expectedSettings(p, vars)
	if cgo := getenv("CGO_ENABLED"); cgo != "" {
		want["CGO_ENABLED"] = cgo
	}
	return want, nil
}

// expectedSettings returns the build settings a binary for p must record: GOOS, GOARCH,
// the variant variable and CGO_ENABLED, taken from vars ("KEY=value", as Vars returns
// them) where present, else p's defaults and CGO_ENABLED=0.
func expectedSettings(p Platform, vars []string) map[string]string {
	want := map[string]string{"GOOS": p.OS, "GOARCH": p.Arch, "CGO_ENABLED": "0"}
	if k := p.VariantVar(); k != "" {
		want[k] = p.VariantValue()
	}
	for _, kv := range vars {
		if k, v, ok := strings.Cut(kv, "="); ok {
			want[k] = v
		}
	}
	return want
}

// settingOrder is the order in which build-setting mismatches are reported.
var settingOrder = []string{"GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "CGO_ENABLED"}

// verify checks path against p and the wanted build settings.
func verify(path string, p Platform, want map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verifying %q: %w", path, err)
	}
	defer f.Close()
	problems, err := checkFile(f, p, want)
	if err != nil {
		return fmt.Errorf("verifying %q: %w", path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("verifying %q for %s: %s", path, p, strings.Join(problems, "; "))
	}
	return nil
}

// checkFile returns the differences between the binary in r and the target: its object
// format first, then, for wasm, its import modules, else its build settings and header.
func checkFile(r io.ReaderAt, p Platform, want map[string]string) ([]string, error) {
	format, err := sniffFormat(r)
	if err != nil {
		return nil, err
	}
	if want := objectFormat(p.OS); format != want {
		return []string{fmt.Sprintf("object format: expected %s, found %s", want, format)}, nil
	}
	if format == "wasm" {
		// go1.26's debug/buildinfo cannot read wasm modules: the module's imports tell
		// js (gojs) from wasip1 (wasi_snapshot_preview1).
		return checkWasm(r, p)
	}
	problems, err := checkBuildInfo(r, want)
	if err != nil && format == "Plan 9" {
		// go1.26's debug/buildinfo cannot read 32-bit Plan 9 binaries (plan9/386,
		// plan9/arm): only their header can be checked.
		problems, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	more, err := checkHeader(r, p, format)
	return append(problems, more...), err
}

// checkBuildInfo compares the build settings recorded in the binary with want.
func checkBuildInfo(r io.ReaderAt, want map[string]string) ([]string, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil, fmt.Errorf("reading Go build info: %w", err)
	}
	found := map[string]string{}
	for _, s := range bi.Settings {
		found[s.Key] = s.Value
	}
	var problems []string
	for _, k := range settingOrder {
		w, ok := want[k]
		if !ok {
			continue
		}
		got, ok := found[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: expected %s, found none", k, w))
		case got != w:
			problems = append(problems, fmt.Sprintf("%s: expected %s, found %s", k, w, got))
		}
	}
	return problems, nil
}

// objectFormat returns the object file format Go writes for goos.
func objectFormat(goos string) string {
	switch goos {
	case "windows":
		return "PE"
	case "darwin", "ios":
		return "Mach-O"
	case "plan9":
		return "Plan 9"
	case "aix":
		return "XCOFF"
	case "js", "wasip1":
		return "wasm"
	}
	return "ELF"
}

// sniffFormat names the object format of the file from its first bytes.
func sniffFormat(r io.ReaderAt) (string, error) {
	var b [4]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return "", fmt.Errorf("reading the header: %w", err)
	}
	be, le := binary.BigEndian.Uint32(b[:]), binary.LittleEndian.Uint32(b[:])
	switch {
	case string(b[:]) == elf.ELFMAG:
		return "ELF", nil
	case string(b[:2]) == "MZ":
		return "PE", nil
	case le == macho.Magic32 || le == macho.Magic64 || be == macho.Magic32 || be == macho.Magic64 || be == macho.MagicFat:
		return "Mach-O", nil
	case string(b[:]) == "\x00asm":
		return "wasm", nil
	case be == plan9obj.Magic386 || be == plan9obj.MagicAMD64 || be == plan9obj.MagicARM:
		return "Plan 9", nil
	case b[0] == 0x01 && (b[1] == 0xdf || b[1] == 0xf7):
		return "XCOFF", nil
	}
	return "", fmt.Errorf("unknown object format (first bytes %x)", b)
}

// elfArch is what an ELF header says for a GOARCH.
type elfArch struct {
	arch    string
	machine elf.Machine
	class   elf.Class
	data    elf.Data
}

// elfArches are the ELF headers of the GOARCH values.
var elfArches = [...]elfArch{
	{"386", elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB},
	{"amd64", elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	{"arm", elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB},
	{"arm64", elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	{"loong64", elf.EM_LOONGARCH, elf.ELFCLASS64, elf.ELFDATA2LSB},
	{"mips", elf.EM_MIPS, elf.ELFCLASS32, elf.ELFDATA2MSB},
	{"mipsle", elf.EM_MIPS, elf.ELFCLASS32, elf.ELFDATA2LSB},
	{"mips64", elf.EM_MIPS, elf.ELFCLASS64, elf.ELFDATA2MSB},
	{"mips64le", elf.EM_MIPS, elf.ELFCLASS64, elf.ELFDATA2LSB},
	{"ppc64", elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2MSB},
	{"ppc64le", elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	{"riscv64", elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB},
	{"s390x", elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB},
}

// elfArchOf returns the ELF header of arch, and whether it has one.
func elfArchOf(arch string) (elfArch, bool) {
	i := slices.IndexFunc(elfArches[:], func(e elfArch) bool { return e.arch == arch })
	if i < 0 {
		return elfArch{}, false
	}
	return elfArches[i], true
}

// peMachine is the PE machine of a Windows binary for a GOARCH, and its name.
type peMachine struct {
	arch    string
	machine uint16
	name    string
}

// peMachines are the PE machines of the Windows GOARCH values.
var peMachines = [...]peMachine{
	{"386", pe.IMAGE_FILE_MACHINE_I386, "IMAGE_FILE_MACHINE_I386"},
	{"amd64", pe.IMAGE_FILE_MACHINE_AMD64, "IMAGE_FILE_MACHINE_AMD64"},
	{"arm", pe.IMAGE_FILE_MACHINE_ARMNT, "IMAGE_FILE_MACHINE_ARMNT"},
	{"arm64", pe.IMAGE_FILE_MACHINE_ARM64, "IMAGE_FILE_MACHINE_ARM64"},
}

// peMachineOf returns the PE machine of a Windows binary for arch, and whether it has one.
func peMachineOf(arch string) (uint16, bool) {
	i := slices.IndexFunc(peMachines[:], func(m peMachine) bool { return m.arch == arch })
	if i < 0 {
		return 0, false
	}
	return peMachines[i].machine, true
}

// machoCPU returns the Mach-O cpu of a darwin or ios binary for arch, and whether it has one.
func machoCPU(arch string) (macho.Cpu, bool) {
	switch arch {
	case "amd64":
		return macho.CpuAmd64, true
	case "arm64":
		return macho.CpuArm64, true
	}
	return 0, false
}

// plan9Magic returns the magic of a Plan 9 binary for arch, and whether it has one.
func plan9Magic(arch string) (uint32, bool) {
	switch arch {
	case "386":
		return plan9obj.Magic386, true
	case "amd64":
		return plan9obj.MagicAMD64, true
	case "arm":
		return plan9obj.MagicARM, true
	}
	return 0, false
}

// checkHeader compares the object header of the file, in format, with what p's GOARCH needs.
func checkHeader(r io.ReaderAt, p Platform, format string) ([]string, error) {
	var problems []string
	mismatch := func(what string, want, got any) {
		if want != got {
			problems = append(problems, fmt.Sprintf("%s: expected %v, found %v", what, want, got))
		}
	}
	switch format {
	case "ELF":
		f, err := elf.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("reading the ELF header: %w", err)
		}
		if want, ok := elfArchOf(p.Arch); ok {
			mismatch("ELF machine", want.machine, f.Machine)
			mismatch("ELF class", want.class, f.Class)
			mismatch("ELF data", want.data, f.Data)
		}
	case "PE":
		f, err := pe.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("reading the PE header: %w", err)
		}
		if want, ok := peMachineOf(p.Arch); ok {
			mismatch("PE machine", peMachineName(want), peMachineName(f.Machine))
		}
	case "Mach-O":
		f, err := macho.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("reading the Mach-O header: %w", err)
		}
		if want, ok := machoCPU(p.Arch); ok {
			mismatch("Mach-O cpu", want, f.Cpu)
		}
	case "Plan 9":
		f, err := plan9obj.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("reading the Plan 9 header: %w", err)
		}
		if want, ok := plan9Magic(p.Arch); ok {
			mismatch("Plan 9 magic", fmt.Sprintf("%#x", want), fmt.Sprintf("%#x", f.Magic))
		}
	}
	return problems, nil
}

// peMachineName names a PE machine, or gives its number.
func peMachineName(m uint16) string {
	if i := slices.IndexFunc(peMachines[:], func(pm peMachine) bool { return pm.machine == m }); i >= 0 {
		return peMachines[i].name
	}
	return fmt.Sprintf("%#x", m)
}

// wasmImportModule returns the import module of the host interface of a wasm GOOS.
func wasmImportModule(goos string) string {
	switch goos {
	case "wasip1":
		return "wasi_snapshot_preview1"
	case "js":
		return "gojs"
	}
	return ""
}

// checkWasm checks that r is a wasm module whose imports come from p's host interface.
func checkWasm(r io.ReaderAt, p Platform) ([]string, error) {
	modules, err := wasmImports(io.NewSectionReader(r, 0, 1<<62))
	if err != nil {
		return nil, fmt.Errorf("reading the wasm imports: %w", err)
	}
	want := wasmImportModule(p.OS)
	for _, m := range modules {
		if m == want {
			return nil, nil
		}
	}
	found := "none"
	if len(modules) > 0 {
		found = strings.Join(modules, ", ")
	}
	return []string{fmt.Sprintf("wasm import module: expected %s, found %s", want, found)}, nil
}

// errWasmFormat reports a malformed wasm module.
var errWasmFormat = errors.New("malformed wasm module")

// wasmImports returns the distinct module names of the import section of a wasm module.
func wasmImports(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var head [8]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, err
	}
	if !bytes.Equal(head[:], []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, fmt.Errorf("%w: header %x, want 0061736d01000000", errWasmFormat, head)
	}
	for {
		id, err := br.ReadByte()
		if err == io.EOF {
			return nil, nil // no import section
		}
		if err != nil {
			return nil, err
		}
		size, err := readULEB(br)
		if err != nil {
			return nil, err
		}
		if id != 2 {
			if _, err := io.CopyN(io.Discard, br, int64(size)); err != nil {
				return nil, fmt.Errorf("%w: section %d: %w", errWasmFormat, id, err)
			}
			continue
		}
		return readImportSection(bufio.NewReader(io.LimitReader(br, int64(size))))
	}
}

// readImportSection reads the entries of a wasm import section and returns their modules.
func readImportSection(br *bufio.Reader) ([]string, error) {
	n, err := readULEB(br)
	if err != nil {
		return nil, err
	}
	var modules []string
	seen := map[string]bool{}
	for i := uint64(0); i < n; i++ {
		module, err := readName(br)
		if err != nil {
			return nil, err
		}
		if _, err := readName(br); err != nil {
			return nil, err
		}
		if err := skipImportDesc(br); err != nil {
			return nil, err
		}
		if !seen[module] {
			seen[module] = true
			modules = append(modules, module)
		}
	}
	return modules, nil
}

// skipImportDesc skips the description of one import: function, table, memory, global or tag.
func skipImportDesc(br *bufio.Reader) error {
	kind, err := br.ReadByte()
	if err != nil {
		return err
	}
	switch kind {
	case 0x00: // function: type index
		_, err = readULEB(br)
	case 0x01: // table: reference type, limits
		if _, err = br.ReadByte(); err == nil {
			err = skipLimits(br)
		}
	case 0x02: // memory: limits
		err = skipLimits(br)
	case 0x03: // global: value type, mutability
		if _, err = br.ReadByte(); err == nil {
			_, err = br.ReadByte()
		}
	case 0x04: // tag: attribute, type index
		if _, err = br.ReadByte(); err == nil {
			_, err = readULEB(br)
		}
	default:
		return fmt.Errorf("%w: import kind %#x", errWasmFormat, kind)
	}
	return err
}

// skipLimits skips a wasm limits value: a flags byte, the minimum and, if flagged, the maximum.
func skipLimits(br *bufio.Reader) error {
	flags, err := br.ReadByte()
	if err != nil {
		return err
	}
	if _, err := readULEB(br); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = readULEB(br)
	}
	return err
}

// readName reads a wasm name: a length, then that many bytes of UTF-8.
func readName(br *bufio.Reader) (string, error) {
	n, err := readULEB(br)
	if err != nil {
		return "", err
	}
	if n > 1<<16 {
		return "", fmt.Errorf("%w: name of %d bytes", errWasmFormat, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// readULEB reads an unsigned LEB128 number of at most 64 bits.
func readULEB(br *bufio.Reader) (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: LEB128 number too long", errWasmFormat)
}

// verify runs --xgo-verify: every file is checked against the target and the variables
// the shim would set for it in this environment.
func (inv invocation) verify(flag string, files []string) int {
	p, ok, err := Target(flag, inv.getenv)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	if !ok {
		return inv.fail(exitShim, errors.New("--xgo-verify needs a target platform: pass --xgo-platform or set TARGETPLATFORM"))
	}
	if len(files) == 0 {
		return inv.fail(exitShim, errors.New("--xgo-verify needs at least one file"))
	}
	want, err := wantedSettings(p, inv.getenv)
	if err != nil {
		return inv.fail(exitShim, err)
	}
	code := exitOK
	for _, file := range files {
		if err := verify(file, p, want); err != nil {
			code = inv.fail(exitMismatch, err)
			continue
		}
		fmt.Fprintf(inv.stdout, "%s: ok %s%s\n", file, p, cgoNote(file, want))
	}
	return code
}

// cgoNote returns what --xgo-verify adds after a binary built with CGO_ENABLED=1:
// " (cgo, static)" or " (cgo, dynamic)" for an ELF file, by whether it has a PT_INTERP
// program header (the dynamic loader it needs), " (cgo)" for other formats; "" when cgo is
// off, so that those lines stay as they were.
func cgoNote(path string, want map[string]string) string {
	if want["CGO_ENABLED"] != "1" {
		return ""
	}
	f, err := elf.Open(path)
	if err != nil {
		return " (cgo)"
	}
	defer f.Close()
	if isDynamic(f) {
		return " (cgo, dynamic)"
	}
	return " (cgo, static)"
}

// Dynamic reports whether the file at path is an ELF binary that asks for a dynamic loader
// (a PT_INTERP program header), as a cgo build linked against a shared C library does; a file
// in another format is reported as not dynamic.
func Dynamic(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil && err != io.EOF {
		return false, err
	} else if err != nil || string(magic[:]) != elf.ELFMAG {
		return false, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return isDynamic(ef), nil
}

// isDynamic reports whether the ELF file asks for a dynamic loader (a PT_INTERP header).
func isDynamic(f *elf.File) bool {
	return slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
}
