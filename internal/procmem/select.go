package procmem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/ctxio"
	"github.com/ckpt-dev/ckpt/mem"
	"github.com/ckpt-dev/ckpt/proc"
)

// Errors that say why a process's memory cannot be read. They are wrapped
// in an *archive.Error that names the archive and the image.
var (
	ErrNoMemory    = errors.New("a zombie has no memory")
	ErrAmbiguous   = errors.New("pid is in more than one container of the pod archive")
	ErrNoContainer = errors.New("no such container in the archive")
	ErrOutside     = errors.New("outside every mapping")
	ErrNoMapping   = errors.New("no such mapping")
)

// Select names a process: its pid and, in a pod archive where pids repeat
// across containers, its container.
type Select struct {
	// Container is the container's name in a pod archive (its directory
	// in the archive); empty means any.
	Container string
	// PID is the process id; 0 means every process.
	PID uint32
}

func (s Select) matches(c *archive.Checkpoint) bool {
	return s.Container == "" || strings.TrimSuffix(c.Prefix, "/") == s.Container
}

// key identifies a process across the containers of an archive.
type key struct {
	prefix string
	pid    uint32
}

// failf wraps err as an archive error about an entry of checkpoint c.
func failf(a *archive.Archive, c *archive.Checkpoint, entry string, err error) error {
	var ae *archive.Error
	if errors.As(err, &ae) {
		return err
	}
	if entry != "" {
		entry = c.Prefix + "checkpoint/" + entry
	}
	return &archive.Error{Archive: a.Name(), Entry: entry, Err: err}
}

// imageError returns the decoding error of any of the named images.
func imageError(c *archive.Checkpoint, names ...string) error {
	for _, ie := range c.ImageErrors {
		if slices.Contains(names, ie.Name) {
			return ie.Err
		}
	}
	return nil
}

