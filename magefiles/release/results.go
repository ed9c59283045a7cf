package release

import (
	"fmt"
	"io"
)

// A run's standard output carries its result and nothing else, so that a CI script can take
// it with ref=$(go tool mage release); progress, warnings and summaries go to standard error.
//
//   - release: the pushed reference, repo@sha256:<index digest>, one line; in GitHub Actions
//     also the step outputs and the job summary (ghactions.go)
//   - image: the image layout and its index, <absolute path of dist/oci>@sha256:<digest>, one
//     line, as oras --oci-layout takes an image layout
//   - load: the tag the image was loaded under, one line (load.go)
//   - binaries: nothing; the binaries are at dist/bin/<os>_<arch>[_<variant>]/<name>
//
// A run that fails writes no result.

// results is where the run's result goes: e.result, or nowhere when it is nil.
func (e runEnv) results() io.Writer {
	if e.result == nil {
		return io.Discard
	}
	return e.result
}

// imageResult writes the result of the image target: the layout and its index digest.
func (r *release) imageResult() error {
	_, err := fmt.Fprintf(r.env.results(), "%s@%s\n", r.layout, r.index)
	return err
}

// releaseResult writes the result of a release that completed, described by rep (as
// dist/release.json holds it): the step outputs and job summary when the run is in GitHub
// Actions, then the pushed reference.
func (r *release) releaseResult(rep releaseReport) error {
	if err := writeGitHubFiles(r.env.dir, r.env.getenv, rep); err != nil {
		return err
	}
	_, err := fmt.Fprintln(r.env.results(), rep.Reference)
	return err
}
