package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// The phases of a Dockerfile build, by what its steps do. The first three and the export are
// fixed costs, paid whatever the program's size; a build step is the compiling and linking.
const (
	phaseBase    = "base image" // resolving, pulling and unpacking the FROM images
	phaseModules = "modules"    // RUN go mod download
	phaseInstall = "xgo-build"  // RUN ... go install (of xgo-build)
	phaseBuild   = "go build"   // the RUN that builds the program
	phaseExport  = "export"     // exporting the images and pushing them
	phaseOther   = "other"      // loading the Dockerfile and context, COPY, WORKDIR
	phaseAll     = "all steps"  // the wall time with any step running
)

// phaseOrder is the order of the phases in the results.
var phaseOrder = []string{phaseBase, phaseModules, phaseInstall, phaseBuild, phaseExport, phaseOther, phaseAll}

// buildStep is one vertex of a BuildKit build as its progress stream reports it, gathered
// over the stream: the earliest start and the latest completion of the vertex and of its
// statuses (a pull's progress, an extraction, a push), whether it came from the cache, and
// what it wrote.
type buildStep struct {
	Name       string
	Start, End time.Time
	Cached     bool
	Error      string
	Log        []byte
}

// buildTrace is a build's steps, by vertex digest, in the order they first appeared.
type buildTrace struct {
	steps map[string]*buildStep
	order []string
}

// solveStatus is one line of `docker buildx build --progress=rawjson`: BuildKit's
// client.SolveStatus as JSON.
type solveStatus struct {
	Vertexes []struct {
		Digest    string     `json:"digest"`
		Name      string     `json:"name"`
		Started   *time.Time `json:"started"`
		Completed *time.Time `json:"completed"`
		Cached    bool       `json:"cached"`
		Error     string     `json:"error"`
	} `json:"vertexes"`
	Statuses []struct {
		Vertex    string     `json:"vertex"`
		Started   *time.Time `json:"started"`
		Completed *time.Time `json:"completed"`
		Timestamp time.Time  `json:"timestamp"`
	} `json:"statuses"`
	Logs []struct {
		Vertex string `json:"vertex"`
		Data   []byte `json:"data"`
	} `json:"logs"`
}

// parseTrace reads the progress stream of `docker buildx build --progress=rawjson`: one
// JSON object a line; other lines (buildx's own messages) are skipped.
func parseTrace(r io.Reader) (*buildTrace, error) {
	t := &buildTrace{steps: map[string]*buildStep{}}
	step := func(digest string) *buildStep {
		s, ok := t.steps[digest]
		if !ok {
			s = &buildStep{}
			t.steps[digest] = s
			t.order = append(t.order, digest)
		}
		return s
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		n++
		var st solveStatus
		if err := json.Unmarshal(line, &st); err != nil {
			return nil, fmt.Errorf("reading line %d of the build's progress: %w", n, err)
		}
		for _, v := range st.Vertexes {
			s := step(v.Digest)
			if v.Name != "" {
				s.Name = v.Name
			}
			s.widen(v.Started, v.Completed)
			s.Cached = s.Cached || v.Cached
			if v.Error != "" {
				s.Error = v.Error
			}
		}
		for _, v := range st.Statuses {
			step(v.Vertex).widen(v.Started, v.Completed)
		}
		for _, l := range st.Logs {
			s := step(l.Vertex)
			s.Log = append(s.Log, l.Data...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("the build printed no progress (want --progress=rawjson)")
	}
	return t, nil
}

// widen extends the step's span to cover started and completed, where set.
func (s *buildStep) widen(started, completed *time.Time) {
	for _, t := range []*time.Time{started, completed} {
		if t == nil || t.IsZero() {
			continue
		}
		if s.Start.IsZero() || t.Before(s.Start) {
			s.Start = *t
		}
		if t.After(s.End) {
			s.End = *t
		}
	}
}

// stepPhase returns the phase of the step named name, a vertex name of the Dockerfile
// frontend: "[linux/arm64 build 4/8] RUN go mod download", "[internal] load metadata for
// docker.io/library/golang:1.26-alpine", "exporting to image".
func stepPhase(name string) string {
	if strings.HasPrefix(name, "[internal] load metadata for ") {
		return phaseBase
	}
	instr := name
	if strings.HasPrefix(name, "[") {
		if _, after, ok := strings.Cut(name, "] "); ok {
			instr = after
		}
	}
	switch {
	case strings.HasPrefix(instr, "FROM "):
		return phaseBase
	case strings.HasPrefix(instr, "RUN ") && strings.Contains(instr, "go mod download"):
		return phaseModules
	case strings.HasPrefix(instr, "RUN ") && strings.Contains(instr, "go install"):
		return phaseInstall
	case strings.HasPrefix(instr, "RUN ") && (strings.Contains(instr, "go build") || strings.Contains(instr, "xgo-build")):
		return phaseBuild
	case strings.HasPrefix(name, "exporting") || strings.HasPrefix(name, "pushing"):
		return phaseExport
	default:
		return phaseOther
	}
}

// phases returns, for each phase that has steps and for all steps together, the wall time
// during which at least one of its steps ran: steps of different platforms overlap, and this
// counts the overlap once.
func (t *buildTrace) phases() map[string]float64 {
	spans := map[string][][2]time.Time{}
	for _, s := range t.steps {
		if s.Start.IsZero() || s.End.IsZero() {
			continue
		}
		p := stepPhase(s.Name)
		spans[p] = append(spans[p], [2]time.Time{s.Start, s.End})
		spans[phaseAll] = append(spans[phaseAll], [2]time.Time{s.Start, s.End})
	}
	out := map[string]float64{phaseAll: 0}
	for p, s := range spans {
		out[p] = unionSeconds(s)
	}
	return out
}

// unionSeconds returns the length in seconds of the union of the intervals.
func unionSeconds(spans [][2]time.Time) float64 {
	spans = slices.Clone(spans)
	sort.Slice(spans, func(i, j int) bool { return spans[i][0].Before(spans[j][0]) })
	var total time.Duration
	var cur [2]time.Time
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case s[0].After(cur[1]):
			total += cur[1].Sub(cur[0])
			cur = s
		case s[1].After(cur[1]):
			cur[1] = s[1]
		}
	}
	if len(spans) > 0 {
		total += cur[1].Sub(cur[0])
	}
	return total.Seconds()
}

