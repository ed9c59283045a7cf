package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/magefile/mage/mg"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/shim"
)

// The merge target completes a release made by several jobs, one a platform, each a release
// with XGO_PUSH_BY_DIGEST=true: it reads their digest records (record.go), checks them, asks
// the registry for each manifest, and pushes the index one release of all the platforms
// would push (same order, same annotations, so the same digest), then the tags. Nothing is
// pushed unless every check passes.

// runMerge runs the merge target for mage: in the working directory, with the process
// environment.
func runMerge(ctx context.Context) error {
	dir, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the project directory: %w", err)
	}
	ctx, stop := interruptContext(ctx)
	defer stop()
	return merge(ctx, runEnv{dir: dir, getenv: os.Getenv, environ: os.Environ(), out: os.Stderr, result: os.Stdout, verbose: mg.Verbose()})
}

// merge reads the configuration and the records, checks them, and pushes their index.
func merge(ctx context.Context, e runEnv) error {
	getenv, err := withDockerMetadata(e.getenv)
	if err != nil {
		return err
	}
	e.getenv = getenv
	err = stoppedError(ctx, "merge", mergeRecords(ctx, e, time.Now()))
	if cause := stopCause(ctx); err == nil && cause != nil {
		fmt.Fprintf(e.out, "%s after the merge had done its work: it is complete\n", cause)
	}
	return err
}

// mergePlan is what the records say, checked: the platforms in the order of the index.
type mergePlan struct {
	rec       digestRecord     // the fields the records share; Platforms unused
	platforms []pushedManifest // in the order of the index
	files     []string         // the record of each platform
}

// mergeRecords does the work of merge; start is when the run began.
func mergeRecords(ctx context.Context, e runEnv, start time.Time) error {
	cfg, order, files, err := readMergeConfig(e)
	if err != nil {
		return err
	}
	plan, err := planMerge(files, order, cfg.repo.Name())
	if err != nil {
		return err
	}
	tags, err := applyTags(versionTags(plan.rec.Version), e.getenv("XGO_TAGS"))
	if err != nil {
		return badValue("XGO_TAGS", e.getenv("XGO_TAGS"), err)
	}
	unlock, err := lockDist(ctx, cfg.Dist, cfg.Wait, e.out)
	if err != nil {
		return err
	}
	defer unlock()
	done, err := markIncomplete(cfg.Dist, "merge", start)
	if err != nil {
		return err
	}
	opts := registry.Options(ctx, cfg.Jobs, cfg.Insecure, cfg.Retry, cfg.keychain)
	images, err := remoteImages(ctx, cfg, plan, opts)
	if err != nil {
		return err
	}
	idx, err := oci.NewIndex(images, plan.rec.IndexAnnotations)
	if err != nil {
		return err
	}
	reportPath := filepath.Join(cfg.Dist, "release.json")
	if err := os.Remove(reportPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the previous %s: %w", reportPath, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return fmt.Errorf("computing the index digest: %w", err)
	}
	fmt.Fprintf(e.out, "pushing the index %s of %d platforms to %s\n", digest, len(images), cfg.repo.Name())
	res, err := registry.PushIndex(ctx, cfg.repo, idx, tags, opts)
	if res, err = settleTags(ctx, cfg, tags, res, err); err != nil {
		return err
	}
	rows := make([]platformReport, len(plan.platforms))
	for i, p := range plan.platforms {
		rows[i] = p.Build
		rows[i].Platform, rows[i].Manifest = p.Platform, p.Digest
	}
	rep := releaseReport{
		Repository:    cfg.repo.Name(),
		Digest:        res.Digest.String(),
		Reference:     cfg.repo.Name() + "@" + res.Digest.String(),
		Tags:          res.Tags,
		Version:       plan.rec.Version,
		Revision:      plan.rec.Revision,
		Created:       plan.rec.Created,
		Base:          plan.rec.Base,
		BaseDigest:    plan.rec.BaseDigest,
		Platforms:     rows,
		BlobsUploaded: res.BlobsUploaded,
		BlobsSkipped:  res.BlobsSkipped,
		BytesUploaded: res.BytesUploaded,
		BytesSkipped:  res.BytesSkipped,
		Seconds:       time.Since(start).Round(time.Millisecond).Seconds(),
		Cores:         runtime.NumCPU(),
	}
	if err := writeReport(reportPath, rep); err != nil {
		return err
	}
	for i, p := range plan.platforms {
		fmt.Fprintf(e.out, "merged %-22s %s from %s\n", p.Platform, shortDigest(p.Digest), plan.files[i])
	}
	fmt.Fprintf(e.out, "tags: %s\n", strings.Join(res.Tags, ", "))
	if err := done(); err != nil {
		return err
	}
	r := &release{env: e}
	return r.releaseResult(rep)
}

