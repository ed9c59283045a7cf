package attest

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BinaryInfo is what a built binary says of itself.
type BinaryInfo struct {
	Build  *debug.BuildInfo // as go stamped it: Go version, main package and module, deps, settings
	Digest v1.Hash          // sha256 of the file
	Size   int64
}

// ReadBinary reads the build information of the Go binary at path (as `go version -m` shows
// it; for a wasm module, which debug/buildinfo cannot read, from its data segments and its
// producers section) and its sha256 digest.
func ReadBinary(path string) (BinaryInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return BinaryInfo{}, fmt.Errorf("reading the binary: %w", err)
	}
	defer f.Close()
	h, n, err := v1.SHA256(f)
	if err != nil {
		return BinaryInfo{}, fmt.Errorf("reading the binary %s: %w", path, err)
	}
	head := make([]byte, len(wasmMagic))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return BinaryInfo{}, fmt.Errorf("reading the binary %s: %w", path, err)
	}
	var bi *debug.BuildInfo
	if bytes.Equal(head, wasmMagic) {
		var module []byte
		if module, err = io.ReadAll(io.NewSectionReader(f, 0, n)); err == nil {
			bi, err = wasmBuildInfo(module)
		}
	} else {
		bi, err = buildinfo.Read(f)
	}
	if err != nil {
		return BinaryInfo{}, fmt.Errorf("reading the build information of %s: %w", path, err)
	}
	return BinaryInfo{Build: bi, Digest: h, Size: n}, nil
}

// wasmMagic begins every wasm module.
var wasmMagic = []byte("\x00asm\x01\x00\x00\x00")

// The module information go stamps into a binary is framed by these sentinels (see
// cmd/go/internal/modload), in the binary's data.
var (
	infoStart = []byte("0w\xaf\x0c\x92t\b\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6")
	infoEnd   = []byte("\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2")
)

// wasmBuildInfo reads the build information of a wasm module built by go, which has no build
// information blob for debug/buildinfo to find (the wasm linker leaves out the section that
// holds it): the module information is the framed string in its data segments that the runtime
// reads, and the Go version the one its producers section names for the language Go.
func wasmBuildInfo(module []byte) (*debug.BuildInfo, error) {
	segments, version, err := readWasm(module)
	if err != nil {
		return nil, err
	}
	if version == "" {
		return nil, errors.New("a wasm module whose producers section names no Go version")
	}
	for _, data := range segments {
		i := bytes.Index(data, infoStart)
		if i < 0 {
			continue
		}
		rest := data[i+len(infoStart):]
		j := bytes.Index(rest, infoEnd)
		if j < 0 || j == 0 || rest[j-1] != '\n' {
			continue
		}
		bi, err := debug.ParseBuildInfo(string(rest[:j]))
		if err != nil {
			return nil, err
		}
		bi.GoVersion = version
		return bi, nil
	}
	return nil, errors.New("a wasm module without Go module information")
}

// readWasm returns the data of the data segments of a wasm module and the version of the
// language Go in its producers section ("" when it names none).
func readWasm(module []byte) (segments [][]byte, goVersion string, err error) {
	r := &wasmReader{b: module[len(wasmMagic):]}
	for r.err == nil && len(r.b) > 0 {
		id := r.byte()
		s := &wasmReader{b: r.bytes(r.uleb())}
		switch id {
		case 0: // custom
			if string(s.name()) == "producers" {
				goVersion = s.producer("language", "Go")
			}
		case 11: // data
			for n := s.uleb(); n > 0 && s.err == nil; n-- {
				switch flags := s.uleb(); flags {
				case 0: // active, memory 0
					s.offset()
				case 1: // passive
				case 2: // active, memory index
					s.uleb()
					s.offset()
				default:
					s.err = fmt.Errorf("data segment flags %d", flags)
				}
				if data := s.bytes(s.uleb()); s.err == nil {
					segments = append(segments, data)
				}
			}
			if s.err != nil {
				return nil, "", fmt.Errorf("reading the wasm data section: %w", s.err)
			}
		}
	}
	if r.err != nil {
		return nil, "", fmt.Errorf("reading the wasm module: %w", r.err)
	}
	return segments, goVersion, nil
}

// wasmReader reads the LEB128 encoding of wasm; the first error stops it.
type wasmReader struct {
	b   []byte
	err error
}

func (r *wasmReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wasmReader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *wasmReader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail()
	return 0
}

// name reads a wasm name: a length and that many bytes.
func (r *wasmReader) name() []byte { return r.bytes(r.uleb()) }

// offset skips a data segment's offset expression, i32.const N end.
func (r *wasmReader) offset() {
	if r.byte() != 0x41 { // i32.const
		r.fail()
		return
	}
	// N is a signed LEB128: its bytes end as an unsigned one's do.
	r.uleb()
	if r.byte() != 0x0b { // end
		r.fail()
	}
}

// producer reads the fields of a producers section and returns the version of the value
// named value of the field named field, "" when there is none.
func (r *wasmReader) producer(field, value string) string {
	version := ""
	for n := r.uleb(); n > 0 && r.err == nil; n-- {
		f := string(r.name())
		for m := r.uleb(); m > 0 && r.err == nil; m-- {
			v, ver := string(r.name()), string(r.name())
			if f == field && v == value && r.err == nil {
				version = ver
			}
		}
	}
	return version
}

func (r *wasmReader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated or malformed")
	}
}
