package diff

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/ctxio"
	"github.com/ckpt-dev/ckpt/mem"
	"github.com/ckpt-dev/ckpt/proc"
)

// Options configure a Differ.
type Options struct {
	// Limits bound what reading each archive costs. ReadBoth also holds
	// the page hashes of pages without a counterpart within
	// Limits.MaxPending (ErrUnmatched past it).
	Limits archive.Limits
	// Force compares checkpoints whose identities say they are of
	// different containers; the report then carries a warning. Without it
	// Compare fails with ErrDifferentContainers.
	Force bool
	// RevealEnv fills in the values of changed environment variables.
	RevealEnv bool
}

// Differ reads archives into snapshots and compares them. Page hashes are
// keyed with a seed chosen per Differ, so only snapshots of one Differ can
// be compared, and nobody can craft pages whose hashes collide.
type Differ struct {
	opt  Options
	seed maphash.Seed
}

// New returns a Differ.
func New(opt Options) *Differ { return &Differ{opt: opt, seed: maphash.MakeSeed()} }

// Snapshot is what a Differ keeps of one archive: the process model,
// mappings, command lines and, for a compressed or piped archive read by
// Read, a 64-bit hash of every memory page (8 bytes per dumped page), but
// not the pages. Read by ReadBoth, it holds instead each pagemap's
// comparison, made while both archives streamed, and hashes only of
// pages that had no counterpart then. On a random-access archive (a plain
// tar, or sealed without compression) it keeps no per-page state: Compare
// reads both pages images again, in address order, so the archive must
// stay open until Compare returns.
type Snapshot struct {
	side       Side
	seed       maphash.Seed
	containers []*container
	warnings   []string
	// pageErr is the first error reading pages again during Compare.
	pageErr error
}

// container is one checkpoint of the archive.
type container struct {
	prefix   string
	identity archive.Identity
	tree     *proc.Tree
	maps     map[uint32][]proc.Mapping // by pid; sorted by start
	args     map[uint32]*args
	// pages by pagemap image name: pagemap-<pid>.img, pagemap-shmem-<id>.img.
	pages   map[string]*pageHashes
	rootfs  *archive.Listing
	content map[string]uint64 // rootfs file content hashes by path
	deleted []string
}

// args is a process's argument and environment areas.
type args struct {
	cmdline, env             []string
	cmdComplete, envComplete bool
}

// Read reads an archive in one pass and keeps what Compare needs. Pages
// are hashed as they stream by and never stored. Cancelling ctx stops the
// reading of pages and rootfs files. ReadBoth holds less.
func (d *Differ) Read(ctx context.Context, a *archive.Archive) (*Snapshot, error) {
	return d.read(ctx, a, 0, nil)
}

// ReadBoth reads a and b at the same time, each in one pass, and compares
// the pages of compressed or piped archives while both stream, so that
// what is held per page does not grow with the archives (see
// ErrUnmatched for when it must). The snapshots are compared with Compare.
func (d *Differ) ReadBoth(ctx context.Context, a, b *archive.Archive) (*Snapshot, *Snapshot, error) {
	limits := d.opt.Limits.WithDefaults()
	p := newPairer(limits.MaxPending, a.Name(), b.Name())
	ctxB, stopB := context.WithCancel(ctx)
	defer stopB()
	var sb *Snapshot
	var errB error
	doneB := make(chan struct{})
	go func() {
		defer close(doneB)
		sb, errB = d.read(ctxB, b, 1, p)
		p.finish(1)
	}()
	// A failing stops B (A's error is the one reported); B failing lets A
	// read on, so that the error reported does not depend on timing.
	sa, errA := d.read(ctx, a, 0, p)
	p.finish(0)
	if errA != nil {
		stopB()
	}
	<-doneB
	p.wg.Wait()
	if errA != nil {
		return nil, nil, errA
	}
	if errB != nil {
		return nil, nil, errB
	}
	return sa, sb, nil
}

