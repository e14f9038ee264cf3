package mem

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ckpt-dev/ckpt/criu"
)

// TestStreamCoversTheRange: blocks come in address order, cover the range
// exactly, carry the right bytes and say why absent ones are absent, from
// a random-access image and from a stream alike.
func TestStreamCoversTheRange(t *testing.T) {
	img := pagemapImage(nil,
		entry(0x10000, 3, criu.PagePresent),
		entry(0x13000, 1, criu.PageParent),
		entry(0x15000, 2, criu.PagePresent),
		entry(0x17000, 1, criu.PageLazy))
	ix, err := criu.NewPageIndex(img)
	if err != nil {
		t.Fatal(err)
	}
	pages := make([]byte, ix.ImageBytes)
	for i := range pages {
		pages[i] = byte(i / criu.PageSize)
	}
	for _, stream := range []bool{false, true} {
		var r = bytes.NewReader(pages)
		var src interface{ Read([]byte) (int, error) } = r
		if stream {
			src = streamOnly{r}
		}
		var next uint64 = 0x10800
		var absent []error
		var present int
		err := Stream(ix, src, []Range{{0x10800, 0x18000}}, make([]byte, 5000), func(b Block) error {
			if b.Addr != next {
				t.Fatalf("block at %#x, want %#x", b.Addr, next)
			}
			next += b.Len
			if b.Absent != nil {
				absent = append(absent, b.Absent)
				return nil
			}
			present += len(b.Data)
			for i, c := range b.Data {
				off, _ := ix.Locate(b.Addr + uint64(i))
				if c != pages[off] {
					t.Fatalf("%#x: %d, want %d", b.Addr+uint64(i), c, pages[off])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []error{criu.ErrInParent, criu.ErrNotDumped, criu.ErrLazy}
		if next != 0x18000 || present != 5*criu.PageSize-0x800 || len(absent) != 3 {
			t.Fatalf("stream %v: end %#x, %d present, absent %v", stream, next, present, absent)
		}
		for i := range want {
			if !errors.Is(absent[i], want[i]) {
				t.Errorf("absent %d: %v, want %v", i, absent[i], want[i])
			}
		}
	}
}

// TestStreamOutOfOrderImage: a pagemap whose entries are not in address
// order cannot be followed on a stream, and says so before any block.
func TestStreamOutOfOrderImage(t *testing.T) {
	ix, err := criu.NewPageIndex(pagemapImage(nil, entry(0x20000, 1, criu.PagePresent), entry(0x10000, 1, criu.PagePresent)))
	if err != nil {
		t.Fatal(err)
	}
	pages := make([]byte, 2*criu.PageSize)
	calls := 0
	err = Stream(ix, streamOnly{bytes.NewReader(pages)}, []Range{{0x10000, 0x21000}}, nil, func(Block) error { calls++; return nil })
	if !errors.Is(err, ErrUnordered) || calls != 0 {
		t.Fatalf("err %v after %d blocks", err, calls)
	}
	if err := Stream(ix, bytes.NewReader(pages), []Range{{0x10000, 0x21000}}, nil, func(Block) error { return nil }); err != nil {
		t.Fatalf("random access: %v", err)
	}
	err = Search(ix, streamOnly{bytes.NewReader(pages)}, Literal("x"), SearchOptions{}, func(Hit) error { return nil })
	if !errors.Is(err, ErrUnordered) {
		t.Fatalf("search: %v", err)
	}
}

func TestStreamShortImage(t *testing.T) {
	ix, _ := criu.NewPageIndex(pagemapImage(nil, entry(0x10000, 2, criu.PagePresent)))
	for _, r := range []interface{ Read([]byte) (int, error) }{bytes.NewReader(make([]byte, 5000)), streamOnly{bytes.NewReader(make([]byte, 5000))}} {
		err := Stream(ix, r, []Range{{0x10000, 0x12000}}, nil, func(Block) error { return nil })
		if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%T: %v", r, err)
		}
		err = Search(ix, r, Literal("x"), SearchOptions{}, func(Hit) error { return nil })
		if err == nil {
			t.Errorf("search %T: no error", r)
		}
	}
}
