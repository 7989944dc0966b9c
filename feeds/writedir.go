package feeds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WriteResult says what WriteDir did.
type WriteResult struct {
	Written   []string // files (relative to dir) replaced or created
	Unchanged int      // files that already held the same bytes
}

// WriteDir writes the subscription feeds, byte for byte as served, under
// dir mirroring their URL paths (/feeds/society.rss → DIR/feeds/society.rss),
// each with FILE.gz beside it holding the gzip bytes the Set serves (for a
// static server's precompressed files, nginx's gzip_static).
// Each file is written atomically: a temporary file in the same directory,
// fsync, rename, then fsync of the directory. Files that already hold the
// same bytes are left alone. The default icon the feeds name (IconPath) is
// written too, when no brand icon replaces it.
func (s *Set) WriteDir(ctx context.Context, dir string) (WriteResult, error) {
	snap := s.snap.Load()
	var res WriteResult
	for _, p := range snap.paths {
		if err := writeResource(ctx, dir, snap.byPath[p], &res); err != nil {
			return res, err
		}
	}
	if s.icon != nil {
		if err := writeOne(ctx, dir, s.icon.path, s.icon.plain.body, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// WriteArchives writes every complete archive page (see ArchivePaths) the
// same way, building the ones not cached yet. It is slower than WriteDir
// on a large archive, so it is meant for `feeds build --out` rather than
// for every scheduled build.
func (s *Set) WriteArchives(ctx context.Context, dir string) (WriteResult, error) {
	var res WriteResult
	paths, err := s.ArchivePaths(ctx)
	if err != nil {
		return res, err
	}
	for _, p := range paths {
		r, err := s.onRequest(ctx, p)
		if err != nil {
			return res, err
		}
		if err := writeResource(ctx, dir, r, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// WriteSite builds every feed, as "syndicated feeds build" does, and
// writes the subscription feeds (WriteDir) and every archive page
// (WriteArchives) under dir; it names each file written on report, then
// says how many were written and left alone.
func (s *Set) WriteSite(ctx context.Context, dir string, report io.Writer) error {
	if _, err := s.Rebuild(ctx); err != nil {
		return err
	}
	res, err := s.WriteDir(ctx, dir)
	if err != nil {
		return err
	}
	arch, err := s.WriteArchives(ctx, dir)
	if err != nil {
		return err
	}
	for _, f := range append(res.Written, arch.Written...) {
		fmt.Fprintln(report, "wrote", filepath.Join(dir, f))
	}
	fmt.Fprintf(report, "%d files written, %d unchanged, in %s\n",
		len(res.Written)+len(arch.Written), res.Unchanged+arch.Unchanged, dir)
	return nil
}

// writeResource writes r's bytes at its path and its gzip bytes beside.
func writeResource(ctx context.Context, dir string, r *resource, res *WriteResult) error {
	if err := writeOne(ctx, dir, r.path, r.plain.body, res); err != nil {
		return err
	}
	return writeOne(ctx, dir, r.path+".gz", r.gz.body, res)
}

func writeOne(ctx context.Context, dir, urlPath string, body []byte, res *WriteResult) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("feeds: write %s: %w", dir, err)
	}
	rel := filepath.FromSlash(strings.TrimPrefix(urlPath, "/"))
	if !filepath.IsLocal(rel) {
		return fmt.Errorf("feeds: write %s: path %q escapes the directory", dir, urlPath)
	}
	name := filepath.Join(dir, rel)
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, body) {
		res.Unchanged++
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("feeds: write: %w", err)
	}
	if err := writeAtomic(name, body); err != nil {
		return fmt.Errorf("feeds: write: %w", err)
	}
	res.Written = append(res.Written, filepath.ToSlash(rel))
	return nil
}

func writeAtomic(name string, body []byte) (err error) {
	d := filepath.Dir(name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(body); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	df, derr := os.Open(d)
	if derr != nil {
		return nil // renamed; the directory sync is best effort
	}
	defer df.Close()
	_ = df.Sync()
	return nil
}
