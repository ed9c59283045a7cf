// Command gendoc writes, from the table of package vars, the README's configuration table and
// the release targets with their doc comments. `go generate ./magefiles/release` runs it in
// magefiles/release:
//
//	go run ./internal/gendoc -readme ../../README.md -targets targets.go
//
// A file that would not change is left alone.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/vars"
)

func main() {
	readme := flag.String("readme", "../../README.md", "the README `file` whose configuration table to rewrite")
	targets := flag.String("targets", "targets.go", "the Go `file` to write the targets to")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "gendoc: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if err := run(*readme, *targets); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}

// run rewrites the README's table and writes the targets file.
func run(readme, targets string) error {
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	doc, err := vars.README(old)
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	if err := write(readme, old, doc); err != nil {
		return err
	}
	src, err := vars.TargetsFile()
	if err != nil {
		return err
	}
	prev, err := os.ReadFile(targets)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return write(targets, prev, src)
}

// write writes data to name unless the file holds it already (old).
func write(name string, old, data []byte) error {
	if string(old) == string(data) {
		return nil
	}
	return os.WriteFile(name, data, 0o666)
}
