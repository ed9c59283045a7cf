// Command app is the program of a sample user project that the release tests build with the
// mage targets: it prints the platform it was built for, variant variable included.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func main() {
	line := "hello from " + runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOARM", "GOAMD64", "GOARM64", "GO386", "GOPPC64", "GORISCV64":
				line += " " + s.Key + "=" + s.Value
			}
		}
	}
	fmt.Println(line)
}
