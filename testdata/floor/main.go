// Command floor is the stand-in for go in the start-up benchmarks: a main package that imports
// only os and syscall, so it starts as fast as a Go program can. With XGO_FLOOR_EXEC set to a
// path it execs that path with its own arguments and the environment less XGO_FLOOR_EXEC (what
// any Go program pays to start and exec); otherwise it exits 0.
package main

import (
	"os"
	"syscall"
)

func main() {
	const key = "XGO_FLOOR_EXEC="
	path := os.Getenv(key[:len(key)-1])
	if path == "" {
		return
	}
	var env []string
	for _, kv := range os.Environ() {
		if len(kv) < len(key) || kv[:len(key)] != key {
			env = append(env, kv)
		}
	}
	err := syscall.Exec(path, os.Args, env)
	os.Stderr.WriteString("floor: " + err.Error() + "\n")
	os.Exit(2)
}
