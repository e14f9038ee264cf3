package criu

import (
	"bytes"
	"encoding/binary"
	"testing"

	core_x86 "github.com/checkpoint-restore/go-criu/v8/crit/images/core-x86"
	criu_core "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/vma"
	"google.golang.org/protobuf/proto"
)

// partialImage lays out entries as CRIU does, without the required
// fields a test leaves out.
func partialImage(t *testing.T, magic string, entries ...proto.Message) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(magicCommon))
	b = binary.LittleEndian.AppendUint32(b, uint32(mustMagic(t, magic)))
	for _, e := range entries {
		raw, err := proto.MarshalOptions{AllowPartial: true}.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(raw)))
		b = append(b, raw...)
	}
	return b
}

// Fields decodes what it names, down to fields of nested and repeated
// messages, and nothing else; entries keep their values; the image limit
// counts the bytes read, not the fields kept.
func TestReadImageFields(t *testing.T) {
	core := &criu_core.CoreEntry{
		Mtype: criu_core.CoreEntry_X86_64.Enum(),
		Tc:    &criu_core.TaskCoreEntry{TaskState: proto.Uint32(1), ExitCode: proto.Uint32(3), Comm: proto.String("app"), Personality: proto.Uint32(9)},
		ThreadInfo: &core_x86.ThreadInfoX86{ClearTidAddr: proto.Uint64(5),
			Gpregs: &core_x86.UserX86RegsEntry{Ip: proto.Uint64(0x401000), Sp: proto.Uint64(0x7ffc0000), Ax: proto.Uint64(42)},
			Fpregs: &core_x86.UserX86FpregsEntry{Cwd: proto.Uint32(0x37f), StSpace: make([]uint32, 32)}},
	}
	mem := &mm.MmEntry{MmStartStack: proto.Uint64(77), MmSavedAuxv: []uint64{1, 2, 3},
		Vmas: []*vma.VmaEntry{{Start: proto.Uint64(1 << 20), End: proto.Uint64(2 << 20), Fd: proto.Int64(4), Prot: proto.Uint32(3)}, {Start: proto.Uint64(8 << 20), End: proto.Uint64(9 << 20), Fd: proto.Int64(-1)}}}
	cf, err := FieldsOf(core, "tc.task_state", "tc.comm", "thread_info.gpregs.ip", "thread_info.gpregs.sp")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := FieldsOf(mem, "vmas.start", "vmas.end", "vmas.prot", "mm_start_stack")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		magic string
		in    proto.Message
		f     Fields
		want  proto.Message
	}{
		{"CORE", core, cf, &criu_core.CoreEntry{
			Tc:         &criu_core.TaskCoreEntry{TaskState: proto.Uint32(1), Comm: proto.String("app")},
			ThreadInfo: &core_x86.ThreadInfoX86{Gpregs: &core_x86.UserX86RegsEntry{Ip: proto.Uint64(0x401000), Sp: proto.Uint64(0x7ffc0000)}}}},
		{"MM", mem, mf, &mm.MmEntry{MmStartStack: proto.Uint64(77),
			Vmas: []*vma.VmaEntry{{Start: proto.Uint64(1 << 20), End: proto.Uint64(2 << 20), Prot: proto.Uint32(3)}, {Start: proto.Uint64(8 << 20), End: proto.Uint64(9 << 20)}}}},
	} {
		data := partialImage(t, c.magic, c.in, c.in)
		img, err := ReadImage("x.img", bytes.NewReader(data), Options{Size: int64(len(data)), Fields: c.f}, 0, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.magic, err)
		}
		if len(img.Entries) != 2 {
			t.Fatalf("%s: %d entries", c.magic, len(img.Entries))
		}
		for _, e := range img.Entries {
			if !proto.Equal(e, c.want) {
				t.Errorf("%s with %v:\n got %v\nwant %v", c.magic, c.f, e, c.want)
			}
		}
		// Two entries of the full size do not fit in one and a half.
		limit := int64(proto.Size(c.in)) * 3 / 2
		if _, err := ReadImage("x.img", bytes.NewReader(data), Options{Size: int64(len(data)), Fields: c.f}, limit, nil); err == nil {
			t.Errorf("%s with %v: the %d-byte image limit did not count the bytes read", c.magic, c.f, limit)
		}
	}
	if _, err := FieldsOf(core, "tc.nope"); err == nil {
		t.Error("unknown field accepted")
	}
	if _, err := FieldsOf(core, "tc.comm.x"); err == nil {
		t.Error("a field inside a string accepted")
	}
}

// Delete forgets an image, and the pages image its pagemap indexed.
func TestImageSetDelete(t *testing.T) {
	s := NewImageSet()
	s.Add(&Image{Name: "core-1.img"})
	s.Add(pagemapImg("pagemap-1.img", 7))
	s.Delete("core-1.img")
	s.Delete("missing.img")
	if s.Get("core-1.img") != nil || s.Len() != 1 {
		t.Errorf("core-1.img still there (%d images)", s.Len())
	}
	s.Delete("pagemap-1.img")
	if _, ok := s.Pagemap(7); ok || s.Len() != 0 {
		t.Error("pagemap-1.img still indexes pages-7.img")
	}
}
