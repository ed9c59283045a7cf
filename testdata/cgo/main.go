// Command cgo prints a number computed by a C function, and the platform it was built for;
// the shim's tests cross-build it with CGO_ENABLED=1 and a C cross compiler and run it under
// qemu-user, to prove that the C code was compiled for the target.
package main

/*
static int answer(void) {
	return 6 * 7;
}
*/
import "C"

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Printf("C says %d on %s/%s\n", int(C.answer()), runtime.GOOS, runtime.GOARCH)
}
