package procmem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	criu_core "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
	"github.com/ckpt-dev/ckpt/mem/elfcore"
	"github.com/ckpt-dev/ckpt/proc"
)

// ErrArch is returned for dumps of machines other than x86-64, whose
// register notes the core writer does not lay out.
var ErrArch = errors.New("core files are written for x86-64 dumps only")

// CoreFile is where a core file is written: in place, in any order, and
// read back (for the command line, which sits in memory the file holds).
type CoreFile interface {
	io.WriterAt
	io.ReaderAt
}

// CoreOptions choose the process.
type CoreOptions struct {
	Select
	Limits archive.Limits
	// Progress, when set, is told how many bytes of pages were read.
	Progress func(n int64)
}

// CoreInfo describes a core file written.
type CoreInfo struct {
	Container string `json:"container"`
	PID       uint32 `json:"pid"`
	Comm      string `json:"comm"`
	Threads   int    `json:"threads"`
	// Segments counts PT_LOAD headers. Present is the memory the file
	// holds; Absent the memory it declares without bytes (never touched,
	// or file pages never written: zeros or the file, as in a kernel
	// core); Unknown the memory it leaves out because its bytes are not
	// in this dump (a parent pre-dump, lazy pages, shared memory).
	Segments int    `json:"segments"`
	Present  uint64 `json:"present_bytes"`
	Absent   uint64 `json:"absent_bytes"`
	Unknown  uint64 `json:"unknown_bytes"`
	Size     int64  `json:"size"`
	// Outside counts dumped bytes that lie in no mapping and are left out.
	Outside  uint64   `json:"outside_bytes"`
	Warnings []string `json:"warnings"`
}

// WriteCore writes an ELF core file of one process into f, in one pass
// over the archive: the layout comes from the mappings and the pagemap,
// which stream by before the pages; the pages are written in place as they
// arrive; the notes (registers, identity, mapped files, auxiliary vector)
// go last. On error f holds garbage: the caller discards it.
func WriteCore(ctx context.Context, a *archive.Archive, f CoreFile, opt CoreOptions) (*CoreInfo, error) {
	if opt.PID == 0 {
		return nil, errors.New("core: a pid is required")
	}
	var w *elfcore.Writer
	info := &CoreInfo{PID: opt.PID, Warnings: []string{}}
	pg := processPages(ctx, a, opt.Progress, opt.PID, opt.Select,
		func(c *archive.Checkpoint, ix *criu.PageIndex, m *mm.MmEntry, r io.Reader) error {
			pid := opt.PID
			segs, present, unknown, err := segments(ix, m.GetVmas())
			if err != nil {
				return failf(a, c, fmt.Sprintf("mm-%d.img", pid), err)
			}
			l, err := elfcore.Plan(segs)
			if err != nil {
				return err
			}
			w = elfcore.NewWriter(f, l)
			info.Container = strings.TrimSuffix(c.Prefix, "/")
			for _, s := range l.Segments {
				if s.Present {
					info.Present += s.Memsz
				} else {
					info.Absent += s.Memsz
				}
			}
			info.Segments = len(l.Segments)
			info.Unknown = unknown
			info.Outside += mem.PresentBytes(ix)
			info.Outside -= info.Present
			return mem.Stream(ix, r, present, nil, func(b mem.Block) error {
				return w.WriteMemory(b.Addr, b.Data)
			})
		})
	t, err := pg.loadProcess(a, opt.Limits, opt.Select)
	if err != nil {
		return nil, err
	}
	if w == nil {
		return nil, failf(a, t.c, "", fmt.Errorf("pid %d: no pages were read", t.p.PID))
	}
	notes, err := coreNotes(a, t, w, f)
	if err != nil {
		return nil, err
	}
	if info.Size, err = w.Finish(notes); err != nil {
		return nil, err
	}
	info.Comm, info.Threads = t.p.Comm, len(t.p.Threads)
	if info.Outside > 0 {
		info.Warnings = append(info.Warnings, fmt.Sprintf("%d dumped bytes lie outside every mapping and are not in the core file", info.Outside))
	}
	return info, nil
}

// segments turns the mappings into PT_LOAD segments and returns the
// present stretches, to be read. What a reader of the core sees must be
// true of the process:
//   - a stretch the dump holds is a segment with its bytes;
//   - a stretch CRIU did not dump because it needed no dumping (anonymous
//     memory never touched, which reads as zeros; file-backed pages never
//     written, which read as the file) is a segment without file bytes,
//     as the kernel writes it, and gdb shows zeros or the file's bytes;
//   - a stretch whose bytes exist elsewhere (a parent pre-dump, lazy
//     pages, anonymous shared memory dumped apart from the process) has
//     no segment at all, so tools say the address cannot be read.
func segments(ix *criu.PageIndex, vmas []*vmaEntry) (segs []elfcore.Segment, present []mem.Range, unknown uint64, err error) {
	var prevEnd uint64
	for i, v := range vmas {
		start, end := v.GetStart(), v.GetEnd()
		if end <= start || start < prevEnd {
			return nil, nil, 0, fmt.Errorf("mapping %d (%#x-%#x) is empty or overlaps the one before", i+1, start, end)
		}
		prevEnd = end
		var flags uint32
		if v.GetProt()&1 != 0 {
			flags |= elfcore.PF_R
		}
		if v.GetProt()&2 != 0 {
			flags |= elfcore.PF_W
		}
		if v.GetProt()&4 != 0 {
			flags |= elfcore.PF_X
		}
		elsewhere := v.GetStatus()&(vmaAnonShared|vmaSysVIPC) != 0
		for s := range ix.EachSpan(start, end-start) {
			here := s.Absent == nil
			if !here && (elsewhere || !errors.Is(s.Absent, criu.ErrNotDumped)) {
				unknown += s.Len
				continue
			}
			if n := len(segs); n > 0 && segs[n-1].Present == here && segs[n-1].Vaddr+segs[n-1].Memsz == s.Addr && s.Addr != start {
				segs[n-1].Memsz += s.Len
			} else {
				segs = append(segs, elfcore.Segment{Vaddr: s.Addr, Memsz: s.Len, Flags: flags, Present: here})
			}
			if here {
				if n := len(present); n > 0 && present[n-1].End == s.Addr {
					present[n-1].End += s.Len
				} else {
					present = append(present, mem.Range{Start: s.Addr, End: s.Addr + s.Len})
				}
			}
		}
	}
	return segs, present, unknown, nil
}

