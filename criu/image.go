package criu

import (
	"fmt"
	"io"
	"slices"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"google.golang.org/protobuf/proto"
)

// Image is a decoded image held in memory: its entries without payloads.
// Payload sizes are kept so that listings can account for them.
type Image struct {
	Name    string          // base name, e.g. "core-1.img"
	Magic   Magic           // zero for raw images
	Size    int64           // bytes in the archive
	Entries []proto.Message // in image order
	// PayloadBytes is the total size of the payloads that followed entries.
	PayloadBytes int64
	// Runs holds the entries of a pagemap image that ReadImage decoded,
	// after its head (which stays in Entries), in image order, at a few
	// bytes each rather than a decoded message each: a fragmented heap has
	// millions of them. It is nil for other images.
	Runs *PageRuns
	// NrPages is set when a pagemap entry carried nr_pages, which CRIU
	// writes from 4.2 on.
	NrPages bool
}

// Count is the number of entries of the image, pagemap runs included.
func (img *Image) Count() int { return len(img.Entries) + img.Runs.Len() }

// PayloadFunc receives the payload of entry i of an image as it is read.
type PayloadFunc func(img *Image, i int, m proto.Message, r io.Reader) error

// ReadImage decodes a whole image. Payloads go to onPayload when it is not
// nil, and are skipped otherwise. maxBytes caps the image's total entry
// bytes (0: no cap beyond the per-entry limit).
func ReadImage(name string, r io.Reader, opt Options, maxBytes int64, onPayload PayloadFunc) (*Image, error) {
	rd, err := NewReader(r, opt)
	if err != nil {
		return nil, err
	}
	img := &Image{Name: name, Magic: rd.Magic(), Size: opt.Size}
	if img.Magic.String() == "PAGEMAP" {
		return readPagemap(img, rd, opt, maxBytes)
	}
	var held int64
	for {
		m, err := rd.Next()
		if err == io.EOF {
			return img, nil
		}
		if err != nil {
			return nil, err
		}
		if opt.Fields != nil {
			held += rd.wire // what was read, not the few fields kept
		} else {
			held += int64(proto.Size(m))
		}
		if maxBytes > 0 && held > maxBytes {
			return nil, fmt.Errorf("%w: entries exceed the %d-byte image limit%w", ErrFormat, maxBytes, quietError{ErrImageLimit})
		}
		img.Entries = append(img.Entries, m)
		if p, n := rd.Payload(); p != nil {
			img.PayloadBytes += n
			if onPayload != nil {
				if err := onPayload(img, len(img.Entries)-1, m, p); err != nil {
					return nil, err
				}
			}
		}
	}
}

// ImageSet holds the decoded images of one checkpoint by name.
//
// Lookups cost O(1) whatever the number of images: a checkpoint of a
// worker pool has several images per process, and callers look images up
// once per process, so anything linear per lookup is quadratic overall.
type ImageSet struct {
	byName map[string]*Image
	// pagemaps maps pagemap_head.pages_id to the pagemap image naming it,
	// kept as images are added.
	pagemaps map[uint32]string
}

// NewImageSet returns an empty set.
func NewImageSet() *ImageSet {
	return &ImageSet{byName: map[string]*Image{}, pagemaps: map[uint32]string{}}
}

// Add puts img in the set, replacing one of the same name.
func (s *ImageSet) Add(img *Image) {
	if old := s.byName[img.Name]; old != nil {
		if id, ok := pagesIDOf(old); ok && s.pagemaps[id] == old.Name {
			delete(s.pagemaps, id)
		}
	}
	s.byName[img.Name] = img
	if id, ok := pagesIDOf(img); ok {
		// Two pagemaps claiming one pages image: the first by name wins,
		// whatever the order they were added in.
		if cur, taken := s.pagemaps[id]; !taken || img.Name < cur {
			s.pagemaps[id] = img.Name
		}
	}
}

// Delete removes the image called name, so that a caller done with it
// does not keep it alive. Deleting a pagemap also forgets which pages image
// it indexed: Pagemap then finds no other claimant of that pages image.
func (s *ImageSet) Delete(name string) {
	img := s.byName[name]
	if img == nil {
		return
	}
	if id, ok := pagesIDOf(img); ok && s.pagemaps[id] == name {
		delete(s.pagemaps, id)
	}
	delete(s.byName, name)
}

// Pagemap returns the name of the pagemap image whose head names
// pages-<pagesID>.img.
func (s *ImageSet) Pagemap(pagesID uint32) (string, bool) {
	if s == nil {
		return "", false
	}
	n, ok := s.pagemaps[pagesID]
	return n, ok
}

// Get returns the image called name ("pstree.img"), or nil.
func (s *ImageSet) Get(name string) *Image {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// Names returns the names of the images in the set, sorted. It sorts on
// each call: call it once per listing, never per process (Get and Pagemap
// are the per-process lookups).
func (s *ImageSet) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Len is the number of images in the set.
func (s *ImageSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byName)
}

// First returns the first entry of image name as a T, or nil when the
// image is missing, empty or of another type.
func First[T proto.Message](s *ImageSet, name string) T {
	var zero T
	img := s.Get(name)
	if img == nil || len(img.Entries) == 0 {
		return zero
	}
	t, _ := img.Entries[0].(T)
	return t
}

// All returns the entries of image name that are of type T.
func All[T proto.Message](s *ImageSet, name string) []T {
	img := s.Get(name)
	if img == nil {
		return nil
	}
	out := make([]T, 0, len(img.Entries))
	for _, e := range img.Entries {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	if img.Runs.Len() > 0 {
		// Pagemap entries are held as runs; callers that ask for them as
		// messages get them rebuilt, one allocation each.
		var zero T
		if _, ok := any(zero).(*pagemap.PagemapEntry); ok {
			for r := range img.Runs.All() {
				out = append(out, any(r.entry(img.NrPages)).(T))
			}
		}
	}
	return out
}

// quietError wraps an error for errors.Is without adding to the message.
type quietError struct{ err error }

func (quietError) Error() string   { return "" }
func (q quietError) Unwrap() error { return q.err }
