// Command xgo-build is a drop-in "go build" for Dockerfiles: it builds for the platform
// docker buildx asks for (TARGETPLATFORM) by cross-compiling natively. See package shim.
package main

import (
	"os"

	"github.com/xgo-build/xgo-build/shim"
)

func main() {
	os.Exit(shim.Main(os.Args, os.Environ(), os.Stdout, os.Stderr))
}
