package inspect

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
	"github.com/ckpt-dev/ckpt/proc"
)

// Options configure Build.
type Options struct {
	Sections Sections
	Limits   archive.Limits
}

// memKey identifies a process of one checkpoint of an archive.
type memKey struct {
	prefix string
	pid    uint32
}

// procArgs is what the report shows of a process's argument and
// environment areas.
type procArgs struct {
	cmdline  []string
	complete bool
	env      []string // only when the report shows it
}

// Build reads the archive once and returns one report per checkpoint (one
// for a container archive, one per container for a pod archive).
func Build(a *archive.Archive, opt Options) ([]*Report, error) {
	args := map[memKey]procArgs{}
	var warnings []string
	contents, err := archive.Load(a, archive.LoadOptions{
		Limits: opt.Limits,
		Fields: proc.ImageFields(),
		Pages: mem.Pages(a, func(c *archive.Checkpoint, pid uint32, ix *criu.PageIndex, r io.Reader) error {
			m := criu.First[*mm.MmEntry](c.Images, fmt.Sprintf("mm-%d.img", pid))
			if pid == 0 || m == nil {
				return nil // shared memory, not a process
			}
			x := mem.NewExtractor(ix)
			ae := mem.WantArgsEnv(x, m)
			if err := x.Feed(r); err != nil {
				return err
			}
			// Only the strings the report shows are held, not the areas
			// (a byte and a flag per byte) they were cut from.
			var pa procArgs
			pa.cmdline, pa.complete = ae.Argv()
			if opt.Sections.Env {
				pa.env, _ = ae.Environ()
			}
			args[memKey{c.Prefix, pid}] = pa
			return nil
		}, mem.PagesOptions{Orphan: func(c *archive.Checkpoint, p *archive.PagesImage) error {
			warnings = append(warnings, fmt.Sprintf("%s: no pagemap refers to it: command lines unavailable", p.Entry.Name))
			return nil
		}}),
	})
	if err != nil {
		return nil, err
	}
	var reports []*Report
	for _, c := range contents.Checkpoints {
		r, err := build(a, contents, c, args, opt.Sections)
		if err != nil {
			return nil, err
		}
		r.Warnings = append(r.Warnings, contents.Warnings...)
		r.Warnings = append(r.Warnings, warnings...)
		reports = append(reports, r)
	}
	return reports, nil
}

