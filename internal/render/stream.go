package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// Stream writes a JSON array exactly as [JSON] would, but one element, and
// inside an element one member's elements, at a time: a report of 10,000
// processes is tens of MB of indented text, which encoding/json would
// otherwise build in memory before writing a byte.
type Stream struct {
	w *bufio.Writer
	n int
	// One encoder for every value: it keeps its indenting buffer, which a
	// new encoder per mapping would grow again each time.
	buf bytes.Buffer
	enc *json.Encoder
}

// NewStream starts an array on w.
func NewStream(w io.Writer) *Stream {
	s := &Stream{w: bufio.NewWriterSize(w, 64<<10)}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

// Writer is where elements go; write to it only between [Stream.Next] calls.
func (s *Stream) Writer() *bufio.Writer { return s.w }

// Encode returns v's JSON as [JSON] indents it at prefix, without the final
// newline. It is valid until the next call.
func (s *Stream) Encode(prefix string, v any) ([]byte, error) {
	s.buf.Reset()
	s.enc.SetIndent(prefix, "  ")
	if err := s.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")), nil
}

// Next starts the next element of the array; it is written at prefix "  ".
func (s *Stream) Next() {
	if s.n == 0 {
		s.w.WriteString("[\n  ")
	} else {
		s.w.WriteString(",\n  ")
	}
	s.n++
}

// Spliced writes shell at prefix, an object whose member key is an empty
// array, with n elements written by elem (at the prefix it is given) in
// place of that array.
func (s *Stream) Spliced(prefix string, shell any, key string, n int, elem func(i int, prefix string) error) error {
	b, err := s.Encode(prefix, shell)
	if err != nil {
		return err
	}
	// A JSON string never holds a raw newline, so this is shell's own
	// member, not text inside a value.
	empty := []byte("\n" + prefix + "  \"" + key + "\": []")
	at := bytes.Index(b, empty)
	if at < 0 || n == 0 {
		s.w.Write(b)
		return nil
	}
	tail := bytes.Clone(b[at+len(empty):])
	s.w.Write(b[:at+len(empty)-1])
	inner := prefix + "    "
	for i := range n {
		if i > 0 {
			s.w.WriteString(",")
		}
		s.w.WriteString("\n" + inner)
		if err := elem(i, inner); err != nil {
			return err
		}
	}
	s.w.WriteString("\n" + prefix + "  ]")
	s.w.Write(tail)
	return nil
}

// Close ends the array and flushes it.
func (s *Stream) Close() error {
	if s.n == 0 {
		s.w.WriteString("[]\n")
	} else {
		s.w.WriteString("\n]\n")
	}
	return s.w.Flush()
}
