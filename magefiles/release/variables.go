package release

// The variables the targets read, their meanings, defaults and targets, are one table, in
// package internal/vars. From it go generate writes targets.go, the targets with their doc
// comments (which go tool mage -h shows), and the README's configuration table; a variable
// read here without a row in the table fails the tests.
//
//go:generate go run ./internal/gendoc -readme ../../README.md -targets targets.go