// readMergeConfig reads the configuration of merge: XGO_REPO and XGO_MERGE, which it
// requires, XGO_PLATFORMS (nil order when it is unset), and what readEnv reads, every value
// checked.
func readMergeConfig(e runEnv) (cfg config, order []shim.Platform, files []string, err error) {
	if strings.TrimSpace(e.getenv("XGO_REPO")) == "" {
		return cfg, nil, nil, errors.New("XGO_REPO is not set: merge needs the repository the records' manifests were pushed to, e.g. XGO_REPO=ghcr.io/you/app")
	}
	value := e.getenv("XGO_MERGE")
	if strings.TrimSpace(value) == "" {
		return cfg, nil, nil, errors.New("XGO_MERGE is not set: merge needs the records of the by-digest releases, e.g. XGO_MERGE=records (a directory holding the digests-*.json files)")
	}
	cfg, errs := readEnv(e.dir, e.getenv)
	if v := e.getenv("XGO_PLATFORMS"); v != "" && cfg.Platforms.All {
		errs = append(errs, badValue("XGO_PLATFORMS", v, errors.New(`merge needs the platforms named, not "all"`)))
	} else if v != "" {
		order = cfg.Platforms.List
	}
	files, ferr := recordFiles(e.dir, value)
	if ferr != nil {
		errs = append(errs, badValue("XGO_MERGE", value, ferr))
	}
	return cfg, order, files, errors.Join(errs...)
}

// planMerge reads the record files and checks them: each of one commit, version, time, base
// and index annotations, each pushed to repo, each platform in one record only; with order
// (XGO_PLATFORMS), exactly its platforms, in its order; without it, the records' platforms in
// the order of the default list, any others after them in lexical order. Every problem is in
// the one error.
func planMerge(files []string, order []shim.Platform, repo string) (mergePlan, error) {
	var (
		plan     mergePlan
		problems []string
		from     = map[shim.Platform]string{} // the record of each platform
		byPlat   = map[shim.Platform]pushedManifest{}
		first    string // the record the others are compared with
	)
	for _, file := range files {
		rec, err := readRecord(file)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if rec.Repository != repo {
			problems = append(problems, fmt.Sprintf("%s was pushed to %s, not to XGO_REPO %s", file, rec.Repository, repo))
		}
		if first == "" {
			first, plan.rec = file, rec
		} else if d := recordDifference(plan.rec, rec); d != "" {
			problems = append(problems, fmt.Sprintf("%s and %s are not of one release: %s", first, file, d))
		}
		for _, pm := range rec.Platforms {
			p, err := shim.Parse(pm.Platform)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s: %v", file, err))
				continue
			case from[p] != "":
				problems = append(problems, fmt.Sprintf("%s is in two records, %s and %s: give merge one record a platform", p, from[p], file))
				continue
			}
			if _, err := v1.NewHash(pm.Digest); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: digest %q: %v", file, p, pm.Digest, err))
			}
			if !types.MediaType(pm.MediaType).IsImage() || pm.Size <= 0 {
				problems = append(problems, fmt.Sprintf("%s: %s: not an image manifest (media type %q, size %d)", file, p, pm.MediaType, pm.Size))
			}
			pm.Platform = p.String()
			from[p], byPlat[p] = file, pm
		}
	}
	platforms := order
	if order == nil {
		platforms = slices.SortedFunc(maps.Keys(byPlat), platformOrder)
	} else {
		var missing []string
		for _, p := range order {
			if from[p] == "" {
				missing = append(missing, p.String())
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("no record for %s, which XGO_PLATFORMS lists", strings.Join(missing, ", ")))
		}
		for _, p := range slices.SortedFunc(maps.Keys(byPlat), platformOrder) {
			if !slices.Contains(order, p) {
				problems = append(problems, fmt.Sprintf("%s has %s, which XGO_PLATFORMS does not list", from[p], p))
			}
		}
	}
	if len(problems) > 0 {
		return mergePlan{}, fmt.Errorf("merging %d records: %s; nothing was pushed", len(files), strings.Join(problems, "; "))
	}
	for _, p := range platforms {
		plan.platforms = append(plan.platforms, byPlat[p])
		plan.files = append(plan.files, from[p])
	}
	return plan, nil
}

