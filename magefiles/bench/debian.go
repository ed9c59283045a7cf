package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// debianArches maps GOARCH values to Debian's names of the same architectures.
var debianArches = map[string]string{
	"amd64": "amd64", "386": "i386", "arm64": "arm64", "arm": "armhf",
	"riscv64": "riscv64", "ppc64le": "ppc64el", "s390x": "s390x",
}

// debianKeyring is the keyring of Debian's archive signing keys (package
// debian-archive-keyring), which apt checks the package lists with.
const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// debianSuite returns the Debian release to take the packages of the Debian architecture
// arch from: this machine's own (VERSION_CODENAME in osRelease, the text of
// /etc/os-release), or trixie, the first release with riscv64, where this machine's
// release predates that architecture.
func debianSuite(osRelease []byte, arch string) (string, error) {
	var id, codename string
	sc := bufio.NewScanner(bytes.NewReader(osRelease))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_CODENAME":
			codename = v
		}
	}
	if id != "debian" || codename == "" {
		return "", fmt.Errorf("this machine is not a Debian release (ID=%q, VERSION_CODENAME=%q): the bench takes Debian's packages for foreign architectures with apt", id, codename)
	}
	if arch == "riscv64" && slices.Contains([]string{"buster", "bullseye", "bookworm"}, codename) {
		return "trixie", nil
	}
	return codename, nil
}

// aptSources returns the sources.list of suite for the Debian architecture arch: the main
// component of the release, its updates and its security updates.
func aptSources(arch, suite string) string {
	opts := fmt.Sprintf("[arch=%s signed-by=%s]", arch, debianKeyring)
	return fmt.Sprintf("deb %s http://deb.debian.org/debian %s main\n", opts, suite) +
		fmt.Sprintf("deb %s http://deb.debian.org/debian %s-updates main\n", opts, suite) +
		fmt.Sprintf("deb %s http://deb.debian.org/debian-security %s-security main\n", opts, suite)
}

// aptOptions returns the apt-get options that give it a state of its own under dir, for the
// Debian architecture arch as if it were the machine's: the package lists, the archives and
// an empty dpkg status (so every dependency is downloaded), with sources.list in dir and no
// locking, since nothing else uses these files. The rest of the machine's apt configuration
// (proxies, for one) applies.
func aptOptions(dir, arch string) []string {
	return []string{
		"-o", "APT::Architecture=" + arch,
		"-o", "APT::Architectures::=" + arch,
		"-o", "Dir::State=" + filepath.Join(dir, "state"),
		"-o", "Dir::State::status=" + filepath.Join(dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "Dir::Etc::SourceList=" + filepath.Join(dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(dir, "sources.list.d"),
		"-o", "Debug::NoLocking=1",
		"-o", "Acquire::Languages=none",
		"-o", "APT::Get::List-Cleanup=0",
	}
}

// debianDownload downloads the Debian packages pkgs for the Debian architecture arch from
// suite, with the packages they depend on (not those they recommend), using an apt state of
// its own under dir (aptOptions): the machine's apt is neither used nor changed. It returns
// the downloaded .deb files.
func debianDownload(ctx context.Context, dir, arch, suite string, pkgs []string, log io.Writer) ([]string, error) {
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("fetching Debian's %s for %s: no %s on PATH (the bench takes them with Debian's apt)", strings.Join(pkgs, ", "), arch, tool)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	for _, d := range []string{"state/lists/partial", "cache/archives/partial", "sources.list.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(aptSources(arch, suite)), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "bench: downloading Debian %s's %s for %s (once)\n", suite, strings.Join(pkgs, ", "), arch)
	opts := aptOptions(dir, arch)
	env := withEnv(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{
		append(slices.Clone(opts), "update", "-qq"),
		append(append(slices.Clone(opts), "install", "-qq", "-y", "--download-only", "--no-install-recommends"), pkgs...),
	} {
		if _, err := (command{Env: env, Args: append([]string{"apt-get"}, args...)}).run(ctx); err != nil {
			return nil, fmt.Errorf("fetching Debian's %s for %s: %w", strings.Join(pkgs, ", "), arch, err)
		}
	}
	debs, err := filepath.Glob(filepath.Join(dir, "cache", "archives", "*.deb"))
	if err != nil {
		return nil, err
	}
	if len(debs) == 0 {
		return nil, fmt.Errorf("fetching Debian's %s for %s: apt-get downloaded nothing", strings.Join(pkgs, ", "), arch)
	}
	return debs, nil
}

// unpackDebs extracts the files of each .deb into root with dpkg-deb, as dpkg would install
// them (no maintainer scripts run).
func unpackDebs(ctx context.Context, debs []string, root string) error {
	for _, deb := range debs {
		if _, err := (command{Env: os.Environ(), Args: []string{"dpkg-deb", "--extract", deb, root}}).run(ctx); err != nil {
			return err
		}
	}
	return nil
}

// debianBusybox returns Debian's static busybox for goarch: busybox-static of the suite
// debianSuite picks, downloaded and unpacked under cache once.
func debianBusybox(ctx context.Context, cache, goarch string, log io.Writer) (string, error) {
	arch, ok := debianArches[goarch]
	if !ok {
		return "", fmt.Errorf("no Debian architecture for GOARCH=%s", goarch)
	}
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", err
	}
	suite, err := debianSuite(osRelease, arch)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(cache, "busybox", suite+"-"+arch)
	done := filepath.Join(dst, ".complete")
	find := func() (string, error) {
		for _, p := range []string{"bin/busybox", "usr/bin/busybox"} {
			if _, err := os.Stat(filepath.Join(dst, "root", p)); err == nil {
				return filepath.Join(dst, "root", p), nil
			}
		}
		return "", fmt.Errorf("busybox-static of Debian %s for %s has no bin/busybox", suite, arch)
	}
	if _, err := os.Stat(done); err == nil {
		return find()
	}
	debs, err := debianDownload(ctx, filepath.Join(dst, "apt"), arch, suite, []string{"busybox-static"}, log)
	if err != nil {
		return "", err
	}
	if err := unpackDebs(ctx, debs, filepath.Join(dst, "root")); err != nil {
		return "", err
	}
	p, err := find()
	if err != nil {
		return "", err
	}
	return p, os.WriteFile(done, nil, 0o644)
}