func build(a *archive.Archive, contents *archive.Contents, c *archive.Checkpoint, args map[memKey]procArgs, s Sections) (*Report, error) {
	if len(c.ImageErrors) > 0 {
		return nil, c.ImageErrors[0].Err
	}
	r := &Report{
		Archive:   ArchiveInfo{Name: a.Name(), Layers: a.Layers(), Size: a.Size(), RandomAccess: a.RandomAccess(), Trailer: contents.Trailer, Pod: contents.Pod},
		Container: c.Prefix, Identity: c.Identity, Sizes: c.Sizes,
		Processes: []Process{}, Warnings: []string{},
	}
	// The pages images present, by base name: looked up once per process,
	// so a scan of c.Pages each time would be quadratic in processes.
	pages := make(map[string]bool, len(c.Pages))
	for _, e := range c.Pages {
		pages[path.Base(e.Name)] = true
	}
	// Without a section that shows descriptors, the tree describes only
	// the files the report names (cwd, root, executable, mapped files).
	noFDs := !s.Files && !s.Sockets
	tree, err := proc.BuildWith(c.Images, proc.BuildOptions{NoFDs: noFDs})
	if errors.Is(err, proc.ErrNoDump) {
		// Identity and metadata are still worth showing.
		r.Warnings = append(r.Warnings, err.Error())
		tree = &proc.Tree{}
	} else if err != nil {
		return nil, a.CheckpointError(c, err)
	}
	// The tree now holds what the report needs of each process's core, ids,
	// fs and fdinfo images: drop them, and each mm once its mappings are
	// built, so that the report grows as the images go rather than on top
	// of them. With descriptors, the tree's file table holds what the
	// report shows of files.img (mappings name their files through it);
	// without, it holds the entries themselves.
	if !noFDs {
		c.Images.Delete("files.img")
	}
	for _, p := range tree.Processes {
		c.Images.Delete(fmt.Sprintf("core-%d.img", p.PID))
		for _, th := range p.Threads {
			c.Images.Delete(fmt.Sprintf("core-%d.img", th.TID))
		}
		for _, n := range []string{"ids-%d.img", "fs-%d.img", "creds-%d.img"} {
			c.Images.Delete(fmt.Sprintf(n, p.PID))
		}
		if p.IDs != nil {
			c.Images.Delete(fmt.Sprintf("fdinfo-%d.img", p.IDs.GetFilesId()))
		}
	}
	for _, p := range tree.Processes {
		maps, err := tree.Maps(c.Images, p)
		if err != nil {
			return nil, a.CheckpointError(c, fmt.Errorf("pid %d: %w", p.PID, err))
		}
		rp := Process{
			PID: p.PID, PPID: p.PPID, PGID: p.PGID, SID: p.SID, Comm: p.Comm, State: p.State, ExitCode: p.ExitCode,
			Threads: p.Threads, Cmdline: []string{}, Exe: p.Exe, Cwd: p.Cwd, Root: p.Root, Creds: p.Creds,
			Memory: proc.Summary(maps), MissingImages: slices.Clone(p.Missing),
		}
		if p.MM != nil {
			if h := criu.First[*pagemap.PagemapHead](c.Images, fmt.Sprintf("pagemap-%d.img", p.PID)); h != nil {
				name := fmt.Sprintf("pages-%d.img", h.GetPagesId())
				if !pages[name] {
					rp.MissingImages = append(rp.MissingImages, name)
				}
			}
		}
		p.MM = nil
		c.Images.Delete(fmt.Sprintf("mm-%d.img", p.PID))
		if rp.MissingImages == nil {
			rp.MissingImages = []string{}
		}
		if p.Creds != nil {
			rp.Capabilities = proc.CapSummary(p.Creds.CapEffective)
		}
		if ae, ok := args[memKey{c.Prefix, p.PID}]; ok {
			delete(args, memKey{c.Prefix, p.PID})
			rp.Cmdline, rp.CmdlineComplete, rp.Env = ae.cmdline, ae.complete, ae.env
		}
		if len(rp.MissingImages) > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("pid %d: %s missing from the dump: %s unknown", p.PID, strings.Join(rp.MissingImages, ", "), unknownFacts(rp.MissingImages)))
		}
		if s.Env && rp.Env == nil {
			rp.Env = []string{}
		}
		switch {
		case s.Files:
			rp.FDs, rp.Locks = p.FDs, p.Locks
		case s.Sockets && p.FDs != nil:
			rp.FDs = slices.DeleteFunc(slices.Clone(p.FDs), func(fd proc.FD) bool { return fd.File.Socket == nil })
		}
		if (s.Files || s.Sockets) && rp.FDs == nil && p.FDs != nil {
			rp.FDs = []proc.FD{}
		}
		if s.Maps {
			rp.Maps = maps
		}
		r.Processes = append(r.Processes, rp)
	}
	if s.Mounts {
		r.Mounts = &Mounts{CRIU: proc.Mounts(c.Images), Spec: specMounts(c)}
	}
	if s.Stats {
		r.Dump = &Dump{Log: c.DumpLog}
		for _, u := range c.Unreadable {
			if path.Base(u.Name) == "stats-dump" {
				r.Dump.StatsError = u.Err.Error()
			}
		}
		if st := c.Stats; st != nil {
			r.Dump.Stats = &Stats{
				FreezingTime: st.GetFreezingTime(), FrozenTime: st.GetFrozenTime(), MemdumpTime: st.GetMemdumpTime(),
				MemwriteTime: st.GetMemwriteTime(), PagesScanned: st.GetPagesScanned(), PagesSkippedParent: st.GetPagesSkippedParent(),
				PagesWritten: st.GetPagesWritten(), PagesLazy: st.GetPagesLazy(),
			}
		}
	}
	if s.RootFS {
		r.RootFS = &RootFS{Diff: c.RootFS, Deleted: c.Metadata.Deleted}
		if r.RootFS.Deleted == nil {
			r.RootFS.Deleted = []string{}
		}
	}
	if c.DumpLog != nil && !c.DumpLog.Succeeded {
		r.Warnings = append(r.Warnings, "dump.log does not end with \"Dumping finished successfully\": the dump may have failed")
	}
	return r, nil
}

// unknownFacts says what the missing images would have told.
func unknownFacts(missing []string) string {
	var facts []string
	add := func(f string) {
		if !slices.Contains(facts, f) {
			facts = append(facts, f)
		}
	}
	for _, m := range missing {
		switch {
		case strings.HasPrefix(m, "fs-"):
			add("cwd and root")
		case strings.HasPrefix(m, "mm-"):
			add("memory, executable, command line and environment")
		case strings.HasPrefix(m, "pagemap-"), strings.HasPrefix(m, "pages-"):
			add("memory contents, command line and environment")
		case strings.HasPrefix(m, "ids-"), strings.HasPrefix(m, "fdinfo-"), m == "files.img":
			add("open files")
		}
	}
	if len(facts) == 0 {
		return "some facts"
	}
	return strings.Join(facts, "; ")
}

func specMounts(c *archive.Checkpoint) []SpecMount {
	out := []SpecMount{}
	if c.Metadata.Spec == nil {
		return out
	}
	for _, m := range c.Metadata.Spec.Mounts {
		opts := m.Options
		if opts == nil {
			opts = []string{}
		}
		out = append(out, SpecMount{Destination: m.Destination, Type: m.Type, Source: m.Source, Options: opts})
	}
	return out
}
