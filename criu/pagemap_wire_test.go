package criu

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The wire decoder of pagemap entries must read what proto.Unmarshal,
// PageCount and PageFlags read, for every combination of optional fields,
// and reject what Unmarshal rejects.
func TestDecodePagemapEntryMatchesProto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		e := &pagemap.PagemapEntry{Vaddr: proto.Uint64(rng.Uint64() &^ 0xfff), CompatNrPages: proto.Uint32(rng.Uint32N(4))}
		if i&1 != 0 {
			e.NrPages = proto.Uint64(rng.Uint64N(1 << 41))
		}
		if i&2 != 0 {
			e.Flags = proto.Uint32(rng.Uint32N(8))
		}
		if i&4 != 0 {
			e.InParent = proto.Bool(rng.IntN(2) == 0)
		}
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if i&8 != 0 { // an unknown field, which both skip
			b = protowire.AppendTag(b, 9, protowire.BytesType)
			b = protowire.AppendBytes(b, []byte("future"))
		}
		var back pagemap.PagemapEntry
		if err := proto.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		r, nr, err := decodePagemapEntry(b)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if r.Start != back.GetVaddr() || r.Pages != PageCount(&back) || r.Flags != PageFlags(&back) || nr != (back.NrPages != nil) || r.Offset != -1 {
			t.Fatalf("entry %d: got %+v nr=%v, proto says %v", i, r, nr, &back)
		}
	}
	// Missing a required field, truncated varints: errors, as from Unmarshal.
	noCompat, _ := proto.MarshalOptions{AllowPartial: true}.Marshal(&pagemap.PagemapEntry{Vaddr: proto.Uint64(4096)})
	for _, b := range [][]byte{noCompat, {0x08}, {0x08, 0x80}, {0xff}} {
		if _, _, err := decodePagemapEntry(b); err == nil {
			t.Errorf("%x: decoded", b)
		}
		if err := proto.Unmarshal(b, &pagemap.PagemapEntry{}); err == nil {
			t.Errorf("%x: proto.Unmarshal accepts it", b)
		}
	}
}

// TestSniffNrPages: the first entries tell a 4.2 pagemap (nr_pages) from
// an older one (compat_nr_pages), and a 4.2 one is known without reading
// on (the bytes after its first entry are not an entry at all).
func TestSniffNrPages(t *testing.T) {
	magic, _ := MagicByName("PAGEMAP")
	head := &pagemap.PagemapHead{PagesId: proto.Uint32(1)}
	v42 := &pagemap.PagemapEntry{Vaddr: proto.Uint64(0x1000), CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(2), Flags: proto.Uint32(PagePresent)}
	old := &pagemap.PagemapEntry{Vaddr: proto.Uint64(0x1000), CompatNrPages: proto.Uint32(2)}
	for _, c := range []struct {
		name    string
		entries []proto.Message
		tail    []byte
		want    bool
	}{
		{"4.2", []proto.Message{head, v42}, []byte{0xff, 0xff, 0xff, 0x7f}, true},
		{"before 4.2", []proto.Message{head, old, old}, nil, false},
		{"head only", []proto.Message{head}, nil, false},
	} {
		b, err := EncodeImage(magic, c.entries...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SniffNrPages(bytes.NewReader(append(b, c.tail...)), Options{})
		if err != nil || got != c.want {
			t.Errorf("%s: SniffNrPages = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}
