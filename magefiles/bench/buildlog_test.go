package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestStepPhase(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"[internal] load metadata for docker.io/library/golang:1.26-alpine", phaseBase},
		{"[linux/arm64 build 1/7] FROM docker.io/library/golang:1.26-alpine@sha256:ab", phaseBase},
		{"[build 1/9] FROM docker.io/library/golang:1.26-alpine@sha256:ab", phaseBase},
		{"[build 2/9] RUN CGO_ENABLED=0 go install github.com/xgo-build/xgo-build/cmd/xgo-build@latest", phaseInstall},
		{"[linux/riscv64 build 4/7] RUN go mod download", phaseModules},
		{"[linux/arm/v7 build 7/7] RUN --mount=type=cache,target=/root/.cache/go-build     go build -trimpath -ldflags=\"-s -w\" -o /out/app ./cmd/app", phaseBuild},
		{"[linux/amd64 build 8/8] RUN --mount=type=cache,target=/root/.cache/go-build     xgo-build -trimpath -o /out/app ./cmd/app &&     xgo-build --xgo-verify /out/app", phaseBuild},
		{"exporting to image", phaseExport},
		{"pushing layers", phaseExport},
		{"[internal] load build definition from cross.Dockerfile", phaseOther},
		{"[internal] load build context", phaseOther},
		{"[linux/arm64 build 5/7] COPY . .", phaseOther},
		{"[linux/arm64 stage-1 1/1] COPY --from=build /out/app /app", phaseOther},
		{"[build 3/9] WORKDIR /src", phaseOther},
		{"[build 9/9] RUN echo built", phaseOther},
	}
	for _, tt := range tests {
		if got := stepPhase(tt.name); got != tt.want {
			t.Errorf("stepPhase(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestUnionSeconds(t *testing.T) {
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	secs := func(s float64) time.Time { return base.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		spans [][2]float64 // start and end in seconds
		want  float64
	}{
		{nil, 0},
		{[][2]float64{{0, 2}}, 2},
		{[][2]float64{{0, 2}, {1, 3}}, 3},           // overlapping
		{[][2]float64{{4, 5}, {0, 2}}, 3},           // apart, out of order
		{[][2]float64{{0, 10}, {2, 3}, {4, 5}}, 10}, // inside
		{[][2]float64{{0, 1}, {1, 2}, {5, 6.5}}, 3.5},
	}
	for _, tt := range tests {
		spans := make([][2]time.Time, len(tt.spans))
		for i, s := range tt.spans {
			spans[i] = [2]time.Time{secs(s[0]), secs(s[1])}
		}
		if got := unionSeconds(spans); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("unionSeconds(%v) = %v, want %v", tt.spans, got, tt.want)
		}
	}
}

// progressStream is a --progress=rawjson stream of a two-platform build: the base image's
// vertex with a pull status that outlasts it, go mod download for both platforms at
// overlapping times, one build cached and one run, a log, an export, and a line buildx
// writes that is not JSON.
const progressStream = `#0 building with "xgo-enginetest" instance using remote driver
{"vertexes":[{"digest":"sha256:from","name":"[linux/arm64 build 1/4] FROM docker.io/library/golang:1.26-alpine@sha256:ab","started":"2026-12-01T10:00:00Z"}]}
{"statuses":[{"id":"extracting sha256:ab","vertex":"sha256:from","current":0,"timestamp":"2026-12-01T10:00:03Z","started":"2026-12-01T10:00:01Z","completed":"2026-12-01T10:00:04Z"}]}
{"vertexes":[{"digest":"sha256:from","name":"[linux/arm64 build 1/4] FROM docker.io/library/golang:1.26-alpine@sha256:ab","started":"2026-12-01T10:00:00Z","completed":"2026-12-01T10:00:02Z"}]}
{"vertexes":[{"digest":"sha256:mod1","name":"[linux/arm64 build 3/4] RUN go mod download","started":"2026-12-01T10:00:04Z","completed":"2026-12-01T10:00:10Z"},{"digest":"sha256:mod2","name":"[linux/amd64 build 3/4] RUN go mod download","started":"2026-12-01T10:00:05Z","completed":"2026-12-01T10:00:12Z"}]}
{"vertexes":[{"digest":"sha256:b1","name":"[linux/arm64 build 4/4] RUN go build -o /out/app ./cmd/app","started":"2026-12-01T10:00:12Z","completed":"2026-12-01T10:00:40Z"},{"digest":"sha256:b2","name":"[linux/amd64 build 4/4] RUN go build -o /out/app ./cmd/app","cached":true,"started":"2026-12-01T10:00:12Z","completed":"2026-12-01T10:00:12Z"}]}
{"logs":[{"vertex":"sha256:b1","stream":1,"data":"L291dC9hcHA6IG9rIGxpbnV4L2FybTY0Cg==","timestamp":"2026-12-01T10:00:39Z"}]}
{"vertexes":[{"digest":"sha256:exp","name":"exporting to image","started":"2026-12-01T10:00:40Z","completed":"2026-12-01T10:00:41Z"}]}
{"statuses":[{"id":"pushing layers","vertex":"sha256:exp","current":0,"timestamp":"2026-12-01T10:00:43Z","started":"2026-12-01T10:00:40Z","completed":"2026-12-01T10:00:43Z"}]}
`

func TestParseTrace(t *testing.T) {
	tr, err := parseTrace(strings.NewReader(progressStream))
	if err != nil {
		t.Fatal(err)
	}
	got := tr.phases()
	want := map[string]float64{
		phaseBase:    4,  // 0-4: the extraction outlasts the vertex
		phaseModules: 8,  // 4-12, two platforms overlapping
		phaseInstall: 0,  // none
		phaseBuild:   28, // 12-40; the cached step takes no time
		phaseExport:  3,  // 40-43 with the push's status
		phaseOther:   0,
		phaseAll:     43,
	}
	for p, w := range want {
		if math.Abs(got[p]-w) > 1e-9 {
			t.Errorf("phase %q: %v s, want %v s", p, got[p], w)
		}
	}
	if cached := tr.stepsIn(phaseBuild, true); len(cached) != 1 || !strings.HasPrefix(cached[0], "[linux/amd64 build 4/4]") {
		t.Errorf("cached build steps = %q, want the amd64 one", cached)
	}
	if ran := tr.stepsIn(phaseModules, false); len(ran) != 2 {
		t.Errorf("go mod download steps run = %q, want both", ran)
	}
	if log := tr.log(); log != "/out/app: ok linux/arm64\n" {
		t.Errorf("log = %q", log)
	}

	if _, err := parseTrace(strings.NewReader("#0 building\nERROR: failed\n")); err == nil {
		t.Error("parseTrace of a stream without progress: no error")
	}
	if _, err := parseTrace(strings.NewReader(`{"vertexes": [`)); err == nil {
		t.Error("parseTrace of a broken line: no error")
	}
}

func TestCheckTrace(t *testing.T) {
	tr, err := parseTrace(strings.NewReader(progressStream))
	if err != nil {
		t.Fatal(err)
	}
	// As a cold build it took a build step from the cache.
	if err := checkTrace(tr, false, true); err == nil || !strings.Contains(err.Error(), "a cold build took steps from the cache: [linux/amd64 build 4/4]") {
		t.Errorf("cold check: %v", err)
	}
	// As a warm one it ran go mod download again, and took a build from the cache.
	if err := checkTrace(tr, false, false); err == nil || !strings.Contains(err.Error(), "ran go mod download again") {
		t.Errorf("warm check: %v", err)
	}
	warm := strings.ReplaceAll(progressStream, `RUN go mod download","started"`, `RUN go mod download","cached":true,"started"`)
	warm = strings.Replace(warm, `,"cached":true,"started":"2026-12-01T10:00:12Z","completed":"2026-12-01T10:00:12Z"}`, `,"started":"2026-12-01T10:00:12Z","completed":"2026-12-01T10:00:30Z"}`, 1)
	if tr, err = parseTrace(strings.NewReader(warm)); err != nil {
		t.Fatal(err)
	}
	if err := checkTrace(tr, false, false); err != nil {
		t.Errorf("warm check of a warm build: %v", err)
	}
	// The cross build's log must show --xgo-verify for every platform of the comparison.
	if err := checkTrace(tr, true, false); err == nil || !strings.Contains(err.Error(), `"/out/app: ok linux/amd64"`) {
		t.Errorf("cross check without every --xgo-verify line: %v", err)
	}
}

func TestWritePhases(t *testing.T) {
	r := sampleResults()
	var b bytes.Buffer
	writeMarkdown(&b, r, "")
	if strings.Contains(b.String(), "by phase") {
		t.Errorf("results without phases show the section:\n%s", b.String())
	}
	c := Case{Group: groupDockerfile, Name: "hello, 4 platforms, push, cold (no BuildKit cache)",
		Ours: Side{Tool: "xgo-build in a $BUILDPLATFORM stage", Samples: []Sample{
			{Seconds: 20, Phases: map[string]float64{phaseBase: 2, phaseBuild: 10, phaseAll: 19}},
			{Seconds: 22, Phases: map[string]float64{phaseBase: 4, phaseBuild: 12, phaseAll: 21}},
		}},
		Theirs: Side{Tool: "go build under QEMU", Samples: []Sample{
			{Seconds: 200, Phases: map[string]float64{phaseBase: 3, phaseModules: 30, phaseBuild: 150, phaseExport: 1.5, phaseAll: 199}},
		}},
	}
	r.Cases = append(r.Cases, c)
	r.summarize()
	b.Reset()
	writeMarkdown(&b, r, "")
	for _, want := range []string{
		"## Dockerfile builds by phase\n",
		"| Case | Side | base image | modules | xgo-build | go build | export | other | all steps | Runs |\n|---|---|---|---|---|---|---|---|---|---|\n",
		"| Dockerfile in BuildKit, cross vs emulated: hello, 4 platforms, push, cold (no BuildKit cache) | xgo-build in a $BUILDPLATFORM stage | 3.00 s | - | - | 11.0 s | - | - | 20.0 s | 2 |\n",
		"| Dockerfile in BuildKit, cross vs emulated: hello, 4 platforms, push, cold (no BuildKit cache) | go build under QEMU | 3.00 s | 30.0 s | - | 150 s | 1.50 s | - | 199 s | 1 |\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q; got:\n%s", want, b.String())
		}
	}
}
