package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// releaseState is where one side of the release comparison keeps its caches, output and
// repository between a cold run and the warm runs after it.
type releaseState struct {
	dir  string
	repo string
}

// release measures the eight-platform image of program pushed by the release targets against
// the same image pushed by ko: each cold run starts from empty caches and a fresh repository,
// and is followed by warm runs that change nothing (the release group) and by runs with one
// line of the main package changed (the edit group), the same line for both sides, a
// different value every run. With the edit group alone the cold runs only warm the caches
// and are not reported.
func (b *bench) release(ctx context.Context, program string) error {
	b.logf("setting up the %s project for mage release and ko", program)
	project := filepath.Join(b.fresh(program+"-project"), program)
	runner, err := userProject(ctx, b.cfg.Root, program, project, b.mage, b.env)
	if err != nil {
		return err
	}
	mainGo := filepath.Join(project, "main.go")
	if b.cfg.has("edit") {
		if err := addEditBlock(mainGo); err != nil {
			return err
		}
	}
	platforms := strings.Join(Platforms, ",")
	cold := Case{Group: groupRelease, Name: program + ", 8 platforms, push, cold cache",
		Ours: Side{Tool: "mage release"}, Theirs: Side{Tool: "ko build"}}
	warm := Case{Group: groupRelease, Name: program + ", 8 platforms, push, warm (no change)",
		Ours: Side{Tool: "mage release"}, Theirs: Side{Tool: "ko build"}}
	edit := Case{Group: groupEdit, Name: program + ", 8 platforms, push, one line changed",
		Ours: Side{Tool: "mage release"}, Theirs: Side{Tool: "ko build"}}
	var warmUp Case // the cold runs when the release group is not measured

	ours := func(st releaseState) command {
		return command{Dir: project, Env: withEnv(b.env,
			"GOCACHE="+filepath.Join(st.dir, "gocache"), "XDG_CACHE_HOME="+filepath.Join(st.dir, "cache"),
			"XGO_MAIN=.", "XGO_PLATFORMS="+platforms, "XGO_BASE="+b.base,
			"XGO_REPO="+st.repo, "XGO_DIST="+filepath.Join(st.dir, "dist")),
			Args: []string{runner, "release"}}
	}
	theirs := func(st releaseState) command {
		return command{Dir: project, Env: withEnv(b.env,
			"GOCACHE="+filepath.Join(st.dir, "gocache"), "XDG_CACHE_HOME="+filepath.Join(st.dir, "cache"),
			"KO_DOCKER_REPO="+st.repo, "KO_DEFAULTBASEIMAGE="+b.base),
			Args: []string{b.ko, "build", "--bare", "--sbom=spdx", "--platform=" + platforms, "."}}
	}
	type side struct {
		name string
		pick func(*Case) *Side
		cmd  func(releaseState) command
	}
	sides := []side{
		{"xgo", func(c *Case) *Side { return &c.Ours }, ours},
		{"ko", func(c *Case) *Side { return &c.Theirs }, theirs},
	}
	last := map[string]string{} // each side's last pushed index digest
	measure := func(c *Case, s side, st releaseState, i int) error {
		target := s.pick(c)
		sample, _, err := s.cmd(st).measure(ctx)
		if err != nil {
			return fmt.Errorf("%s, %s: %w", c.Name, target.Tool, err)
		}
		digest, err := checkIndex(ctx, st.repo+":latest", Platforms)
		if err != nil {
			return fmt.Errorf("%s, %s: %w", c.Name, target.Tool, err)
		}
		if c == &edit && digest == last[s.name] {
			return fmt.Errorf("%s, %s: pushed %s again: the changed line did not reach the image", c.Name, target.Tool, digest)
		}
		last[s.name] = digest
		sample.Digest, sample.Iterated = digest, i
		if s.name == "xgo" {
			w, err := readCompileWork(filepath.Join(st.dir, "dist", "release.json"))
			if err != nil {
				return fmt.Errorf("%s, %s: %w", c.Name, target.Tool, err)
			}
			sample.Compile = &w
		}
		target.Samples = append(target.Samples, sample)
		label := ""
		if c == &warmUp {
			label = " (warming the caches, not reported)"
		}
		b.logSample(c, target, label, sample)
		return nil
	}
	coldCase := &cold
	if !b.cfg.has("release") {
		warmUp = cold
		coldCase = &warmUp
	}
	editN := 0
	for i := 1; i <= b.cfg.Cold[program]; i++ {
		if b.cfg.has("edit") {
			if err := applyEdit(mainGo, 0); err != nil {
				return err
			}
		}
		states := map[string]releaseState{}
		order := []side{sides[(i+1)%2], sides[i%2]} // ours first in odd runs
		for _, s := range order {
			dir := b.fresh(program + "-release-" + s.name)
			st := releaseState{dir: dir, repo: fmt.Sprintf("%s/%s-%s-%d", b.registry.Host(), program, s.name, i)}
			states[s.name] = st
			if err := measure(coldCase, s, st, i); err != nil {
				return err
			}
		}
		if b.cfg.has("release") {
			for w := 1; w <= b.cfg.Warm; w++ {
				for k := range order {
					s := order[(k+w+1)%2]
					if err := measure(&warm, s, states[s.name], (i-1)*b.cfg.Warm+w); err != nil {
						return err
					}
				}
			}
		}
		if b.cfg.has("edit") {
			for w := 1; w <= b.cfg.Warm; w++ {
				editN++
				if err := applyEdit(mainGo, editN); err != nil {
					return err
				}
				for k := range order {
					s := order[(k+w+1)%2]
					if err := measure(&edit, s, states[s.name], editN); err != nil {
						return err
					}
				}
			}
		}
		for _, st := range states {
			os.RemoveAll(st.dir) // eight platforms' build caches: gigabytes for midsize
		}
	}
	if b.cfg.has("release") {
		b.res.Cases = append(b.res.Cases, cold, warm)
		b.extra = append(b.extra, digestNote(program, cold.Ours.Tool, cold.Ours.Samples, warm.Ours.Samples),
			digestNote(program, cold.Theirs.Tool, cold.Theirs.Samples, warm.Theirs.Samples))
	}
	if b.cfg.has("edit") {
		b.res.Cases = append(b.res.Cases, edit)
		note := editNote(edit)
		b.extra = append(b.extra, note)
		b.logf("%s", note)
	}
	return nil
}

// digestNote says which index digests a tool pushed for program over all its runs: one digest
// means its image was the same every time.
func digestNote(program, tool string, runs ...[]Sample) string {
	var digests []string
	n := 0
	for _, samples := range runs {
		for _, s := range samples {
			n++
			if !slices.Contains(digests, s.Digest) {
				digests = append(digests, s.Digest)
			}
		}
	}
	if len(digests) == 1 {
		return fmt.Sprintf("%s, %s: the same index digest in all %d runs (%s).", program, tool, n, digests[0])
	}
	return fmt.Sprintf("%s, %s: %d different index digests in %d runs (%s).", program, tool, len(digests), n, strings.Join(digests, ", "))
}