// stepsIn returns the names of the steps of phase, cached or not as cached says.
func (t *buildTrace) stepsIn(phase string, cached bool) []string {
	var names []string
	for _, d := range t.order {
		s := t.steps[d]
		if s.Name != "" && stepPhase(s.Name) == phase && s.Cached == cached {
			names = append(names, s.Name)
		}
	}
	return names
}

// log returns everything the build's steps wrote, in the order the steps appeared.
func (t *buildTrace) log() string {
	var b strings.Builder
	for _, d := range t.order {
		b.Write(t.steps[d].Log)
	}
	return b.String()
}

// writePhases writes the table of the Dockerfile cases' phases, if any case has them: for
// each side, the median over its runs of each phase's wall time.
func writePhases(w io.Writer, r Results) {
	header := false
	for _, c := range r.Cases {
		for _, side := range []Side{c.Ours, c.Theirs} {
			if len(side.Samples) == 0 || side.Samples[0].Phases == nil {
				continue
			}
			if !header {
				fmt.Fprintf(w, "\n## Dockerfile builds by phase\n\n")
				fmt.Fprintf(w, "From BuildKit's progress stream: the wall time during which at least one step of the phase ran, for any platform (steps of different platforms overlap and count once), median of the runs. "+
					"Base image: resolving, pulling and unpacking the FROM image; modules: `go mod download`; xgo-build: its `go install`; go build: the RUN that builds the program; export: exporting the images and pushing them; "+
					"other: the Dockerfile, the context, COPY and WORKDIR; all steps: the wall time with any step running.\n\n")
				fmt.Fprintf(w, "| Case | Side |")
				for _, p := range phaseOrder {
					fmt.Fprintf(w, " %s |", p)
				}
				fmt.Fprintf(w, " Runs |\n|---|---|%s---|\n", strings.Repeat("---|", len(phaseOrder)))
				header = true
			}
			fmt.Fprintf(w, "| %s: %s | %s |", cell(c.Group), cell(c.Name), cell(side.Tool))
			for _, p := range phaseOrder {
				fmt.Fprintf(w, " %s |", fmtSeconds(medianPhase(side.Samples, p)))
			}
			fmt.Fprintf(w, " %d |\n", len(side.Samples))
		}
	}
}

// medianPhase returns the median of phase over the samples that have it, NaN if none has.
func medianPhase(samples []Sample, phase string) float64 {
	var xs []float64
	for _, s := range samples {
		if v, ok := s.Phases[phase]; ok {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	return Median(xs)
}
