package procmem

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	criu_core "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/fixture"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/mem/elfcore"
)

// writeCore writes the core of pid into a temporary file.
func writeCore(t *testing.T, path string, pid uint32) (string, *CoreInfo) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), fmt.Sprintf("core.%d", pid)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := WriteCore(context.Background(), open(t, path), f, CoreOptions{Select: Select{PID: pid}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Stat(); st.Size() != info.Size {
		t.Fatalf("file is %d bytes, WriteCore says %d", st.Size(), info.Size)
	}
	return f.Name(), info
}

// registers returns the instruction pointers of pid's threads as the core
// images hold them.
func registers(t *testing.T, path string) map[uint32]uint64 {
	c, err := archive.Load(open(t, path), archive.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ips := map[uint32]uint64{}
	for _, name := range c.Checkpoints[0].Images.Names() {
		var tid uint32
		if _, err := fmt.Sscanf(name, "core-%d.img", &tid); err == nil {
			core := criu.First[*criu_core.CoreEntry](c.Checkpoints[0].Images, name)
			ips[tid] = core.GetThreadInfo().GetGpregs().GetIp()
		}
	}
	return ips
}

// TestCoreOpensInGDB: gdb reads the planted strings and the registers of
// the dumped thread from the core alone, without the executable.
func TestCoreOpensInGDB(t *testing.T) {
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Skip("gdb not installed: cannot check that it opens the core file (CI installs it)")
	}
	name := "podman-simple.tar"
	for _, n := range fixtureArchives(t) {
		if strings.HasPrefix(n, "checkpoint-simple-") {
			name = n
		}
	}
	path := filepath.Join(fixtures, name)
	ms := fixture.Markers(t, fixtures, name)
	core, _ := writeCore(t, path, ms[0].PID)
	args := []string{"-batch", "-nx", "-c", core, "-ex", "info registers rip"}
	for _, m := range ms {
		args = append(args, "-ex", fmt.Sprintf("x/s %#x", m.Vaddr))
	}
	out, err := exec.Command("gdb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	rip := registers(t, path)[ms[0].PID]
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^rip\s+%#x\s`, rip)).Match(out) {
		t.Errorf("gdb does not show rip %#x:\n%s", rip, out)
	}
	for _, m := range ms {
		if !bytes.Contains(out, fmt.Appendf(nil, "%#x:\t\"%s", m.Vaddr, m.Text)) {
			t.Errorf("gdb does not show %q at %#x:\n%s", m.Text, m.Vaddr, out)
		}
	}
}

// TestCoreThreadsInGDB: every thread of the rich parent is in the core,
// with its own registers.
func TestCoreThreadsInGDB(t *testing.T) {
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Skip("gdb not installed: cannot check that it opens the core file (CI installs it)")
	}
	path := filepath.Join(fixtures, "podman-rich.tar")
	core, info := writeCore(t, path, 1)
	if info.Threads != 3 {
		t.Fatalf("%d threads, want 3", info.Threads)
	}
	out, err := exec.Command("gdb", "-batch", "-nx", "-c", core, "-ex", "info threads", "-ex", "thread apply all info registers rip").CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	for tid, ip := range registers(t, path) {
		if tid == 1 || tid == 7 || tid == 9 {
			if !bytes.Contains(out, fmt.Appendf(nil, "LWP %d", tid)) || !regexp.MustCompile(fmt.Sprintf(`(?m)^rip\s+%#x\s`, ip)).Match(out) {
				t.Errorf("thread %d rip %#x not in gdb's output:\n%s", tid, ip, out)
			}
		}
	}
}

