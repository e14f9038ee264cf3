package scan

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
	"github.com/ckpt-dev/ckpt/proc"
)

// segment is a stretch of memory that is contiguous both in the address
// space and in the pages image: a secret can span its pages, and not the
// gap to the next segment.
type segment struct {
	addr uint64
	off  int64 // in the pages image
	n    int64
}

// segments returns the present pages of ix in pages-image order, with
// neighbours merged. CRIU writes pages in address order, so the runs are
// sorted by offset only when a pagemap is not.
func segments(ix *criu.PageIndex) []segment {
	var out []segment
	runs := ix.All()
	if !ix.OffsetsAscend() {
		runs = slices.Values(slices.SortedStableFunc(ix.All(), func(a, b criu.PageRun) int { return cmp.Compare(a.Offset, b.Offset) }))
	}
	for r := range runs {
		if !r.Present() {
			continue
		}
		n := int64(r.Pages) * criu.PageSize
		if k := len(out) - 1; k >= 0 && out[k].off+out[k].n == r.Offset && out[k].addr+uint64(out[k].n) == r.Start {
			out[k].n += n
			continue
		}
		out = append(out, segment{addr: r.Start, off: r.Offset, n: n})
	}
	return out
}

// pages scans one process's memory (or a shared memory segment's, pid 0)
// in one forward pass over its pages image, and its environment.
func (as *archiveScan) pages(c *archive.Checkpoint, pid uint32, ix *criu.PageIndex, r io.Reader) error {
	base := as.location(c, SourceMemory, fmt.Sprintf("checkpoint/pages-%d.img", ix.PagesID))
	base.PID = pid
	var m *mm.MmEntry
	if pid != 0 {
		m = criu.First[*mm.MmEntry](c.Images, fmt.Sprintf("mm-%d.img", pid))
	} else {
		base.Mapping = "shmem"
	}
	ps := &pageStream{as: as, r: r, limit: ix.ImageBytes, segs: segments(ix), base: base, mm: m}
	var x *mem.Extractor
	var ae mem.ArgsEnv
	if m != nil {
		x = mem.NewExtractor(ix)
		ae = mem.WantArgsEnv(x, m)
		// On a random-access archive the extractor reads the few pages it
		// wants by offset; on a stream it reads through the scan.
		var err error
		if ra, ok := r.(io.ReaderAt); ok {
			err = x.Feed(io.NewSectionReader(ra, 0, ix.ImageBytes))
		} else {
			err = x.Feed(ps)
		}
		if err != nil {
			return err
		}
	}
	if err := ps.drain(); err != nil {
		return err
	}
	if m != nil {
		as.environ(base, ix, m, ae)
	}
	as.scanned(SourceMemory, ix.ImageBytes)
	return nil
}

// environ reports the secret-named variables of a process's environment
// and the secret-named options of its command line, exactly as the
// process has them (a value may hold blanks).
func (as *archiveScan) environ(base Location, ix *criu.PageIndex, m *mm.MmEntry, ae mem.ArgsEnv) {
	at := func(src Source, addr uint64, field string) Location {
		l := base
		l.Source, l.Address, l.Field = src, addr, field
		if off, err := ix.Locate(addr); err == nil {
			l.Offset = off
		}
		return l
	}
	args := ae.ArgvAt()
	argv := make([]string, len(args))
	addrs := make([]uint64, len(args))
	for i, a := range args {
		argv[i], addrs[i] = a.Value, a.Addr
	}
	for _, o := range secretOptions(argv) {
		// No field: the address says which argument, and this way the
		// place is the same as the matcher's when it sees NAME=value.
		as.s.found.add(EnvSecret, []byte(o.value), o.name, at(SourceCmdline, addrs[o.arg]+uint64(o.at), ""))
	}
	for i, kv := range ae.EnvironAt() {
		if name, value, ok := secretVariable(kv.Value); ok {
			// The value's address: past NAME=.
			as.s.found.add(EnvSecret, []byte(value), name, at(SourceEnviron, kv.Addr+uint64(len(name)+1), fmt.Sprintf("environ[%d]", i)))
		}
	}
}

// secretVariable splits NAME=value and says whether it is a secret.
func secretVariable(kv string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(kv, "=")
	return name, value, ok && SecretName(name) && !IsPlaceholder([]byte(value))
}

// option is a secret given on a command line.
type option struct {
	// arg is the index of the argument that holds the value, and at where
	// the value starts in it: past NAME= in --NAME=value, 0 in --NAME
	// value. A location is where the value is, as for every match.
	arg, at int
	// name is the option's name without dashes, as a variable's name.
	name, value string
}

// secretOptions finds options whose names mean secrets in a command line
// (--name=value, -name=value and --name value, in any case), and
// variables given as arguments (NAME=value, as env(1) takes them).
func secretOptions(argv []string) []option {
	var out []option
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			break
		}
		bare := strings.TrimLeft(a, "-")
		name, value, inline := strings.Cut(bare, "=")
		if !SecretName(name) || bare == a && !inline {
			continue
		}
		o := option{arg: i, at: len(a) - len(bare) + len(name) + 1, name: name, value: value}
		if !inline {
			if i+1 >= len(argv) || strings.HasPrefix(argv[i+1], "-") {
				continue
			}
			o.arg, o.at, o.value = i+1, 0, argv[i+1]
		}
		if !IsPlaceholder([]byte(o.value)) {
			out = append(out, o)
		}
	}
	return out
}

