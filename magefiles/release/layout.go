package release

import (
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// writeLayout writes idx as an OCI image layout at dir: index.json holds one
// descriptor, of idx, so that `skopeo copy --all oci:dir ...` and crane take
// the whole multi-platform image. The layout is written into a sibling
// directory named ".<dir>.incomplete-*" and renamed to dir only when it is
// complete; an existing dir is replaced only then. A failed write removes
// the sibling and leaves dir as it was.
func writeLayout(dir string, idx v1.ImageIndex) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".incomplete-")
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return replaceDir(tmp, dir)
}

// replaceDir renames src to dst; an existing dst is moved aside first and
// removed once src is in place (or put back if the rename fails).
func replaceDir(src, dst string) error {
	if _, err := os.Lstat(dst); os.IsNotExist(err) {
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("writing OCI layout %s: %w", dst, err)
		}
		return nil
	}
	old, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".old-")
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dst, err)
	}
	aside := filepath.Join(old, "layout")
	if err := os.Rename(dst, aside); err != nil {
		os.Remove(old)
		return fmt.Errorf("writing OCI layout %s: moving the old layout aside: %w", dst, err)
	}
	if err := os.Rename(src, dst); err != nil {
		if rerr := os.Rename(aside, dst); rerr != nil {
			return fmt.Errorf("writing OCI layout %s: %w (and restoring the old one: %v)", dst, err, rerr)
		}
		os.Remove(old)
		return fmt.Errorf("writing OCI layout %s: %w", dst, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("writing OCI layout %s: removing the old layout: %w", dst, err)
	}
	return nil
}
