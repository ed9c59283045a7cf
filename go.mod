module github.com/xgo-build/xgo-build

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0 // indirect
	github.com/google/go-containerregistry v0.22.1 // indirect
	github.com/magefile/mage v1.17.2 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	golang.org/x/mod v0.43.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
)

tool github.com/magefile/mage
