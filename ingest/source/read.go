package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// ReadOptions bound ReadFile.
type ReadOptions struct {
	// Limit is the most bytes read; a file holding more is refused.
	Limit int64
	// Timeout bounds opening and reading one file (a file on a stalled
	// network mount); 0: only the context does.
	Timeout time.Duration
}

// ReadFile reads the file at path in fsys, named name in errors. Only a
// regular file is read (a symbolic link is followed to one): a named pipe,
// a device such as /dev/zero, a socket or a directory is refused without
// being opened, since opening a pipe waits for a writer and a device may
// never end. At most Limit bytes are read, whatever the file's stat size
// says. Open and read run apart from the caller, which stops waiting when
// ctx ends or Timeout passes: a file that blocks never holds up a scan or a
// shutdown (the blocked read is left to finish on its own and its file is
// closed then).
func ReadFile(ctx context.Context, fsys fs.FS, path, name string, opts ReadOptions) ([]byte, error) {
	st, err := fs.Stat(fsys, path)
	if err != nil {
		return nil, &Error{File: name, Err: pathError(err)}
	}
	if err := regular(st, opts.Limit); err != nil {
		return nil, &Error{File: name, Err: err}
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := readRegular(fsys, path, opts.Limit)
		done <- result{data, err}
	}()
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case r := <-done:
		if r.err != nil {
			return nil, &Error{File: name, Err: r.err}
		}
		return r.data, nil
	case <-ctx.Done():
		return nil, &Error{File: name, Err: fmt.Errorf("not read: %w", ctx.Err())}
	case <-timeout:
		return nil, &Error{File: name, Err: fmt.Errorf("not read within %s: the file blocks (a stalled mount?)", opts.Timeout)}
	}
}

// readRegular opens path, checks again that what it opened is a regular
// file within limit (the name may have been swapped since the first
// look), and reads at most limit bytes.
func readRegular(fsys fs.FS, path string, limit int64) ([]byte, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, pathError(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, pathError(err)
	}
	if err := regular(st, limit); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, pathError(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("more than the limit of %d bytes", limit)
	}
	return data, nil
}

// regular refuses what is not a regular file, or a file whose stat size is
// already over limit.
func regular(st fs.FileInfo, limit int64) error {
	if kind := fileKind(st.Mode()); kind != "" {
		return fmt.Errorf("not a regular file but %s: only regular files are read", kind)
	}
	if st.Size() > limit {
		return fmt.Errorf("file is %d bytes, more than the limit of %d", st.Size(), limit)
	}
	return nil
}

// fileKind names what a mode that is not a regular file's is; "" for a
// regular file.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}

// pathError drops the path a *fs.PathError repeats (the caller names the
// file): "open: permission denied".
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
