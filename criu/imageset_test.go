package criu

import (
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"google.golang.org/protobuf/proto"
)

func pagemapImg(name string, pagesID uint32) *Image {
	return &Image{Name: name, Entries: []proto.Message{&pagemap.PagemapHead{PagesId: proto.Uint32(pagesID)}}}
}

// Pagemap finds the pagemap of a pages image in O(1), whatever the order
// images arrive in; of two pagemaps naming one pages image the first by
// name wins, as a walk over sorted names would find; replacing an image
// moves its entry.
func TestImageSetPagemap(t *testing.T) {
	s := NewImageSet()
	s.Add(&Image{Name: "core-1.img"})
	s.Add(pagemapImg("pagemap-9.img", 3))
	s.Add(pagemapImg("pagemap-12.img", 3)) // sorts before pagemap-9
	s.Add(pagemapImg("pagemap-shmem-77.img", 4))
	if n, ok := s.Pagemap(3); !ok || n != "pagemap-12.img" {
		t.Errorf("pages 3: %q %v", n, ok)
	}
	if n, ok := s.Pagemap(4); !ok || n != "pagemap-shmem-77.img" {
		t.Errorf("pages 4: %q %v", n, ok)
	}
	if _, ok := s.Pagemap(5); ok {
		t.Error("pages 5 found")
	}
	s.Add(pagemapImg("pagemap-shmem-77.img", 6))
	if _, ok := s.Pagemap(4); ok {
		t.Error("pages 4 still found after its pagemap was replaced")
	}
	if n, ok := s.Pagemap(6); !ok || n != "pagemap-shmem-77.img" {
		t.Errorf("pages 6: %q %v", n, ok)
	}
	var nilSet *ImageSet
	if _, ok := nilSet.Pagemap(1); ok {
		t.Error("nil set")
	}
}
