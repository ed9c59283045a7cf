// Command midsize is a mid-size sample program for the benchmarks: it pulls in
// net/http, crypto/tls and go-containerregistry's remote package, so a cold
// build compiles a few hundred packages.
//
// Without arguments it prints "midsize from <os>/<arch>". With "digest REF" it
// prints the digest of the image REF; with "serve ADDR" it serves its platform
// over HTTP (TLS 1.2 at least when a certificate and key are given).
package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "midsize:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	switch {
	case len(args) == 0:
		fmt.Println("midsize from " + platform)
		return nil
	case args[0] == "digest" && len(args) == 2:
		ref, err := name.ParseReference(args[1])
		if err != nil {
			return fmt.Errorf("parsing %q: %w", args[1], err)
		}
		desc, err := remote.Head(ref)
		if err != nil {
			return fmt.Errorf("fetching %s: %w", ref, err)
		}
		fmt.Println(desc.Digest)
		return nil
	case args[0] == "serve" && (len(args) == 2 || len(args) == 4):
		srv := &http.Server{
			Addr:              args[1],
			ReadHeaderTimeout: 5 * time.Second,
			TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintln(w, "midsize from "+platform)
			}),
		}
		if len(args) == 4 {
			return srv.ListenAndServeTLS(args[2], args[3])
		}
		return srv.ListenAndServe()
	default:
		return fmt.Errorf("usage: midsize [digest REF | serve ADDR [CERT KEY]]")
	}
}
