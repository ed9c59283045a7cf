// Command app is the program the README's example Dockerfile builds in the engine tests: it
// prints the platform it was built for, read from its own build info (so linux/arm/v7 says its
// GOARM), and a number formatted by its one dependency, go-humanize, which the Dockerfile's
// `go mod download` fetches from the Go module proxy.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/dustin/go-humanize"
)

func main() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(os.Stderr, "app: no build info")
		os.Exit(1)
	}
	s := map[string]string{}
	for _, kv := range info.Settings {
		s[kv.Key] = kv.Value
	}
	platform := s["GOOS"] + "/" + s["GOARCH"]
	if s["GOARCH"] == "arm" {
		platform += "/v" + s["GOARM"]
	}
	fmt.Printf("hello from %s, %s\n", platform, humanize.Comma(1234567))
}