// checkpoints returns the checkpoints sel may refer to.
func checkpoints(a *archive.Archive, contents *archive.Contents, sel Select) ([]*archive.Checkpoint, error) {
	var out []*archive.Checkpoint
	var names []string
	for _, c := range contents.Checkpoints {
		names = append(names, strings.TrimSuffix(c.Prefix, "/"))
		if sel.matches(c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, &archive.Error{Archive: a.Name(), Err: fmt.Errorf("container %q: %w (containers: %s)", sel.Container, ErrNoContainer, strings.Join(names, ", "))}
	}
	return out, nil
}

// tree builds the process tree of c.
func tree(a *archive.Archive, c *archive.Checkpoint) (*proc.Tree, error) {
	if err := imageError(c, "pstree.img", "files.img", "fs.img"); err != nil {
		return nil, err
	}
	t, err := proc.Build(c.Images)
	if err != nil {
		return nil, failf(a, c, "", err)
	}
	return t, nil
}

// target is one selected process.
type target struct {
	c    *archive.Checkpoint
	tree *proc.Tree
	p    *proc.Process
}

// all returns every process of the checkpoints sel names, in order.
func all(a *archive.Archive, contents *archive.Contents, sel Select) ([]*target, error) {
	cs, err := checkpoints(a, contents, sel)
	if err != nil {
		return nil, err
	}
	var out []*target
	for _, c := range cs {
		t, err := tree(a, c)
		if err != nil {
			return nil, err
		}
		for _, p := range t.Processes {
			out = append(out, &target{c, t, p})
		}
	}
	return out, nil
}

// find returns the process sel names, which must have memory.
func find(a *archive.Archive, contents *archive.Contents, sel Select) (*target, error) {
	tg, err := findAny(a, contents, sel)
	if err != nil {
		return nil, err
	}
	if err := hasMemory(a, tg.c, tg.p); err != nil {
		return nil, err
	}
	return tg, nil
}

// findAny returns the process sel names.
func findAny(a *archive.Archive, contents *archive.Contents, sel Select) (*target, error) {
	cs, err := checkpoints(a, contents, sel)
	if err != nil {
		return nil, err
	}
	var found []*target
	var pids []string
	for _, c := range cs {
		t, err := tree(a, c)
		if err != nil {
			return nil, err
		}
		if p, err := t.Find(sel.PID); err == nil {
			found = append(found, &target{c, t, p})
		}
		for _, p := range t.Processes {
			pids = append(pids, strconv.Itoa(int(p.PID)))
		}
	}
	switch {
	case len(found) > 1:
		return nil, &archive.Error{Archive: a.Name(), Err: fmt.Errorf("pid %d: %w", sel.PID, ErrAmbiguous)}
	case len(found) == 0:
		return nil, failf(a, cs[0], "pstree.img", fmt.Errorf("pid %d: %w (pids: %s)", sel.PID, proc.ErrNoProcess, strings.Join(pids, ", ")))
	}
	return found[0], nil
}

// hasMemory explains why a process has no memory image, if it has none.
func hasMemory(a *archive.Archive, c *archive.Checkpoint, p *proc.Process) error {
	mmName := fmt.Sprintf("mm-%d.img", p.PID)
	if err := imageError(c, mmName, fmt.Sprintf("pagemap-%d.img", p.PID)); err != nil {
		return err
	}
	if p.MM != nil {
		return nil
	}
	if p.State == "zombie" || p.State == "dead" {
		return failf(a, c, fmt.Sprintf("core-%d.img", p.PID), fmt.Errorf("pid %d is a zombie (task state %s): %w", p.PID, p.State, ErrNoMemory))
	}
	return failf(a, c, mmName, fmt.Errorf("%w (pid %d is %s, so it should have one)", archive.ErrMissing, p.PID, p.State))
}

// pages adapts a per-process callback to archive.LoadOptions.Pages for
// the processes want accepts, and remembers which processes it saw, so
// that a missing pages image is an error rather than silence.
type pages struct {
	ctx      context.Context
	progress func(int64)
	a        *archive.Archive
	want     func(c *archive.Checkpoint, pid uint32, shmid uint32, shmem bool) bool
	fn       func(c *archive.Checkpoint, pid uint32, shmid uint32, ix *criu.PageIndex, r io.Reader) error
	seen     map[key]bool
	orphans  map[string]bool // pages images no pagemap referred to
	// mmOf is a process whose mm want reads for every pages image (shared
	// memory it maps); 0 for none.
	mmOf uint32
	read func(*archive.Checkpoint, *archive.PagesImage) error
}

func newPages(ctx context.Context, a *archive.Archive, progress func(int64), want func(*archive.Checkpoint, uint32, uint32, bool) bool, fn func(*archive.Checkpoint, uint32, uint32, *criu.PageIndex, io.Reader) error) *pages {
	pg := &pages{ctx: ctx, progress: progress, a: a, want: want, fn: fn, seen: map[key]bool{}, orphans: map[string]bool{}}
	pg.read = pg.adapter()
	return pg
}

func (pg *pages) hook(c *archive.Checkpoint, p *archive.PagesImage) error {
	if !p.Final && pg.mmOf != 0 && mmOf(c, pg.mmOf) == nil {
		return archive.ErrNotYet
	}
	return pg.read(c, p)
}

// processPages is newPages for the commands that read one process (read,
// core): fn gets that process's pages with its memory descriptor, once; a
// second process of that pid (in another container) is ErrAmbiguous, and a
// process without mm-PID.img fails naming it.
func processPages(ctx context.Context, a *archive.Archive, progress func(int64), pid uint32, sel Select, fn func(*archive.Checkpoint, *criu.PageIndex, *mm.MmEntry, io.Reader) error) *pages {
	done := false
	return newPages(ctx, a, progress,
		func(c *archive.Checkpoint, p, _ uint32, shmem bool) bool {
			return !shmem && p == pid && sel.matches(c)
		},
		func(c *archive.Checkpoint, p, _ uint32, ix *criu.PageIndex, r io.Reader) error {
			if done {
				return fmt.Errorf("pid %d: %w", p, ErrAmbiguous)
			}
			done = true
			m := mmOf(c, p)
			if m == nil {
				return failf(a, c, fmt.Sprintf("mm-%d.img", p), archive.ErrMissing)
			}
			return fn(c, ix, m, r)
		})
}

// adapter returns mem.Pages for pg; newPages makes it once.
func (pg *pages) adapter() func(*archive.Checkpoint, *archive.PagesImage) error {
	return mem.Pages(pg.a, pg.process, mem.PagesOptions{
		Want: func(c *archive.Checkpoint, name string, pid uint32) bool {
			shmid, shmem := shmemID(name)
			return pg.want(c, pid, shmid, shmem)
		},
		Orphan: func(c *archive.Checkpoint, p *archive.PagesImage) error {
			pg.orphans[p.Entry.Name] = true
			return nil
		},
	})
}

// process hands the pages of one pagemap to pg.fn, remembering which
// processes it saw.
func (pg *pages) process(c *archive.Checkpoint, pid uint32, ix *criu.PageIndex, r io.Reader) error {
	shmid, shmem := shmemID(ix.Name)
	if !shmem {
		pg.seen[key{c.Prefix, pid}] = true
	}
	return pg.fn(c, pid, shmid, ix, ctxio.Watch(pg.ctx, r, pg.progress))
}

// shmemID returns the segment id of a shared memory pagemap image.
func shmemID(name string) (shmid uint32, shmem bool) {
	if !strings.HasPrefix(name, "pagemap-shmem-") {
		return 0, false
	}
	fmt.Sscanf(name, "pagemap-shmem-%d.img", &shmid)
	return shmid, true
}

// missing explains why the pages of process pid were never seen.
func (pg *pages) missing(a *archive.Archive, c *archive.Checkpoint, pid uint32) error {
	if pg.seen[key{c.Prefix, pid}] {
		return nil
	}
	pm := fmt.Sprintf("pagemap-%d.img", pid)
	if err := imageError(c, pm); err != nil {
		return err
	}
	h := criu.First[*pagemap.PagemapHead](c.Images, pm)
	if h == nil {
		return failf(a, c, pm, fmt.Errorf("%w: pid %d has memory (mm-%d.img) but no pagemap", archive.ErrMissing, pid, pid))
	}
	pi := fmt.Sprintf("pages-%d.img", h.GetPagesId())
	return failf(a, c, pi, fmt.Errorf("%w (%s refers to it)", archive.ErrMissing, pm))
}

// mmOf returns the memory descriptor of pid, which streams by before its
// pages.
func mmOf(c *archive.Checkpoint, pid uint32) *mm.MmEntry {
	return criu.First[*mm.MmEntry](c.Images, fmt.Sprintf("mm-%d.img", pid))
}

// loadProcess reads the archive once for the process of [processPages]
// and returns it, having handed its pages to fn, or says why they never
// came.
func (pg *pages) loadProcess(a *archive.Archive, limits archive.Limits, sel Select) (*target, error) {
	contents, err := load(a, limits, pg, nil)
	if err != nil {
		return nil, err
	}
	t, err := find(a, contents, sel)
	if err != nil {
		return nil, err
	}
	if err := pg.missing(a, t.c, t.p.PID); err != nil {
		return nil, err
	}
	return t, nil
}

// load reads the archive once, handing pages to pg (nil for none).
// fields, when set, decodes only the fields of core and mm images the tree
// and its mappings need ([proc.ImageFields]): maps and search, not core,
// which writes every register.
func load(a *archive.Archive, limits archive.Limits, pg *pages, fields func(string) criu.Fields) (*archive.Contents, error) {
	opt := archive.LoadOptions{Limits: limits, Fields: fields}
	if pg != nil {
		opt.Pages = pg.hook
	}
	return archive.Load(a, opt)
}
