package shred

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// File overwrites the regular file at path and removes it, as opt says,
// and reports the assurance the storage allows. A nil error means the
// file reached its level: removed, kept (opt.Keep) or planned
// (opt.DryRun). A refusal wraps ErrRefused; an interruption wraps ctx's
// error and leaves the file in place at its size, partly overwritten, for
// a second run to finish. The Result is filled in every case.
func File(ctx context.Context, path string, opt Options) (Result, error) {
	r := newResult(path)
	if err := opt.Validate(); err != nil {
		return r.fail(err)
	}
	dirPath, name := filepath.Split(filepath.Clean(path))
	if name == "" || name == "." || name == ".." {
		r.Type = "directory"
		return r.refused(notRegular("directory"))
	}
	if dirPath == "" {
		dirPath = "."
	}
	dir, err := openDir(dirPath)
	if err != nil {
		return r.fail(err)
	}
	defer dir.Close()
	j := &job{h: newHost(), opt: opt, dir: dir, name: name, r: &r}
	return j.run(ctx)
}

// job is one file's shred: the directory that names it, its descriptors
// and what is known so far.
type job struct {
	h    host
	opt  Options
	dir  *os.File
	name string
	r    *Result
	st   unix.Stat_t
	ro   *os.File // read-only; holds the lock
	rw   *os.File // read-write; nil in dry runs
}

func (j *job) run(ctx context.Context) (Result, error) {
	defer j.close()
	r := j.r
	if res, err, stop := j.check(ctx); stop {
		return res, err
	}
	r.apply(j.h.assess(j.ro, r.Path, &j.st, j.opt))
	if r.Assurance == Refused {
		r.Status = StatusRefused
		return r.refusedErr()
	}
	length := roundUp(j.st.Size, j.blockSize())
	passes := j.opt.passes()
	if j.opt.Zero {
		passes++
	}
	r.BytesPlanned = length * int64(passes)
	if j.opt.DryRun {
		r.Status = StatusPlanned
		return *r, nil
	}
	return j.shred(ctx, length)
}

// check runs every refusal rule before anything is written. stop says
// the job ends here with res and err.
func (j *job) check(ctx context.Context) (res Result, err error, stop bool) {
	r := j.r
	if err := unix.Fstatat(int(j.dir.Fd()), j.name, &j.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		res, err = r.fail(err)
		return res, err, true
	}
	r.Type = fileType(j.st.Mode)
	if r.Type != "file" {
		res, err = r.refused(notRegular(r.Type))
		return res, err, true
	}
	r.Size = j.st.Size
	ro, err := openAt(j.dir, j.name, unix.O_RDONLY)
	if err != nil {
		if code, text := openWriteRefusal(err); code == "symlink" {
			res, err = r.refused(code, text)
			return res, err, true
		}
		res, err = r.fail(err)
		return res, err, true
	}
	j.ro = ro
	var st unix.Stat_t
	if err := unix.Fstat(int(ro.Fd()), &st); err != nil {
		res, err = r.fail(err)
		return res, err, true
	}
	if !statEqual(&st, &j.st) || st.Mode&unix.S_IFMT != unix.S_IFREG {
		res, err = r.refused("replaced", replaced)
		return res, err, true
	}
	j.st = st
	r.Size = st.Size
	if held, err := lock(ro); err != nil {
		res, err = r.fail(fmt.Errorf("flock: %w", err))
		return res, err, true
	} else if !held {
		res, err = r.refused("locked", "another process holds a lock on it (flock), perhaps another ckpt shred")
		return res, err, true
	}
	if code, why := permissionProblem(j.dir, j.name, &st, j.opt.Keep); code != "" {
		res, err = r.refused(code, why)
		return res, err, true
	}
	if st.Nlink > 1 {
		r.warn(hardLinkWarning(int(st.Nlink-1), j.opt.Keep))
	}
	reason, err := settle(ctx, ro, &st, j.opt.settle())
	if err != nil {
		res, err = j.stopped(err, 0)
		return res, err, true
	}
	if reason != "" {
		res, err = r.refused("being-written", reason)
		return res, err, true
	}
	ws, hidden, err := j.h.writers(st.Dev, st.Ino, -1)
	if err != nil {
		r.warn(fmt.Sprintf("could not scan /proc for processes writing the file: %v", err))
	}
	if hidden > 0 {
		r.warn(fmt.Sprintf("could not inspect %d processes of other users for writers (needs root)", hidden))
	}
	if len(ws) > 0 {
		res, err = r.refused(describeHolders(ws))
		return res, err, true
	}
	return Result{}, nil, false
}

