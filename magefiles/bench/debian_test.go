package bench

import (
	"strings"
	"testing"
)

func TestDebianSuite(t *testing.T) {
	bookworm := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"
	trixie := strings.ReplaceAll(bookworm, "bookworm", "trixie")
	for _, tt := range []struct {
		osRelease, arch, want string
	}{
		{bookworm, "arm64", "bookworm"},
		{bookworm, "armhf", "bookworm"},
		{bookworm, "riscv64", "trixie"}, // bookworm has no riscv64
		{trixie, "riscv64", "trixie"},
		{trixie, "arm64", "trixie"},
	} {
		got, err := debianSuite([]byte(tt.osRelease), tt.arch)
		if err != nil || got != tt.want {
			t.Errorf("debianSuite(%s, %s) = %q, %v; want %q", tt.osRelease[strings.Index(tt.osRelease, "CODENAME="):], tt.arch, got, err, tt.want)
		}
	}
	for _, bad := range []string{"ID=ubuntu\nVERSION_CODENAME=noble\n", "ID=debian\n", ""} {
		if got, err := debianSuite([]byte(bad), "arm64"); err == nil {
			t.Errorf("debianSuite(%q) = %q, want an error", bad, got)
		}
	}
}

func TestAptSources(t *testing.T) {
	got := aptSources("riscv64", "trixie")
	want := "deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n" +
		"deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-updates main\n" +
		"deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main\n"
	if got != want {
		t.Errorf("aptSources =\n%s\nwant\n%s", got, want)
	}
}

func TestAptOptions(t *testing.T) {
	opts := strings.Join(aptOptions("/c/apt", "arm64"), " ")
	for _, want := range []string{
		"-o APT::Architecture=arm64", "-o APT::Architectures::=arm64",
		"-o Dir::State=/c/apt/state", "-o Dir::State::status=/c/apt/status", "-o Dir::Cache=/c/apt/cache",
		"-o Dir::Etc::SourceList=/c/apt/sources.list", "-o Debug::NoLocking=1",
	} {
		if !strings.Contains(opts, want) {
			t.Errorf("aptOptions lacks %q: %s", want, opts)
		}
	}
	// Nothing of the machine's own apt state is named.
	if strings.Contains(opts, "/var/lib") || strings.Contains(opts, "/etc/apt") {
		t.Errorf("aptOptions names the machine's apt state: %s", opts)
	}
}
