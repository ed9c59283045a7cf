package shim

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRunChildStatus(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run as a child")
	}
	for _, code := range []int{0, 1, 3, 2} {
		var out bytes.Buffer
		got, err := runChild(sh, []string{"sh", "-c", `echo "$X"; exit ` + string(rune('0'+code))}, []string{"X=from-env"}, nil, &out, &out)
		if err != nil || got != code {
			t.Errorf("runChild exit %d = %d, %v", code, got, err)
		}
		if out.String() != "from-env\n" {
			t.Errorf("child printed %q, want its env's X", out.String())
		}
	}
	_, err = runChild("/nonexistent/go", []string{"go"}, os.Environ(), nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), `running "/nonexistent/go": `) {
		t.Errorf("runChild of a missing program: %v, want a 'running' error", err)
	}
}
