package release

import (
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
	"github.com/xgo-build/xgo-build/shim"
)

// defaultPlatforms are the platforms released when XGO_PLATFORMS is not set.
var defaultPlatforms = []string{
	"linux/amd64", "linux/386", "linux/arm64", "linux/arm/v7",
	"linux/arm/v6", "linux/ppc64le", "linux/s390x", "linux/riscv64",
}

// platformList is a parsed XGO_PLATFORMS value: either All (every platform of the base) or a
// list of normalised platforms without duplicates, in the order given.
type platformList struct {
	All  bool
	List []shim.Platform
}

// parsePlatformList parses a comma-separated XGO_PLATFORMS value. "" gives the default
// platforms; "all" (alone, any case) asks for every platform of the base; each other entry
// must be a platform the shim accepts. Entries that normalise to the same platform (linux/arm
// and linux/arm/v7) are kept once.
func parsePlatformList(s string) (platformList, error) {
	if s == "" {
		s = strings.Join(defaultPlatforms, ",")
	}
	if strings.TrimSpace(strings.ReplaceAll(s, ",", "")) == "" {
		return platformList{}, errors.New("no platforms given")
	}
	parts := strings.Split(s, ",")
	if len(parts) == 1 && strings.EqualFold(strings.TrimSpace(parts[0]), "all") {
		return platformList{All: true}, nil
	}
	var pl platformList
	seen := map[shim.Platform]bool{}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			return platformList{}, errors.New("empty entry in the list")
		case strings.EqualFold(part, "all"):
			return platformList{}, errors.New(`"all" cannot be combined with other platforms`)
		}
		p, err := shim.Parse(part)
		if err != nil {
			return platformList{}, err
		}
		if !seen[p] {
			seen[p] = true
			pl.List = append(pl.List, p)
		}
	}
	return pl, nil
}

// String returns the list in XGO_PLATFORMS form.
func (pl platformList) String() string {
	if pl.All {
		return "all"
	}
	s := make([]string, len(pl.List))
	for i, p := range pl.List {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// target is one platform to build, with the base image its binary goes on.
type target struct {
	Platform   shim.Platform
	Base       v1.Image // the base's manifest for Platform
	BaseDigest v1.Hash  // digest of that manifest; zero for scratch and static
}

// planTargets resolves the requested platforms against the base: "all" takes every platform
// of the base index (an error for scratch and static, which have none); every requested
// platform must be in the base, but for those two, which serve any; a single-platform base
// serves exactly one platform.
func planTargets(req platformList, base store.Base) ([]target, error) {
	platforms := req.List
	if req.All {
		if store.Builtin(base.Name) {
			return nil, fmt.Errorf(`XGO_PLATFORMS="all" needs a base image index to take the platforms from, but XGO_BASE is %s`, base.Name)
		}
		all, err := base.Platforms()
		if err != nil {
			return nil, fmt.Errorf("listing the platforms of base %q: %w", base.Name, err)
		}
		seen := map[shim.Platform]bool{}
		platforms = nil
		for _, p := range all {
			if !seen[p] {
				seen[p] = true
				platforms = append(platforms, p)
			}
		}
		if len(platforms) == 0 {
			return nil, fmt.Errorf(`XGO_PLATFORMS="all": base %q has no platforms`, base.Name)
		}
	}
	if !store.Builtin(base.Name) && base.Index == nil && len(platforms) > 1 {
		return nil, fmt.Errorf("XGO_BASE=%q is a single-platform image, but %d platforms are requested (%s): use a multi-platform base or request one platform",
			base.Name, len(platforms), platformList{List: platforms})
	}
	targets := make([]target, 0, len(platforms))
	for _, p := range platforms {
		img, digest, err := base.ImageFor(p)
		if err != nil {
			return nil, fmt.Errorf("XGO_PLATFORMS=%q: %w", platformList{List: platforms}.String(), err)
		}
		targets = append(targets, target{Platform: p, Base: img, BaseDigest: digest})
	}
	return targets, nil
}
