package testgen

import (
	"archive/tar"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/internal/countio"
)

// Write writes the archive s describes to w as a plain tar stream and
// reports what it wrote. Memory pages are generated while they are
// written: the cost in memory does not grow with PageBytes (beyond the
// pagemap, a few dozen bytes per entry).
func Write(w io.Writer, s Spec) (Layout, error) {
	rs, err := s.resolved()
	if err != nil {
		return Layout{}, err
	}
	p, err := buildPlan(rs)
	if err != nil {
		return Layout{}, err
	}
	ms, err := p.members()
	if err != nil {
		return Layout{}, err
	}
	l := p.layout(ms)
	cw := &countio.Writer{W: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	tw := tar.NewWriter(bw)
	for _, m := range ms {
		if err := p.writeMember(tw, m); err != nil {
			return Layout{}, fmt.Errorf("testgen: writing %s: %w", m.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return Layout{}, fmt.Errorf("testgen: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Layout{}, fmt.Errorf("testgen: %w", err)
	}
	l.Bytes = cw.N
	return l, nil
}

func (p *plan) writeMember(tw *tar.Writer, m member) error {
	format := tar.FormatUSTAR
	mtime := p.s.Checkpointed.UTC().Truncate(time.Second)
	if p.s.Engine == EngineContainerd {
		// containerd's archive writer uses PAX headers, with sub-second
		// times.
		format, mtime = tar.FormatPAX, p.s.Checkpointed.UTC()
	}
	h := &tar.Header{Name: m.Name, Mode: m.Mode, Size: m.Size, ModTime: mtime, Uname: "root", Gname: "root", Format: format, Typeflag: tar.TypeReg}
	if m.Dir {
		h.Typeflag, h.Size = tar.TypeDir, 0
		if p.s.Engine == EngineContainerd {
			h.Name += "/"
		}
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	switch {
	case m.Dir:
		return nil
	case m.write != nil:
		return m.write(tw)
	default:
		_, err := tw.Write(m.data)
		return err
	}
}

// damage applies Break to the members.
func (p *plan) damage(ms []member) ([]member, error) {
	b := p.s.Break
	for _, name := range b.Omit {
		i := slices.IndexFunc(ms, func(m member) bool { return m.Name == name })
		if i < 0 {
			return nil, specErrorf("break: no member %q to omit", name)
		}
		ms = slices.Delete(ms, i, i+1)
	}
	patch := func(name, what string, at func(m member) (int, error), v uint32) error {
		i := slices.IndexFunc(ms, func(m member) bool { return m.Name == name })
		if i < 0 {
			return specErrorf("break: no member %q to %s", name, what)
		}
		off, err := at(ms[i])
		if err != nil {
			return err
		}
		ms[i] = patched(ms[i], off, binary.LittleEndian.AppendUint32(nil, v))
		return nil
	}
	if b.CorruptLength != "" {
		err := patch(b.CorruptLength, "corrupt", func(m member) (int, error) {
			if m.headerLen == 0 || m.Size < int64(m.headerLen)+4 {
				return 0, specErrorf("break: %s has no entry whose length prefix could be corrupted", m.Name)
			}
			return m.headerLen, nil
		}, 0xfffffff0)
		if err != nil {
			return nil, err
		}
	}
	if b.UnknownMagic != "" {
		err := patch(b.UnknownMagic, "give an unknown magic", func(m member) (int, error) {
			if m.headerLen == 0 {
				return 0, specErrorf("break: %s is not an image with a magic", m.Name)
			}
			return m.headerLen - 4, nil
		}, 0x0badc0de)
		if err != nil {
			return nil, err
		}
	}
	if b.PagesBeforePagemap {
		for _, pr := range p.live {
			pages := "checkpoint/" + pagesName(pr.pagesID)
			pm := fmt.Sprintf("checkpoint/pagemap-%d.img", pr.pid)
			i := slices.IndexFunc(ms, func(m member) bool { return m.Name == pages })
			j := slices.IndexFunc(ms, func(m member) bool { return m.Name == pm })
			if i < 0 || j < 0 || i < j {
				continue
			}
			m := ms[i]
			ms = slices.Delete(ms, i, i+1)
			ms = slices.Insert(ms, j, m)
		}
	}
	return ms, nil
}

// patched returns m with the bytes at off replaced by with.
func patched(m member, off int, with []byte) member {
	if m.write == nil {
		m.data = slices.Clone(m.data)
		copy(m.data[off:], with)
		return m
	}
	write := m.write
	m.write = func(w io.Writer) error { return write(&patchWriter{w: w, off: int64(off), with: with}) }
	return m
}

// patchWriter overwrites the bytes at [off, off+len(with)) of a stream.
type patchWriter struct {
	w    io.Writer
	pos  int64
	off  int64
	with []byte
}

func (pw *patchWriter) Write(b []byte) (int, error) {
	start, end := pw.pos, pw.pos+int64(len(b))
	if end > pw.off && start < pw.off+int64(len(pw.with)) {
		b = slices.Clone(b)
		for i := max(start, pw.off); i < min(end, pw.off+int64(len(pw.with))); i++ {
			b[i-start] = pw.with[i-pw.off]
		}
	}
	n, err := pw.w.Write(b)
	pw.pos += int64(n)
	return n, err
}

// layout describes the plan and the members as written.
func (p *plan) layout(ms []member) Layout {
	l := Layout{Spec: p.s, Markers: p.markers, PagesBytes: p.totalPages()}
	for _, m := range ms {
		l.Members = append(l.Members, m.Member)
	}
	for _, pr := range p.order {
		lp := Process{
			Index: pr.idx, PID: pr.pid, PPID: pr.ppid, PGID: pr.pgid, SID: pr.sid, Comm: pr.comm, Zombie: pr.zombie,
			TaskState: taskAlive, FilesID: pr.kid, PagesID: pr.pagesID,
		}
		for j, tid := range pr.tids {
			t := Thread{TID: tid, Comm: pr.threadComms[j]}
			if !pr.zombie {
				r := pr.regs(j)
				t.IP, t.SP = r.ip, r.sp
			}
			lp.Threads = append(lp.Threads, t)
		}
		if pr.zombie {
			lp.TaskState = taskDead
			l.Processes = append(l.Processes, lp)
			continue
		}
		m := pr.mem
		lp.PagesImage = pagesName(pr.pagesID)
		lp.PagesBytes = int64(m.present) * pageSize
		lp.Cmdline, lp.Env, lp.Cwd = p.s.Cmdline, p.s.Env, p.s.Cwd
		lp.ArgStart, lp.ArgEnd, lp.EnvStart, lp.EnvEnd = m.argStart, m.argEnd, m.envStart, m.envEnd
		lp.StartStack, lp.StartBrk, lp.Brk = m.startStack, m.startBrk, m.brk
		lp.ExeID, lp.CwdID, lp.RootID = p.ids.exe, pr.cwdID, pr.rootID
		for _, v := range m.vmas {
			lp.VMAs = append(lp.VMAs, v.VMA)
		}
		lp.Pages = rangesOf(p.claimedEntries(pr))
		for _, f := range pr.fds {
			lp.FDs = append(lp.FDs, FD{FD: f.fd, ID: f.id, Type: strings.TrimSpace(f.typ.String()), Target: f.target})
		}
		l.Processes = append(l.Processes, lp)
	}
	return l
}