// recordDifference says how b differs from a in what the index takes from them, "" when in
// nothing.
func recordDifference(a, b digestRecord) string {
	switch {
	case a.Revision != b.Revision:
		return fmt.Sprintf("commit %s against %s", orNone(a.Revision), orNone(b.Revision))
	case a.Version != b.Version:
		return fmt.Sprintf("version %s against %s", orNone(a.Version), orNone(b.Version))
	case a.Base != b.Base || a.BaseDigest != b.BaseDigest:
		return fmt.Sprintf("base %s %s against %s %s", a.Base, a.BaseDigest, b.Base, b.BaseDigest)
	case !maps.Equal(a.IndexAnnotations, b.IndexAnnotations):
		for _, k := range slices.Sorted(maps.Keys(a.IndexAnnotations)) {
			if a.IndexAnnotations[k] != b.IndexAnnotations[k] {
				return fmt.Sprintf("index annotation %s %q against %q", k, a.IndexAnnotations[k], b.IndexAnnotations[k])
			}
		}
		return "an index annotation only the second has"
	}
	return ""
}

// orNone is s, or "(none)" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// platformOrder orders platforms as the default XGO_PLATFORMS lists them, and others after
// those, by name.
func platformOrder(a, b shim.Platform) int {
	rank := func(p shim.Platform) int {
		if i := slices.Index(defaultPlatforms, p.String()); i >= 0 {
			return i
		}
		return len(defaultPlatforms)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.String(), b.String()))
}

// remoteImages asks the registry for every manifest of plan by digest (a HEAD request each),
// and for the attestations the records list with it, checks their sizes and media types
// against the records, and then reads the manifests: the images of the index, whose blobs the
// registry has. Every manifest or attestation missing or different is in the one error.
func remoteImages(ctx context.Context, cfg config, plan mergePlan, opts []remote.Option) ([]oci.PlatformImage, error) {
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	var problems []string
	for i, pm := range plan.platforms {
		ref := cfg.repo.Digest(pm.Digest)
		desc, err := remote.Head(ref, opts...)
		switch {
		case err != nil && registry.IsNotFound(err):
			problems = append(problems, fmt.Sprintf("%s (%s, from %s) is not in the registry", ref, pm.Platform, plan.files[i]))
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", ref, registry.Explain(err, cfg.repo.RegistryStr()))
		case desc.Digest.String() != pm.Digest || desc.Size != pm.Size || string(desc.MediaType) != pm.MediaType:
			problems = append(problems, fmt.Sprintf("%s (%s, from %s) is a %s of %d bytes in the registry, the record says a %s of %d bytes",
				ref, pm.Platform, plan.files[i], desc.MediaType, desc.Size, pm.MediaType, pm.Size))
		}
		for _, pr := range pm.Referrers {
			ref := cfg.repo.Digest(pr.Digest)
			desc, err := remote.Head(ref, opts...)
			switch {
			case err != nil && registry.IsNotFound(err):
				problems = append(problems, fmt.Sprintf("%s, the %s attestation of %s (from %s), is not in the registry", ref, pr.ArtifactType, pm.Platform, plan.files[i]))
			case err != nil:
				return nil, fmt.Errorf("reading %s: %w", ref, registry.Explain(err, cfg.repo.RegistryStr()))
			case desc.Size != pr.Size || string(desc.MediaType) != pr.MediaType:
				problems = append(problems, fmt.Sprintf("%s, the %s attestation of %s (from %s), is a %s of %d bytes in the registry, the record says a %s of %d bytes",
					ref, pr.ArtifactType, pm.Platform, plan.files[i], desc.MediaType, desc.Size, pr.MediaType, pr.Size))
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("merging %d platforms: %s; nothing was pushed", len(plan.platforms), strings.Join(problems, "; "))
	}
	images := make([]oci.PlatformImage, len(plan.platforms))
	for i, pm := range plan.platforms {
		ref := cfg.repo.Digest(pm.Digest)
		img, err := remote.Image(ref, opts...)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref, registry.Explain(err, cfg.repo.RegistryStr()))
		}
		p, err := shim.Parse(pm.Platform)
		if err != nil {
			return nil, err // checked by planMerge
		}
		images[i] = oci.PlatformImage{Platform: p, Image: img}
	}
	return images, nil
}
