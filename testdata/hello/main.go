// Command hello prints the platform it was built for; the shim's tests run it,
// natively and under qemu-user, to prove a cross-build really targets that platform.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Printf("hello from %s/%s\n", runtime.GOOS, runtime.GOARCH)
}
