package criu

import (
	"fmt"
	"io"
	"slices"

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
}

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
	var held int64
	for {
		m, err := rd.Next()
		if err == io.EOF {
			return img, nil
		}
		if err != nil {
			return nil, err
		}
		held += int64(proto.Size(m))
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
type ImageSet struct {
	byName map[string]*Image
}

// NewImageSet returns an empty set.
func NewImageSet() *ImageSet { return &ImageSet{byName: map[string]*Image{}} }

// Add puts img in the set, replacing one of the same name.
func (s *ImageSet) Add(img *Image) { s.byName[img.Name] = img }

// Get returns the image called name ("pstree.img"), or nil.
func (s *ImageSet) Get(name string) *Image {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// Names returns the names of the images in the set, sorted.
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
	return out
}

// quietError wraps an error for errors.Is without adding to the message.
type quietError struct{ err error }

func (quietError) Error() string   { return "" }
func (q quietError) Unwrap() error { return q.err }
