package main

import (
	"context"
	"fmt"
	"os"

	"github.com/xgo-build/xgo-build/magefiles/bench"
)

func main() {
	root, err := bench.FindRoot(".")
	if err == nil {
		var cfg bench.Config
		cfg, err = bench.ConfigFrom(root, os.Getenv)
		if err == nil {
			err = bench.Run(context.Background(), cfg, os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