// TestCoreLayout checks the core with debug/elf: segments where the
// mappings are, the marker's bytes where its segment says, a PRSTATUS
// per thread with the leader's pid and rip first.
func TestCoreLayout(t *testing.T) {
	name := "podman-simple.tar.zst" // a stream: the core is written in one pass
	path := filepath.Join(fixtures, name)
	ms := fixture.Markers(t, fixtures, name)
	core, info := writeCore(t, path, ms[0].PID)
	ef, err := elf.Open(core)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	if ef.Type != elf.ET_CORE || ef.Machine != elf.EM_X86_64 || ef.Class != elf.ELFCLASS64 {
		t.Fatalf("type %v machine %v class %v", ef.Type, ef.Machine, ef.Class)
	}
	var loads, filled uint64
	var notes []byte
	for _, p := range ef.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			loads++
			filled += p.Filesz
			if p.Filesz != 0 && p.Filesz != p.Memsz || p.Off%elfcore.Page != 0 {
				t.Errorf("segment %#x: filesz %d memsz %d off %#x", p.Vaddr, p.Filesz, p.Memsz, p.Off)
			}
		case elf.PT_NOTE:
			notes = make([]byte, p.Filesz)
			if _, err := p.ReadAt(notes, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if loads != uint64(info.Segments) || filled != info.Present {
		t.Errorf("%d loads with %d bytes; info says %d and %d", loads, filled, info.Segments, info.Present)
	}
	for _, m := range ms {
		got := make([]byte, len(m.Text))
		if err := readVaddr(ef, m.Vaddr, got); err != nil || string(got) != m.Text {
			t.Errorf("%#x: %q %v, want %q", m.Vaddr, got, err, m.Text)
		}
	}
	types := map[uint32]int{}
	var firstPID uint32
	var firstRIP uint64
	for len(notes) >= 12 {
		nsz, dsz, typ := binary.LittleEndian.Uint32(notes), binary.LittleEndian.Uint32(notes[4:]), binary.LittleEndian.Uint32(notes[8:])
		desc := notes[12+(nsz+3)&^3:]
		if typ == elfcore.NT_PRSTATUS && types[typ] == 0 {
			firstPID = binary.LittleEndian.Uint32(desc[32:])
			firstRIP = binary.LittleEndian.Uint64(desc[112+16*8:])
		}
		types[typ]++
		notes = desc[(dsz+3)&^3:]
	}
	for _, typ := range []uint32{elfcore.NT_PRSTATUS, elfcore.NT_PRPSINFO, elfcore.NT_AUXV, elfcore.NT_FILE, elfcore.NT_PRFPREG} {
		if types[typ] != 1 {
			t.Errorf("note type %#x: %d of them, want 1", typ, types[typ])
		}
	}
	if firstPID != ms[0].PID || firstRIP != registers(t, path)[ms[0].PID] {
		t.Errorf("first PRSTATUS: pid %d rip %#x", firstPID, firstRIP)
	}
}

func readVaddr(ef *elf.File, addr uint64, p []byte) error {
	for _, s := range ef.Progs {
		if s.Type == elf.PT_LOAD && s.Vaddr <= addr && addr+uint64(len(p)) <= s.Vaddr+s.Filesz {
			_, err := s.ReadAt(p, int64(addr-s.Vaddr))
			return err
		}
	}
	return fmt.Errorf("%#x: in no segment with bytes", addr)
}

// TestCoreSameFromStream: the core of a compressed archive, written in one
// pass as the pages stream by, is byte for byte the core of the same
// archive read with random access; pre-dump (parent) pages are left out.
func TestCoreSameFromStream(t *testing.T) {
	spec := testgen.Spec{Processes: 2, ThreadsPerProcess: 2, PageBytes: 4 << 20, ParentEntries: 3, Seed: 3}
	plain, l := generate(t, spec, testgen.None)
	zst, _ := generate(t, spec, testgen.Zstd)
	pid := uint32(l.Processes[1].PID)
	a, info := writeCore(t, plain, pid)
	b, _ := writeCore(t, zst, pid)
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("cores differ")
	}
	if info.Threads != 2 || info.Unknown == 0 || info.Present == 0 {
		t.Errorf("info %+v: want 2 threads, parent pages left out", info)
	}
	var parent uint64
	for _, r := range l.Processes[1].Pages {
		if r.Offset < 0 {
			parent += r.Pages * elfcore.Page
		}
	}
	if info.Unknown != parent {
		t.Errorf("%d bytes left out, the pagemap has %d in the parent", info.Unknown, parent)
	}
}