// read reads one archive as side me (0 for A, 1 for B) of pairs, or
// alone when pairs is nil.
func (d *Differ) read(ctx context.Context, a *archive.Archive, me int, pairs *pairer) (*Snapshot, error) {
	s := &Snapshot{seed: d.seed, side: Side{Archive: a.Name(), Layers: a.Layers()}}
	type pidKey struct {
		prefix string
		pid    uint32
	}
	pages := map[pageKey]*pageHashes{}
	argsOf := map[pidKey]*args{}
	content := map[string]map[string]uint64{}
	buf := make([]byte, 1<<20)
	contents, err := archive.Load(a, archive.LoadOptions{
		Limits: d.opt.Limits,
		Pages: mem.Pages(a, func(c *archive.Checkpoint, pid uint32, ix *criu.PageIndex, r io.Reader) error {
			key := pageKey{c.Prefix, ix.Name}
			var ae *mem.ArgsEnv
			var x *mem.Extractor
			if m := criu.First[*mm.MmEntry](c.Images, fmt.Sprintf("mm-%d.img", pid)); pid != 0 && m != nil {
				x = mem.NewExtractor(ix)
				v := mem.WantArgsEnv(x, m)
				ae = &v
			}
			keepArgs := func() {
				if ae != nil {
					var v args
					v.cmdline, v.cmdComplete = ae.Argv()
					v.env, v.envComplete = ae.Environ()
					argsOf[pidKey{c.Prefix, pid}] = &v
				}
			}
			if ra, ok := r.(io.ReaderAt); ok {
				// Random access: the pages are read again, in address
				// order, when compared; nothing is held per page.
				if err := ctx.Err(); err != nil {
					return err
				}
				ph := &pageHashes{ix: ix, src: ra, seed: d.seed, size: ix.ImageBytes,
					name: a.Name() + ": " + c.Prefix + "checkpoint/" + fmt.Sprintf("pages-%d.img", ix.PagesID), fail: &s.pageErr}
				if x != nil {
					if err := x.Feed(r); err != nil {
						return err
					}
				}
				keepArgs()
				pages[key] = ph
				if pairs != nil {
					pairs.publish(me, key, ph)
				}
				return nil
			}
			r = ctxio.Reader(ctx, r)
			hw := newPageHasher(d.seed, ix, pairs == nil)
			var pl *plan
			if pairs != nil {
				var err error
				pl, err = pairs.arrive(ctx, me, key, ix, ix.ImageBytes, func() []string { return pagemapNames(c.Images) })
				if err != nil {
					return err
				}
				if pl.ch != nil {
					hw.streamTo(ctx, pl.ch, pl.free)
					defer hw.end()
				} else {
					hw.out = pl.entry.hashes
				}
			}
			if x != nil {
				// The argument and environment areas are read from the same
				// stream the hasher sees, in the same pass.
				if err := x.Feed(io.TeeReader(r, hw)); err != nil {
					return err
				}
			}
			if err := hw.fill(r, buf); err != nil {
				return err
			}
			keepArgs()
			switch {
			case pl == nil:
				pages[key] = hw.hashes(ix)
			case pl.ch != nil:
				if err := hw.end(); err != nil {
					return err
				}
				<-pl.done
				pages[key] = pl.entry
			default:
				pl.entry.ix, pl.entry.hashes = ix, hw.out
				pages[key] = pl.entry
				pairs.publish(me, key, pl.entry)
			}
			return nil
		}, mem.PagesOptions{Orphan: func(c *archive.Checkpoint, p *archive.PagesImage) error {
			s.warnings = append(s.warnings, fmt.Sprintf("%s: %s: no pagemap refers to it: its pages are not compared", a.Name(), p.Entry.Name))
			return nil
		}}),
		RootFS: func(c *archive.Checkpoint, f *archive.ListedFile, r io.Reader) error {
			var h maphash.Hash
			h.SetSeed(d.seed)
			if _, err := io.Copy(&h, ctxio.Reader(ctx, r)); err != nil {
				return err
			}
			if content[c.Prefix] == nil {
				content[c.Prefix] = map[string]uint64{}
			}
			content[c.Prefix][f.Path] = h.Sum64()
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	for _, w := range contents.Warnings {
		s.warnings = append(s.warnings, a.Name()+": "+w)
	}
	for _, c := range contents.Checkpoints {
		ct, warn, err := newContainer(a, c)
		if err != nil {
			return nil, err
		}
		for name, ph := range pages {
			if name.prefix == c.Prefix {
				ct.pages[name.name] = ph
			}
		}
		for _, p := range ct.tree.Processes {
			if v := argsOf[pidKey{c.Prefix, p.PID}]; v != nil {
				ct.args[p.PID] = v
			}
			if p.MM == nil {
				continue
			}
			name := fmt.Sprintf("pagemap-%d.img", p.PID)
			if ct.pages[name] != nil {
				continue
			}
			// No pages image came by. That is fine when the pagemap holds no
			// present page; otherwise the image is missing.
			ix, err := criu.NewPageIndex(c.Images.Get(name))
			if err == nil && ix.ImageBytes == 0 {
				ct.pages[name] = &pageHashes{ix: ix}
				if pairs != nil {
					pairs.publish(me, pageKey{c.Prefix, name}, ct.pages[name])
				}
				continue
			}
			warn = append(warn, fmt.Sprintf("pid %d: its pages image is missing: memory, command line and environment are not compared", p.PID))
		}
		ct.content = content[c.Prefix]
		for _, w := range warn {
			s.warnings = append(s.warnings, where(a.Name(), c.Prefix)+w)
		}
		s.containers = append(s.containers, ct)
	}
	return s, nil
}

// newContainer builds the process model of one checkpoint.
func newContainer(a *archive.Archive, c *archive.Checkpoint) (*container, []string, error) {
	if len(c.ImageErrors) > 0 {
		return nil, nil, c.ImageErrors[0].Err
	}
	tree, err := proc.Build(c.Images)
	if err != nil {
		return nil, nil, a.CheckpointError(c, err)
	}
	ct := &container{
		prefix: c.Prefix, identity: c.Identity, tree: tree,
		maps: map[uint32][]proc.Mapping{}, args: map[uint32]*args{}, pages: map[string]*pageHashes{},
		rootfs: c.RootFS, deleted: c.Metadata.Deleted,
	}
	var warn []string
	for _, p := range tree.Processes {
		maps, err := tree.Maps(c.Images, p)
		if err != nil {
			return nil, nil, a.CheckpointError(c, fmt.Errorf("pid %d: %w", p.PID, err))
		}
		ct.maps[p.PID] = maps
	}
	if c.RootFS != nil && c.RootFS.Truncated {
		warn = append(warn, fmt.Sprintf("rootfs-diff.tar lists more than %d files: only the first are compared", len(c.RootFS.Files)))
	}
	return ct, warn, nil
}

// where names an archive, and the container inside a pod archive, at the
// start of a warning.
func where(archiveName, prefix string) string {
	if prefix == "" {
		return archiveName + ": "
	}
	return archiveName + ": " + strings.TrimSuffix(prefix, "/") + ": "
}