// shred writes the passes, verifies, and removes or keeps the file.
func (j *job) shred(ctx context.Context, length int64) (Result, error) {
	r := j.r
	rw, err := openAt(j.dir, j.name, unix.O_RDWR)
	if err != nil {
		if code, text := openWriteRefusal(err); code != "" {
			return r.refused(code, text)
		}
		return r.fail(err)
	}
	j.rw = rw
	var st unix.Stat_t
	if err := unix.Fstat(int(rw.Fd()), &st); err != nil || !statEqual(&st, &j.st) {
		return r.refused("replaced", replaced)
	}
	var before []extent
	if j.opt.Discard {
		before, _ = fiemap(int(rw.Fd())) // where the plaintext is, before copy-on-write moves it
	}
	if j.opt.Begin != nil {
		j.opt.Begin(r.Path, r.BytesPlanned)
	}
	w := newOverwriter(rw, length, j.opt.Progress)
	if err := j.passes(ctx, w); err != nil {
		return j.stopped(err, w.written)
	}
	if err := j.afterPasses(length); err != nil {
		j.restoreSize()
		return r.fail(err)
	}
	if j.opt.Keep {
		if err := j.restoreSize(); err != nil {
			return r.fail(err)
		}
		r.Status = StatusKept
		return *r, nil
	}
	after, _ := fiemap(int(rw.Fd()))
	if err := removeFile(j.dir, j.name, rw, &j.st); err != nil {
		return r.fail(err)
	}
	r.Status = StatusRemoved
	if j.opt.Discard {
		n, err := trim(j.dir, append(before, after...))
		r.Discarded = n
		if err != nil {
			r.warn("discard: " + err.Error())
		}
	}
	return *r, nil
}

// passes writes every pass and verifies the last one when asked.
func (j *job) passes(ctx context.Context, w *overwriter) error {
	var last pattern
	for range j.opt.passes() {
		ks, err := newKeystream()
		if err != nil {
			return err
		}
		if err := w.pass(ctx, ks); err != nil {
			return err
		}
		j.r.Passes++
		last = ks
	}
	if j.opt.Zero {
		if err := w.pass(ctx, zeros{}); err != nil {
			return err
		}
		j.r.Passes++
		last = zeros{}
	}
	j.r.BytesWritten = w.written
	if j.opt.Verify {
		if err := w.verify(ctx, last); err != nil {
			return err
		}
		j.r.Verified = true
	}
	return nil
}

// afterPasses fails the shred when someone wrote to the file meanwhile:
// the lock is advisory, so a writer that ignores it is caught here.
func (j *job) afterPasses(length int64) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(j.rw.Fd()), &st); err != nil {
		return err
	}
	if st.Size > max(length, j.st.Size) {
		return fmt.Errorf("it grew from %d to %d bytes during the shred: another process is writing it; not removed", j.st.Size, st.Size)
	}
	ws, _, _ := j.h.writers(j.st.Dev, j.st.Ino, int(j.rw.Fd()))
	if len(ws) > 0 {
		_, why := describeHolders(ws)
		return fmt.Errorf("%s (since the checks); not removed", why)
	}
	return nil
}

// restoreSize truncates the block-size slack written past the end of
// the file, so a kept or interrupted file keeps its size.
func (j *job) restoreSize() error {
	if j.rw == nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(j.rw.Fd()), &st); err != nil {
		return err
	}
	if st.Size == j.st.Size {
		return nil
	}
	if err := j.rw.Truncate(j.st.Size); err != nil {
		return fmt.Errorf("restoring the size: %w", err)
	}
	return j.rw.Sync()
}

// stopped reports an interruption or a write error in the middle of the
// passes. What was written is made durable and the size restored, so the
// file can be shredded again from the start.
func (j *job) stopped(err error, written int64) (Result, error) {
	r := j.r
	r.BytesWritten = written
	if j.rw != nil {
		_ = unix.Fdatasync(int(j.rw.Fd()))
		_ = j.restoreSize()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if written > 0 {
			r.Status = StatusPartial
			r.Error = fmt.Sprintf("interrupted after overwriting %d of %d bytes; run again to finish", written, r.BytesPlanned)
		} else {
			r.Status = StatusFailed
			r.Error = "interrupted before anything was written"
		}
		return *r, fmt.Errorf("%s: %s: %w", r.Path, r.Error, err)
	}
	return r.fail(err)
}

func (j *job) blockSize() int64 {
	var sfs unix.Statfs_t
	if unix.Fstatfs(int(j.ro.Fd()), &sfs) == nil && sfs.Bsize >= 512 && sfs.Bsize <= 1<<20 {
		return int64(sfs.Bsize)
	}
	return 4096
}

func (j *job) close() {
	if j.rw != nil {
		j.rw.Close()
	}
	if j.ro != nil {
		j.ro.Close() // releases the lock
	}
}

// hardLinkWarning says what other names of the file see: the same inode,
// so the overwrite (and, on removal, the truncation) reaches them too, but
// their names stay, revealing that the file existed.
func hardLinkWarning(others int, keep bool) string {
	names := "1 other hard link names"
	if others > 1 {
		names = fmt.Sprintf("%d other hard links name", others)
	}
	if keep {
		return names + " this file: they read the overwritten data"
	}
	return names + " this file: its data is overwritten and truncated for them too, but only this name is removed"
}

// roundUp rounds n up to a multiple of bs.
func roundUp(n, bs int64) int64 {
	return (n + bs - 1) / bs * bs
}

// fail records an error that stopped the shred.
func (r *Result) fail(err error) (Result, error) {
	r.Status = StatusFailed
	if r.Assurance == "" || r.BytesWritten == 0 {
		r.Assurance = Refused
	}
	r.Error = errText(err)
	return *r, fmt.Errorf("%s: %w", r.Path, err)
}

// refused records a refusal and returns the matching error.
func (r *Result) refused(code, text string) (Result, error) {
	r.refuse(code, text)
	return r.refusedErr()
}

func (r *Result) refusedErr() (Result, error) {
	return *r, fmt.Errorf("%s: %w: %s", r.Path, ErrRefused, strings.Join(r.Reasons, "; "))
}

// errText is an error's message without the path prefix os adds.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}
