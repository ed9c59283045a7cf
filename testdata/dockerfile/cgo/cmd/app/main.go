// Command app is a cgo program, the one the tests of cgo builds release and build in
// Dockerfiles: a C function gives the answer, and C says which architecture its compiler
// built for and which C library it runs with; Go adds the platform it built for.
package main

/*
#include <gnu/libc-version.h>

#define STR(x) #x
#define XSTR(x) STR(x)

static int answer(void) { return 42; }

static const char *machine(void) {
#if defined(__x86_64__)
	return "x86_64";
#elif defined(__i386__)
	return "i386";
#elif defined(__aarch64__)
	return "aarch64";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
	return "armv" XSTR(__ARM_ARCH) " hard-float";
#elif defined(__arm__)
	return "armv" XSTR(__ARM_ARCH) " soft-float";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#else
	return "unknown";
#endif
}
*/
import "C"

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Printf("answer %d from C for %s with glibc %s; Go for %s/%s\n",
		C.answer(), C.GoString(C.machine()), C.GoString(C.gnu_get_libc_version()), runtime.GOOS, runtime.GOARCH)
}
