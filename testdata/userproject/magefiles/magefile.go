//go:build mage

// Magefile of the sample user project: it pulls in the release targets with one import, as a
// user's magefile does.
package main

import (
	//mage:import
	_ "github.com/xgo-build/xgo-build/magefiles/release"
)