// pageStream reads a pages image, feeding every byte to the matcher, one
// segment at a time. It is also the reader the environment extractor
// pulls from on a stream, so that the image is read once.
type pageStream struct {
	as    *archiveScan
	r     io.Reader
	pos   int64
	limit int64 // the bytes the pagemap accounts for
	segs  []segment
	seg   int  // the segment at or after pos
	open  bool // the matcher is inside segs[seg]
	base  Location
	mm    *mm.MmEntry
}

func (ps *pageStream) Read(p []byte) (int, error) {
	if ps.pos >= ps.limit {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), ps.limit-ps.pos)]
	n, err := ps.r.Read(p)
	ps.dispatch(p[:n])
	if cerr := ps.as.progress(n); cerr != nil {
		return n, cerr
	}
	if err == io.EOF && ps.pos < ps.limit {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// drain reads the rest of the image.
func (ps *pageStream) drain() error {
	defer ps.endSegment()
	if ps.as.s.readBuf == nil {
		ps.as.s.readBuf = make([]byte, blockSize)
	}
	for ps.pos < ps.limit {
		_, err := ps.Read(ps.as.s.readBuf)
		if err == io.ErrUnexpectedEOF || err == io.EOF && ps.pos < ps.limit {
			return fmt.Errorf("pages image ends at offset %d, before the pagemap says (%d bytes): %w", ps.pos, ps.limit, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// dispatch hands the bytes at ps.pos to the matcher, ending the matcher's
// stream at each segment's end.
func (ps *pageStream) dispatch(p []byte) {
	m := ps.as.s.m
	for len(p) > 0 {
		if ps.seg >= len(ps.segs) {
			ps.pos += int64(len(p))
			return
		}
		sg := ps.segs[ps.seg]
		if ps.pos < sg.off {
			k := min(int64(len(p)), sg.off-ps.pos)
			p, ps.pos = p[k:], ps.pos+k
			continue
		}
		if !ps.open {
			ps.open = true
			ps.as.s.onMatch = func(x Match) { ps.match(sg, x) }
		}
		k := min(int64(len(p)), sg.off+sg.n-ps.pos)
		m.Write(p[:k])
		p, ps.pos = p[k:], ps.pos+k
		if ps.pos == sg.off+sg.n {
			ps.endSegment()
			ps.seg++
		}
	}
}

func (ps *pageStream) endSegment() {
	if ps.open {
		ps.as.s.m.End()
		ps.open = false
	}
}

// match places a match found in segment sg. Matches in the argument and
// environment areas are labelled so; secret-named variables in the
// environment are left to environ, which sees each one whole. (In the
// arguments, environ's options and these matches coincide where both
// see one, and the collector counts a place once.)
func (ps *pageStream) match(sg segment, x Match) {
	l := ps.base
	l.Address = sg.addr + uint64(x.ValueStart)
	l.Offset = sg.off + x.ValueStart
	if m := ps.mm; m != nil {
		v := l.Address
		switch {
		case m.GetMmEnvStart() <= v && v < m.GetMmEnvEnd():
			l.Source = SourceEnviron
		case m.GetMmArgStart() <= v && v < m.GetMmArgEnd():
			l.Source = SourceCmdline
		}
		if l.Source == SourceEnviron && x.Kind == EnvSecret {
			return
		}
	}
	ps.as.s.found.add(x.Kind, x.Value, x.Detail, l)
}

// orphanPages scans a pages image no pagemap refers to as plain bytes:
// its addresses are unknown, its content is not.
func (as *archiveScan) orphanPages(c *archive.Checkpoint, p *archive.PagesImage) error {
	base := Location{Archive: as.a.Name(), Container: strings.TrimSuffix(c.Prefix, "/"), Source: SourceMemory, File: p.Entry.Name}
	as.sum.Warnings = append(as.sum.Warnings, p.Entry.Name+": no pagemap refers to it: scanned as plain bytes, without addresses")
	return as.stream(p.R, base, nil)
}

// describeMemory names the process and the mapping of each memory
// location found in c, once every image has been read.
func (as *archiveScan) describeMemory(c *archive.Checkpoint) {
	container := strings.TrimSuffix(c.Prefix, "/")
	var tree *proc.Tree
	maps := map[uint32][]proc.Mapping{}
	for _, f := range as.s.found.findings {
		for i := range f.Locations {
			l := &f.Locations[i]
			if l.Archive != as.a.Name() || l.Container != container || l.PID == 0 || l.Comm != "" {
				continue
			}
			if tree == nil {
				t, err := proc.Build(c.Images)
				if err != nil {
					as.sum.Warnings = append(as.sum.Warnings, fmt.Sprintf("%sprocess tree: %v: mappings of findings unknown", c.Prefix, err))
					return
				}
				tree = t
			}
			p, err := tree.Find(l.PID)
			if err != nil {
				continue
			}
			l.Comm = p.Comm
			ms, ok := maps[l.PID]
			if !ok {
				ms, err = tree.Maps(c.Images, p)
				if err != nil && !errors.Is(err, proc.ErrNoProcess) {
					ms = nil
				}
				maps[l.PID] = ms
			}
			for _, mp := range ms {
				if mp.Start <= l.Address && l.Address < mp.End {
					l.Mapping, l.MappingFile = mp.Kind, mp.File
					if strings.HasPrefix(mp.File, "[") {
						l.MappingFile = ""
					}
					break
				}
			}
		}
	}
}

func countProcesses(c *archive.Checkpoint) int {
	return len(criu.All[*pstree.PstreeEntry](c.Images, "pstree.img"))
}
