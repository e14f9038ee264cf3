package shred

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// Dir shreds every regular file under root, depth first in name order,
// and then (unless opt.Keep or opt.DryRun) removes each directory it
// emptied, root included, renaming it first like a file. Symbolic links
// are never followed; they, FIFOs, sockets and devices inside are refused
// and left in place, and so are the directories that hold them. A root
// that is not a directory is handled by File.
//
// The error is nil when every file reached its level; otherwise it joins
// the errors of the files that did not. An interruption stops the walk at
// the current file.
func Dir(ctx context.Context, root string, opt Options) ([]Result, error) {
	if err := opt.Validate(); err != nil {
		r := newResult(root)
		res, err := r.fail(err)
		return []Result{res}, err
	}
	clean := filepath.Clean(root)
	var st unix.Stat_t
	if err := unix.Lstat(clean, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		r, err := File(ctx, root, opt)
		return []Result{r}, err
	}
	parentPath, name := filepath.Split(clean)
	removable := name != "" && name != "." && name != ".."
	if !removable {
		parentPath, name = clean, "."
	}
	if parentPath == "" {
		parentPath = "."
	}
	parent, err := openDir(parentPath)
	if err != nil {
		r := newResult(root)
		res, err := r.fail(err)
		return []Result{res}, err
	}
	defer parent.Close()
	w := &walker{h: newHost(), opt: opt}
	w.dir(ctx, parent, name, root, &st, removable)
	if len(w.errs) > 0 {
		return w.results, errors.Join(w.errs...)
	}
	return w.results, nil
}

// walker carries one Dir call's results.
type walker struct {
	h       host
	opt     Options
	results []Result
	errs    []error
}

func (w *walker) add(r Result, err error) {
	w.results = append(w.results, r)
	if err != nil {
		w.errs = append(w.errs, err)
	}
}

// dir shreds the directory name in parent, shown as path, and reports
// whether it is gone (or, in a dry run, would be).
func (w *walker) dir(ctx context.Context, parent *os.File, name, path string, st *unix.Stat_t, removable bool) bool {
	d, err := openAt(parent, name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		w.add(w.dirResult(path).fail(err))
		return false
	}
	defer d.Close()
	var dst unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &dst); err != nil || !statEqual(&dst, st) {
		r := w.dirResult(path)
		w.add(r.refused("replaced", replaced))
		return false
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		w.add(w.dirResult(path).fail(fmt.Errorf("reading directory: %w", err)))
		return false
	}
	sort.Strings(names)
	empty := true
	for _, n := range names {
		if ctx.Err() != nil {
			w.errs = append(w.errs, fmt.Errorf("%s: %w", path, ctx.Err()))
			return false
		}
		if !w.entry(ctx, d, n, filepath.Join(path, n)) {
			empty = false
		}
	}
	if !removable || !empty || w.opt.Keep || w.opt.DryRun || ctx.Err() != nil {
		return empty
	}
	if err := removeDir(parent, name, st); err != nil {
		w.add(w.dirResult(path).fail(err))
		return false
	}
	return true
}

// entry shreds one directory entry and reports whether it is gone.
func (w *walker) entry(ctx context.Context, d *os.File, name, path string) bool {
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		r := newResult(path)
		w.add(r.fail(err))
		return false
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return w.dir(ctx, d, name, path, &st, true)
	}
	r := newResult(path)
	j := &job{h: w.h, opt: w.opt, dir: d, name: name, r: &r}
	res, err := j.run(ctx)
	w.add(res, err)
	return res.Status == StatusRemoved || res.Status == StatusPlanned
}

func (w *walker) dirResult(path string) *Result {
	r := newResult(path)
	r.Type = "directory"
	return &r
}