// coreNotes builds the notes: per thread its registers, leader first; the
// process's identity and command line; its auxiliary vector; its mapped
// files.
func coreNotes(a *archive.Archive, t *target, w *elfcore.Writer, f io.ReaderAt) ([]elfcore.Note, error) {
	p := t.p
	threads := make([]proc.Thread, 0, len(p.Threads))
	for _, th := range p.Threads {
		if th.TID == p.PID {
			threads = append([]proc.Thread{th}, threads...)
		} else {
			threads = append(threads, th)
		}
	}
	var notes, fp []elfcore.Note
	for i, th := range threads {
		name := fmt.Sprintf("core-%d.img", th.TID)
		if err := imageError(t.c, name); err != nil {
			return nil, err
		}
		core := criu.First[*criu_core.CoreEntry](t.c.Images, name)
		if core == nil {
			return nil, failf(a, t.c, name, archive.ErrMissing)
		}
		if core.GetMtype() != criu_core.CoreEntry_X86_64 {
			return nil, failf(a, t.c, name, fmt.Errorf("%w; this dump is %s", ErrArch, core.GetMtype()))
		}
		ti := core.GetThreadInfo()
		if ti.GetGpregs() == nil {
			return nil, failf(a, t.c, name, errors.New("no registers (thread_info.gpregs)"))
		}
		st := elfcore.PRStatus{
			PID: th.TID, PPID: p.PPID, PGRP: p.PGID, SID: p.SID,
			SigHeld: core.GetThreadCore().GetBlkSigset(),
			Regs:    x86Regs(ti.GetGpregs()), FPValid: ti.GetFpregs() != nil,
		}
		if st.SigHeld == 0 {
			st.SigHeld = core.GetTc().GetBlkSigset()
		}
		notes = append(notes, st.Note())
		if ti.GetFpregs() != nil {
			fp = append(fp, fxsave(ti.GetFpregs()).Note())
		} else {
			fp = append(fp, elfcore.Note{})
		}
		if i == 0 {
			notes = append(notes, psinfo(t, w, f).Note())
			auxv, err := elfcore.AuxvNote(trimAuxv(p.MM.GetMmSavedAuxv()))
			if err != nil {
				return nil, failf(a, t.c, fmt.Sprintf("mm-%d.img", p.PID), err)
			}
			notes = append(notes, auxv)
			files, err := mappedFiles(a, t)
			if err != nil {
				return nil, err
			}
			fn, err := elfcore.FileNote(files)
			if err != nil {
				return nil, failf(a, t.c, fmt.Sprintf("mm-%d.img", p.PID), err)
			}
			notes = append(notes, fn)
		}
		// The kernel puts each thread's FP registers after its status.
		if fp[i].Type != 0 {
			notes = append(notes, fp[i])
		}
	}
	return notes, nil
}

// trimAuxv drops the unused tail CRIU keeps after AT_NULL.
func trimAuxv(v []uint64) []uint64 {
	for i := 0; i+1 < len(v); i += 2 {
		if v[i] == 0 {
			return v[:i+2]
		}
	}
	return v[:len(v)&^1]
}

func mappedFiles(a *archive.Archive, t *target) ([]elfcore.MappedFile, error) {
	maps, err := mappings(a, t)
	if err != nil {
		return nil, err
	}
	var out []elfcore.MappedFile
	for _, m := range maps {
		if (m.Kind == "file" || m.Kind == "memfd") && m.File != "" {
			out = append(out, elfcore.MappedFile{Start: m.Start, End: m.End, Offset: m.Offset, Path: m.File})
		}
	}
	return out, nil
}

// psinfo describes the process; its command line is read back from the
// memory already in the file.
func psinfo(t *target, w *elfcore.Writer, f io.ReaderAt) elfcore.PRPSInfo {
	p := t.p
	ps := elfcore.PRPSInfo{PID: p.PID, PPID: p.PPID, PGRP: p.PGID, SID: p.SID, Comm: p.Comm}
	switch p.State {
	case "alive":
		ps.State, ps.StateName = 1, 'S'
	case "stopped":
		ps.State, ps.StateName = 3, 'T'
	default:
		ps.State, ps.StateName = 4, 'Z'
	}
	if c := p.Creds; c != nil {
		ps.UID, ps.GID = c.UID, c.GID
	}
	start, end := p.MM.GetMmArgStart(), p.MM.GetMmArgEnd()
	if end > start {
		buf := make([]byte, min(end-start, 79))
		if off, ok := w.Offset(start); ok {
			if n, _ := f.ReadAt(buf, off); n > 0 {
				if _, ok := w.Offset(start + uint64(n) - 1); ok {
					ps.Args = strings.TrimRight(string(bytes.ReplaceAll(buf[:n], []byte{0}, []byte{' '})), " ")
				}
			}
		}
	}
	return ps
}
