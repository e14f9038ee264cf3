package elfcore

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// memFile is an in-memory io.WriterAt and io.ReaderAt.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(m.b) {
		m.b = append(m.b, make([]byte, end-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	return copy(p, m.b[off:]), nil
}

// build writes a core with the segments, filling present ones with a
// pattern, and parses it back.
func build(t testing.TB, segs []Segment, notes []Note) (*elf.File, []byte, error) {
	l, err := Plan(segs)
	if err != nil {
		return nil, nil, err
	}
	if l.FileBytes() > 64<<20 {
		return nil, nil, errors.New("too much memory to build in a test")
	}
	f := &memFile{}
	w := NewWriter(f, l)
	for _, s := range l.Segments {
		if !s.Present {
			continue
		}
		p := make([]byte, s.Memsz)
		for i := range p {
			p[i] = byte((s.Vaddr + uint64(i)) * 31 >> 3)
		}
		// In two pieces, the second first: order must not matter.
		h := len(p) / 3
		if err := w.WriteMemory(s.Vaddr+uint64(h), p[h:]); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMemory(s.Vaddr, p[:h]); err != nil {
			t.Fatal(err)
		}
	}
	size, err := w.Finish(notes)
	if err != nil {
		return nil, nil, err
	}
	if size != int64(len(f.b)) {
		t.Fatalf("Finish says %d bytes, file has %d", size, len(f.b))
	}
	ef, err := elf.NewFile(bytes.NewReader(f.b))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	return ef, f.b, nil
}

func TestRoundTrip(t *testing.T) {
	segs := []Segment{
		{Vaddr: 0x400000, Memsz: 0x2000, Flags: PF_R | PF_X, Present: true},
		{Vaddr: 0x402000, Memsz: 0x1000, Flags: PF_R},
		{Vaddr: 0x7ffe0000, Memsz: 0x3000, Flags: PF_R | PF_W, Present: true},
	}
	st := PRStatus{PID: 7, PPID: 1, PGRP: 7, SID: 7, Regs: X86Regs{Rip: 0x401234, Rsp: 0x7ffe1000}}
	ps := PRPSInfo{PID: 7, Comm: "a-very-long-command-name", Args: "/bin/x --flag", StateName: 'S'}
	fn, err := FileNote([]MappedFile{{Start: 0x400000, End: 0x402000, Offset: 0x1000, Path: "/bin/x"}})
	if err != nil {
		t.Fatal(err)
	}
	auxv, err := AuxvNote([]uint64{6, 4096, 0, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	ef, raw, err := build(t, segs, []Note{st.Note(), ps.Note(), fn, auxv})
	if err != nil {
		t.Fatal(err)
	}
	if ef.Type != elf.ET_CORE || ef.Machine != elf.EM_X86_64 || len(ef.Progs) != 4 || ef.Progs[0].Type != elf.PT_NOTE {
		t.Fatalf("type %v machine %v progs %d", ef.Type, ef.Machine, len(ef.Progs))
	}
	for i, p := range ef.Progs[1:] {
		s := segs[i]
		if p.Type != elf.PT_LOAD || p.Vaddr != s.Vaddr || p.Memsz != s.Memsz || uint32(p.Flags) != s.Flags {
			t.Errorf("segment %d: %+v", i, p.ProgHeader)
		}
		if !s.Present {
			if p.Filesz != 0 {
				t.Errorf("absent segment %d has %d file bytes", i, p.Filesz)
			}
			continue
		}
		b := make([]byte, p.Filesz)
		p.ReadAt(b, 0)
		for j, c := range b {
			if c != byte((s.Vaddr+uint64(j))*31>>3) {
				t.Fatalf("segment %d byte %d: %d", i, j, c)
			}
		}
	}
	notes := make([]byte, ef.Progs[0].Filesz)
	ef.Progs[0].ReadAt(notes, 0)
	var types []uint32
	for len(notes) > 0 {
		nsz, dsz := binary.LittleEndian.Uint32(notes), binary.LittleEndian.Uint32(notes[4:])
		types = append(types, binary.LittleEndian.Uint32(notes[8:]))
		if name := string(notes[12 : 12+nsz-1]); name != "CORE" {
			t.Errorf("note name %q", name)
		}
		desc := notes[12+(nsz+3)&^3:]
		switch types[len(types)-1] {
		case NT_PRSTATUS:
			if len(desc) < 336 || binary.LittleEndian.Uint32(desc[32:]) != 7 || binary.LittleEndian.Uint64(desc[112+16*8:]) != 0x401234 {
				t.Errorf("prstatus %x", desc[:dsz])
			}
		case NT_PRPSINFO:
			if dsz != 136 || string(desc[40:55]) != "a-very-long-com" || !strings.HasPrefix(string(desc[56:]), "/bin/x --flag\x00") {
				t.Errorf("prpsinfo %q", desc[:dsz])
			}
		case NT_AUXV:
			if dsz != 32 {
				t.Errorf("auxv of %d bytes, want 2 pairs up to AT_NULL", dsz)
			}
		}
		notes = desc[(dsz+3)&^3:]
	}
	if len(types) != 4 {
		t.Errorf("note types %v", types)
	}
	if _, err := exec.LookPath("readelf"); err == nil {
		path := filepath.Join(t.TempDir(), "core")
		os.WriteFile(path, raw, 0o600)
		out, err := exec.Command("readelf", "-n", "-l", "-W", path).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("NT_PRSTATUS")) || !bytes.Contains(out, []byte("NT_FILE")) || bytes.Contains(out, []byte("Warning")) {
			t.Errorf("readelf: %v\n%s", err, out)
		}
	}
}

func TestPlanRefuses(t *testing.T) {
	for name, segs := range map[string][]Segment{
		"empty":    {{Vaddr: 0x1000}},
		"overlap":  {{Vaddr: 0x1000, Memsz: 0x2000}, {Vaddr: 0x2000, Memsz: 0x1000}},
		"unsorted": {{Vaddr: 0x5000, Memsz: 0x1000}, {Vaddr: 0x1000, Memsz: 0x1000}},
		"overflow": {{Vaddr: 1<<64 - 0x1000, Memsz: 0x2000}},
		"flags":    {{Vaddr: 0x1000, Memsz: 0x1000, Flags: 8}},
		"too big":  {{Vaddr: 0x1000, Memsz: 1 << 63, Present: true}},
	} {
		if _, err := Plan(segs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFinishRefusesHoles(t *testing.T) {
	l, _ := Plan([]Segment{{Vaddr: 0x1000, Memsz: 0x2000, Present: true}})
	w := NewWriter(&memFile{}, l)
	w.WriteMemory(0x1000, make([]byte, 0x1000))
	if _, err := w.Finish(nil); err == nil {
		t.Fatal("a half-written segment was published")
	}
	if err := w.WriteMemory(0x5000, []byte{1}); err == nil {
		t.Fatal("memory outside the segments was accepted")
	}
}

// TestManySegments: more program headers than e_phnum holds use the
// PN_XNUM extension, which readelf understands.
func TestManySegments(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	segs := make([]Segment, 70000)
	for i := range segs {
		segs[i] = Segment{Vaddr: uint64(i) * 0x2000, Memsz: 0x1000, Flags: PF_R, Present: i%1000 == 0}
	}
	l, err := Plan(segs)
	if err != nil {
		t.Fatal(err)
	}
	f := &memFile{}
	w := NewWriter(f, l)
	for _, s := range l.Segments {
		if s.Present {
			w.WriteMemory(s.Vaddr, make([]byte, s.Memsz))
		}
	}
	if _, err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint16(f.b[56:]) != 0xffff || binary.LittleEndian.Uint32(f.b[binary.LittleEndian.Uint64(f.b[40:])+44:]) != 70001 {
		t.Fatal("no PN_XNUM extension")
	}
	if _, err := exec.LookPath("readelf"); err == nil {
		path := filepath.Join(t.TempDir(), "core")
		os.WriteFile(path, f.b, 0o600)
		out, _ := exec.Command("readelf", "-h", "-W", path).CombinedOutput()
		if !bytes.Contains(out, []byte("70001")) {
			t.Errorf("readelf does not see 70001 program headers:\n%s", out)
		}
	}
}

// FuzzCore plans random segments and writes them; what Plan accepts must
// come back from debug/elf exactly, and nothing may panic.
func FuzzCore(f *testing.F) {
	f.Add(uint64(1), uint8(3), []byte("CORE"), uint32(1))
	f.Add(uint64(2), uint8(0), []byte{}, uint32(0x46494c45))
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, desc []byte, typ uint32) {
		rng := rand.New(rand.NewPCG(seed, 9))
		var segs []Segment
		addr := uint64(rng.IntN(1 << 20))
		for range n % 24 {
			// Mostly valid, sometimes overlapping, empty or huge.
			size := uint64(rng.IntN(4)) * 0x1000
			if rng.IntN(20) == 0 {
				size = rng.Uint64()
			}
			segs = append(segs, Segment{Vaddr: addr, Memsz: size, Flags: uint32(rng.IntN(9)), Present: rng.IntN(2) == 0})
			addr += size + uint64(rng.IntN(3)-1)*0x1000
		}
		ef, _, err := build(t, segs, []Note{{Name: "CORE", Type: typ, Desc: desc}})
		if err != nil {
			return
		}
		if len(ef.Progs) != len(segs)+1 {
			t.Fatalf("%d program headers for %d segments", len(ef.Progs), len(segs))
		}
		var notes bytes.Buffer
		notes.ReadFrom(ef.Progs[0].Open())
		if want, _ := EncodeNotes([]Note{{Name: "CORE", Type: typ, Desc: desc}}); !bytes.Equal(notes.Bytes(), want) {
			t.Fatal("notes differ")
		}
	})
}

// TestNoteLayout pins the offsets of the fields the note encoders write to
// those of the kernel's x86-64 structs, which gdb and readelf read by offset.
func TestNoteLayout(t *testing.T) {
	le := binary.LittleEndian
	st := PRStatus{Signal: 11, SigHeld: 2, PID: 7, SID: 9, FPValid: true,
		Regs: X86Regs{R15: 15, Rip: 0x401234, Rsp: 0x7ffe1000, Gs: 0x33}}.Note().Desc
	fx := FXSave{Cwd: 0x37f, Fop: 4, Rdp: 5, MxcsrMask: 0xffff, St: [32]uint32{31: 6}, Xmm: [64]uint32{0: 8, 63: 9}}.Note().Desc
	ps := PRPSInfo{UID: 1000, GID: 1001, SID: 42, Flags: 0x400}.Note().Desc
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"pr_cursig", uint64(le.Uint16(st[12:])), 11},
		{"pr_sighold", le.Uint64(st[24:]), 2},
		{"pr_pid", uint64(le.Uint32(st[32:])), 7},
		{"pr_sid", uint64(le.Uint32(st[44:])), 9},
		{"r15", le.Uint64(st[112:]), 15},
		{"rip", le.Uint64(st[112+8*16:]), 0x401234},
		{"rsp", le.Uint64(st[112+8*19:]), 0x7ffe1000},
		{"gs", le.Uint64(st[112+8*26:]), 0x33},
		{"pr_fpvalid", uint64(le.Uint32(st[328:])), 1},
		{"cwd", uint64(le.Uint16(fx[0:])), 0x37f},
		{"fop", uint64(le.Uint16(fx[6:])), 4},
		{"rdp", le.Uint64(fx[16:]), 5},
		{"mxcsr_mask", uint64(le.Uint32(fx[28:])), 0xffff},
		{"st_space[31]", uint64(le.Uint32(fx[32+4*31:])), 6},
		{"xmm_space[0]", uint64(le.Uint32(fx[160:])), 8},
		{"xmm_space[63]", uint64(le.Uint32(fx[160+4*63:])), 9},
		{"pr_flag", le.Uint64(ps[8:]), 0x400},
		{"pr_uid", uint64(le.Uint32(ps[16:])), 1000},
		{"pr_gid", uint64(le.Uint32(ps[20:])), 1001},
		{"pr_sid", uint64(le.Uint32(ps[36:])), 42},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}
