//go:build unix

package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// within fails the test when f does not return within ten seconds: a regression that waits
// on a FIFO fails instead of hanging.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after 10s")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		path  string
		limit int64
		want  error // nil: the ten bytes
	}{
		"regular":           {regular, 10, nil},
		"too large":         {regular, 9, ErrTooLarge},
		"link to a file":    {link, 10, ErrNotRegular},
		"directory":         {dir, 10, ErrNotRegular},
		"missing":           {filepath.Join(dir, "none"), 10, os.ErrNotExist},
		"link to /dev/zero": {filepath.Join(dir, "zero"), 1 << 20, ErrNotRegular},
		"FIFO":              {filepath.Join(dir, "fifo"), 1 << 20, ErrNotRegular},
	}
	if err := os.Symlink("/dev/zero", cases["link to /dev/zero"].path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(cases["FIFO"].path, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			within(t, func() {
				data, err := ReadFile(tc.path, tc.limit)
				if tc.want == nil {
					if err != nil || string(data) != "0123456789" {
						t.Errorf("ReadFile: %q, %v", data, err)
					}
					return
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("ReadFile: %q, %v; want %v", data, err, tc.want)
				}
			})
		})
	}
}

// TestOpenFIFO checks that a FIFO is refused even when it takes the place of a regular file
// between the lstat and the open: the open itself does not wait for a writer.
func TestOpenFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	within(t, func() {
		f, err := open(fifo)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		f.Close()
	})
}
