// Package countio counts the bytes that pass through a reader or a writer:
// how much compressed input a decompressor has consumed (for the ratio
// guard), the size of a layer or an archive as it is written.
package countio

import "io"

// Reader counts in N the bytes read through R.
type Reader struct {
	R io.Reader
	count
}

func (r *Reader) Read(p []byte) (int, error) { return r.add(r.R.Read(p)) }

// Writer counts in N the bytes written through W.
type Writer struct {
	W io.Writer
	count
}

func (w *Writer) Write(p []byte) (int, error) { return w.add(w.W.Write(p)) }

type count struct{ N int64 }

// add counts what one Read or Write moved and passes its results on.
func (c *count) add(n int, err error) (int, error) {
	c.N += int64(n)
	return n, err
}
