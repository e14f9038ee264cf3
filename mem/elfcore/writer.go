package elfcore

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Writer fills a core file laid out by Plan. Memory may be written in any
// order; Finish refuses a file whose present segments are not all written
// in full, so a hole is never published as zeros.
type Writer struct {
	f       io.WriterAt
	l       *Layout
	written []uint64 // bytes written per segment
}

// NewWriter returns a Writer of the layout l into f.
func NewWriter(f io.WriterAt, l *Layout) *Writer {
	return &Writer{f: f, l: l, written: make([]uint64, len(l.Segments))}
}

// Layout returns the layout being written.
func (w *Writer) Layout() *Layout { return w.l }

// WriteMemory writes p, the memory at addr, which must lie in present
// segments.
func (w *Writer) WriteMemory(addr uint64, p []byte) error {
	for len(p) > 0 {
		i, ok := w.l.Find(addr)
		if !ok || !w.l.Segments[i].Present {
			return fmt.Errorf("%#x: not in a present segment of the core file", addr)
		}
		s := w.l.Segments[i]
		n := min(uint64(len(p)), s.Vaddr+s.Memsz-addr)
		if _, err := w.f.WriteAt(p[:n], int64(s.Offset+addr-s.Vaddr)); err != nil {
			return err
		}
		w.written[i] += n
		p = p[n:]
		addr += n
	}
	return nil
}

// Offset returns where the byte at addr is in the file, when the file
// holds it.
func (w *Writer) Offset(addr uint64) (int64, bool) {
	i, ok := w.l.Find(addr)
	if !ok || !w.l.Segments[i].Present {
		return 0, false
	}
	s := w.l.Segments[i]
	return int64(s.Offset + addr - s.Vaddr), true
}

// Finish writes the notes after the memory and the headers in front. It
// returns the size of the file.
func (w *Writer) Finish(notes []Note) (int64, error) {
	for i, s := range w.l.Segments {
		if s.Present && w.written[i] != s.Memsz {
			return 0, fmt.Errorf("segment at %#x: %d of %d bytes written", s.Vaddr, w.written[i], s.Memsz)
		}
	}
	nb, err := EncodeNotes(notes)
	if err != nil {
		return 0, err
	}
	if _, err := w.f.WriteAt(nb, int64(w.l.NotesOffset)); err != nil {
		return 0, err
	}
	end := w.l.NotesOffset + uint64(len(nb))
	hdr, shdr := w.l.headers(uint64(len(nb)), alignUp(end, 8))
	if _, err := w.f.WriteAt(hdr, 0); err != nil {
		return 0, err
	}
	if shdr != nil {
		end = alignUp(end, 8)
		if _, err := w.f.WriteAt(shdr, int64(end)); err != nil {
			return 0, err
		}
		end += uint64(len(shdr))
	}
	return int64(end), nil
}

// headers returns the ELF header with the program header table, and the
// one section header that holds the segment count when there are too many
// for e_phnum (PN_XNUM), placed at shoff.
func (l *Layout) headers(notesLen, shoff uint64) (hdr, shdr []byte) {
	le := binary.LittleEndian
	nph := uint64(len(l.Segments) + 1)
	b := make([]byte, 0, l.headerSize)
	b = append(b, 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* EV_CURRENT */, 0 /* SYSV */)
	b = append(b, make([]byte, 8)...)
	b = le.AppendUint16(b, 4)  // ET_CORE
	b = le.AppendUint16(b, 62) // EM_X86_64
	b = le.AppendUint32(b, 1)  // EV_CURRENT
	b = le.AppendUint64(b, 0)  // e_entry
	b = le.AppendUint64(b, ehdrSize)
	xnum := nph >= pnXNum
	if xnum {
		b = le.AppendUint64(b, shoff)
	} else {
		b = le.AppendUint64(b, 0)
	}
	b = le.AppendUint32(b, 0) // e_flags
	b = le.AppendUint16(b, ehdrSize)
	b = le.AppendUint16(b, phdrSize)
	if xnum {
		b = le.AppendUint16(b, pnXNum)
		b = le.AppendUint16(b, shdrSize)
		b = le.AppendUint16(b, 1) // e_shnum
	} else {
		b = le.AppendUint16(b, uint16(nph))
		b = le.AppendUint16(b, 0)
		b = le.AppendUint16(b, 0)
	}
	b = le.AppendUint16(b, 0) // e_shstrndx
	ph := func(typ, flags uint32, off, vaddr, filesz, memsz, align uint64) {
		b = le.AppendUint32(b, typ)
		b = le.AppendUint32(b, flags)
		b = le.AppendUint64(b, off)
		b = le.AppendUint64(b, vaddr)
		b = le.AppendUint64(b, 0) // p_paddr
		b = le.AppendUint64(b, filesz)
		b = le.AppendUint64(b, memsz)
		b = le.AppendUint64(b, align)
	}
	ph(4 /* PT_NOTE */, 0, l.NotesOffset, 0, notesLen, 0, 4)
	for _, s := range l.Segments {
		var filesz uint64
		if s.Present {
			filesz = s.Memsz
		}
		ph(1 /* PT_LOAD */, s.Flags, s.Offset, s.Vaddr, filesz, s.Memsz, Page)
	}
	if !xnum {
		return b, nil
	}
	// Section header 0: SHT_NULL whose sh_info holds the real e_phnum.
	shdr = make([]byte, shdrSize)
	le.PutUint32(shdr[44:], uint32(nph))
	return b, shdr
}
