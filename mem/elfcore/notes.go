package elfcore

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Note types (n_type) of Linux core files.
const (
	NT_PRSTATUS = 1
	NT_PRFPREG  = 2
	NT_PRPSINFO = 3
	NT_AUXV     = 6
	NT_FILE     = 0x46494c45
)

// Note is one ELF note.
type Note struct {
	Name string // "CORE" for the notes here
	Type uint32
	Desc []byte
}

// EncodeNotes lays notes out as a PT_NOTE segment holds them: a header of
// three words, the NUL-terminated name and the description, each padded to
// four bytes.
func EncodeNotes(notes []Note) ([]byte, error) {
	var b []byte
	le := binary.LittleEndian
	for _, n := range notes {
		if len(n.Name)+1 > 1<<16 || len(n.Desc) > 1<<30 {
			return nil, fmt.Errorf("note %q type %#x: too large", n.Name, n.Type)
		}
		b = le.AppendUint32(b, uint32(len(n.Name)+1))
		b = le.AppendUint32(b, uint32(len(n.Desc)))
		b = le.AppendUint32(b, n.Type)
		b = append(b, n.Name...)
		b = append(b, 0)
		b = pad4(b)
		b = append(b, n.Desc...)
		b = pad4(b)
	}
	return b, nil
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// put16, put32 and put64 write vs little-endian one after another from the
// start of b: the kernel's structs are runs of same-sized fields.
func put16(b []byte, vs ...uint16) {
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
}

func put32(b []byte, vs ...uint32) {
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
}

func put64(b []byte, vs ...uint64) {
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
}

// X86Regs are the general registers of an x86-64 thread, in the order of
// the kernel's user_regs_struct (which CRIU's user_x86_regs_entry follows).
type X86Regs struct {
	R15, R14, R13, R12, Rbp, Rbx, R11, R10, R9, R8  uint64
	Rax, Rcx, Rdx, Rsi, Rdi, OrigRax, Rip, Cs       uint64
	Eflags, Rsp, Ss, FsBase, GsBase, Ds, Es, Fs, Gs uint64
}

// PRStatus is a thread's NT_PRSTATUS: who it is and its registers.
type PRStatus struct {
	Signal               uint16 // pr_cursig
	SigPending, SigHeld  uint64
	PID, PPID, PGRP, SID uint32 // PID is the thread id
	Regs                 X86Regs
	FPValid              bool
}

// Note encodes p as the x86-64 struct elf_prstatus (336 bytes).
func (p PRStatus) Note() Note {
	b := make([]byte, 336)
	put16(b[12:], p.Signal)
	put64(b[16:], p.SigPending, p.SigHeld)
	put32(b[32:], p.PID, p.PPID, p.PGRP, p.SID)
	// pr_utime .. pr_cstime (48..112) stay zero: CRIU keeps no times.
	r := p.Regs
	put64(b[112:],
		r.R15, r.R14, r.R13, r.R12, r.Rbp, r.Rbx, r.R11, r.R10, r.R9, r.R8,
		r.Rax, r.Rcx, r.Rdx, r.Rsi, r.Rdi, r.OrigRax, r.Rip, r.Cs,
		r.Eflags, r.Rsp, r.Ss, r.FsBase, r.GsBase, r.Ds, r.Es, r.Fs, r.Gs)
	if p.FPValid {
		put32(b[328:], 1)
	}
	return Note{Name: "CORE", Type: NT_PRSTATUS, Desc: b}
}

// FXSave is the x87/SSE state of a thread as FXSAVE lays it out (512
// bytes), the x86-64 NT_PRFPREG.
type FXSave struct {
	Cwd, Swd, Twd, Fop uint16
	Rip, Rdp           uint64
	Mxcsr, MxcsrMask   uint32
	St                 [32]uint32 // 8 registers of 16 bytes
	Xmm                [64]uint32 // 16 registers of 16 bytes
}

// Note encodes f as NT_PRFPREG.
func (f FXSave) Note() Note {
	b := make([]byte, 512)
	put16(b[0:], f.Cwd, f.Swd, f.Twd, f.Fop)
	put64(b[8:], f.Rip, f.Rdp)
	put32(b[24:], f.Mxcsr, f.MxcsrMask)
	put32(b[32:], f.St[:]...)
	put32(b[160:], f.Xmm[:]...)
	return Note{Name: "CORE", Type: NT_PRFPREG, Desc: b}
}

// PRPSInfo is the process's NT_PRPSINFO.
type PRPSInfo struct {
	State                byte // 0 running, 1 sleeping, ..., 4 zombie (pr_state)
	StateName            byte // 'R', 'S', 'T', 'Z' (pr_sname)
	Nice                 int8
	Flags                uint64
	UID, GID             uint32
	PID, PPID, PGRP, SID uint32
	Comm                 string // at most 15 bytes are kept
	Args                 string // at most 79 bytes are kept
}

// Note encodes p as the x86-64 struct elf_prpsinfo (136 bytes).
func (p PRPSInfo) Note() Note {
	b := make([]byte, 136)
	b[0] = p.State
	b[1] = p.StateName
	if p.StateName == 'Z' {
		b[2] = 1
	}
	b[3] = byte(p.Nice)
	put64(b[8:], p.Flags)
	put32(b[16:], p.UID, p.GID, p.PID, p.PPID, p.PGRP, p.SID)
	copy(b[40:55], p.Comm)
	copy(b[56:135], p.Args)
	return Note{Name: "CORE", Type: NT_PRPSINFO, Desc: b}
}

// MappedFile is a file mapping for NT_FILE.
type MappedFile struct {
	Start, End uint64
	Offset     uint64 // in bytes; NT_FILE stores it in pages
	Path       string
}

// FileNote encodes the NT_FILE note: count, page size, (start, end, page
// offset) per mapping, then the paths.
func FileNote(files []MappedFile) (Note, error) {
	le := binary.LittleEndian
	b := le.AppendUint64(nil, uint64(len(files)))
	b = le.AppendUint64(b, Page)
	for _, f := range files {
		if f.End <= f.Start {
			return Note{}, fmt.Errorf("mapped file %s at %#x: end %#x is not after start", f.Path, f.Start, f.End)
		}
		b = le.AppendUint64(b, f.Start)
		b = le.AppendUint64(b, f.End)
		b = le.AppendUint64(b, f.Offset/Page)
	}
	for _, f := range files {
		b = append(b, f.Path...)
		b = append(b, 0)
	}
	return Note{Name: "CORE", Type: NT_FILE, Desc: b}, nil
}

// AuxvNote encodes the auxiliary vector (type, value pairs) up to and
// including its AT_NULL.
func AuxvNote(auxv []uint64) (Note, error) {
	if len(auxv)%2 != 0 {
		return Note{}, errors.New("auxiliary vector has an odd number of words")
	}
	le := binary.LittleEndian
	var b []byte
	for i := 0; i < len(auxv); i += 2 {
		b = le.AppendUint64(b, auxv[i])
		b = le.AppendUint64(b, auxv[i+1])
		if auxv[i] == 0 {
			return Note{Name: "CORE", Type: NT_AUXV, Desc: b}, nil
		}
	}
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, 0)
	return Note{Name: "CORE", Type: NT_AUXV, Desc: b}, nil
}
