package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestForeignBinariesRun cross-builds the sample program with the shim and runs each
// binary under qemu-user: the output proves the binary is real code for that platform.
// binfmt_misc is not needed: qemu is called explicitly.
func TestForeignBinariesRun(t *testing.T) {
	skipShort(t, "cross-builds and emulates the sample program")
	tests := []struct {
		platform string
		qemu     string
	}{
		{"linux/arm64", "qemu-aarch64-static"},
		{"linux/arm/v7", "qemu-arm-static"},
		{"linux/ppc64le", "qemu-ppc64le-static"},
		{"linux/s390x", "qemu-s390x-static"},
		{"linux/riscv64", "qemu-riscv64-static"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.platform, "/", "_"), func(t *testing.T) {
			qemu := requireTool(t, tt.qemu, "install Debian's qemu-user-static (apt-get install qemu-user-static)")
			dir := filepath.Join(t.TempDir(), strings.ReplaceAll(tt.platform, "/", "-"))
			mustDo(t, os.Mkdir(dir, 0o755))
			bin := buildHello(t, tt.platform, dir)
			p := mustParse(t, tt.platform)
			if err := Verify(bin, p); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(qemu, bin).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", tt.qemu, bin, err, out)
			}
			want := "hello from " + p.OS + "/" + p.Arch + "\n"
			if string(out) != want {
				t.Errorf("%s printed %q, want %q", tt.platform, out, want)
			}
		})
	}
}
