package criu

import (
	"encoding/binary"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// Writer encodes an image: the magic, then entries and their payloads. It
// exists for the synthetic archive generator and for tests that need
// images CRIU would write, including broken ones.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter writes the magic of an image of the given type to w. Inventory
// images carry their magic alone; statistics and the irmap cache are
// "service" images; all others are "common".
func NewWriter(w io.Writer, m Magic) (*Writer, error) {
	var hdr []byte
	switch m.String() {
	case "INVENTORY":
	case "STATS", "IRMAP_CACHE":
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(magicService))
	default:
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(magicCommon))
	}
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(m))
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &Writer{w: w}, nil
}

// Write appends one entry and, when the image type has one, its payload.
// The payload's length must agree with what the entry declares; Write does
// not check, so tests can write inconsistent images on purpose.
func (w *Writer) Write(m proto.Message, payload []byte) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("criu: encoding %T: %w", m, err)
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf[:0], uint32(len(b)))
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, payload...)
	_, err = w.w.Write(w.buf)
	return err
}

// EncodeImage returns a whole image holding entries, for small images.
func EncodeImage(m Magic, entries ...proto.Message) ([]byte, error) {
	var b bytesWriter
	w, err := NewWriter(&b, m)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := w.Write(e, nil); err != nil {
			return nil, err
		}
	}
	return b, nil
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
