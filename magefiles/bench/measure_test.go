package bench

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestWithEnv(t *testing.T) {
	got := withEnv([]string{"A=1", "GOOS=windows", "B=2", "GOOS=plan9", "GOARCH=386"}, "GOOS=linux", "GOARCH", "C=3")
	want := []string{"A=1", "B=2", "GOOS=linux", "C=3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("withEnv = %q, want %q", got, want)
	}
}

// TestMeasureMaxRSS runs a child that touches a known amount of memory and checks that its
// peak resident set is reported at least that large.
func TestMeasureMaxRSS(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := command{Args: []string{exe}, Env: append(os.Environ(), "BENCH_HELPER_ALLOCATE=1")}
	s, out, err := c.measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "allocated") {
		t.Fatalf("helper did not run; output %q", out)
	}
	if runtime.GOOS == "linux" && s.MaxRSS < 64<<20 {
		t.Errorf("MaxRSS = %d, want at least the 64 MiB the child touched", s.MaxRSS)
	}
	if s.Seconds <= 0 || s.CPU <= 0 {
		t.Errorf("Seconds = %v, CPU = %v, want positive durations", s.Seconds, s.CPU)
	}
}

// TestMeasureMaxRSSCoversDescendants checks the claim the results make about process trees:
// the peak reported for a shell that runs the allocating child is at least the child's.
func TestMeasureMaxRSSCoversDescendants(t *testing.T) {
	if runtime.GOOS != "linux" {
		return // the claim is about Linux's wait4
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := command{Args: []string{"sh", "-c", `"$0"; echo shell done`, exe}, Env: append(os.Environ(), "BENCH_HELPER_ALLOCATE=1")}
	s, out, err := c.measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "allocated") || !strings.Contains(string(out), "shell done") {
		t.Fatalf("helper did not run under the shell; output %q", out)
	}
	if s.MaxRSS < 64<<20 {
		t.Errorf("MaxRSS = %d for a shell whose child touched 64 MiB, want at least that", s.MaxRSS)
	}
}

// TestMain doubles as the child of TestMeasureMaxRSS: with BENCH_HELPER_ALLOCATE=1 it touches
// 64 MiB, says so and exits.
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_HELPER_ALLOCATE") == "1" {
		b := make([]byte, 64<<20)
		for i := range b {
			b[i] = byte(i)
		}
		fmt.Printf("allocated %d\n", b[len(b)-1])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMeasureFailureCarriesOutput(t *testing.T) {
	c := command{Args: []string{"sh", "-c", "echo first; echo the reason >&2; exit 3"}}
	_, _, err := c.measure(context.Background())
	if err == nil || !strings.Contains(err.Error(), "the reason") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("error = %v, want the exit status and the output", err)
	}
}

func TestBaseEnv(t *testing.T) {
	got := baseEnv([]string{"HOME=/root", "GOOS=windows", "XGO_REPO=x", "KO_DOCKER_REPO=y", "KOCACHE=/k", "GOFLAGS=-v", "TARGETARCH=arm64", "GOCACHE=/c"})
	want := []string{"HOME=/root", "GOFLAGS=-v"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("baseEnv = %q, want %q", got, want)
	}
}
