package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// SkipRest, returned by a Walk callback, ends the walk early without error.
var SkipRest = errors.New("skip the rest of the archive")

// WalkFunc is called for each entry in archive order. r reads the entry's
// data; whatever the function leaves unread is skipped (with Seek when the
// archive allows it).
type WalkFunc func(e *Entry, r io.Reader) error

// Trailer describes what follows the tar end-of-archive marker.
type Trailer struct {
	// Missing is true when the stream ended without the two zero blocks
	// that end a tar archive: it may be truncated at an entry boundary.
	Missing bool `json:"marker_missing"`
	// Bytes after the marker, and how many of them are not zero. CRI-O and
	// containerd open the target without O_TRUNC, so a second checkpoint
	// written in the same second over a longer one leaves its stale tail.
	Bytes   int64 `json:"bytes"`
	NonZero int64 `json:"non_zero_bytes"`
}

// Walk visits every entry of the archive once, in order, and returns what
// follows the end of the tar. A sequential archive can be walked only once.
//
// It fails, naming the entry, on names that are absolute or climb with
// "..", on symlinks, hard links, devices and FIFOs (never followed), on
// duplicate names, on truncation and on decompression bombs.
func (a *Archive) Walk(fn WalkFunc) (Trailer, error) {
	var src io.Reader
	var pos func() int64
	if a.ra != nil {
		sr := &bufferedAt{ra: a.ra, size: a.raSize}
		src = sr
		pos = func() int64 { return sr.off }
	} else {
		if a.walked {
			return Trailer{}, a.errorf("", ErrStreamReused)
		}
		cr := &tailReader{r: a.stream}
		src = cr
		pos = func() int64 { return cr.n }
	}
	a.walked = true
	if a.held == nil {
		a.held = newBudget(a.limits.MaxHeld)
	}
	tr := tar.NewReader(src)
	seen := map[string]bool{}
	last := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return a.trailer(src, pos())
		}
		if err != nil {
			return Trailer{}, a.tarError(last, err)
		}
		e, err := a.entry(h, pos())
		if err != nil {
			return Trailer{}, a.errorf(h.Name, err)
		}
		last = e.Name
		if e.Type == TypeDir && e.Name == "." {
			continue
		}
		if seen[e.Name] {
			return Trailer{}, a.errorf(e.Name, ErrDuplicate)
		}
		seen[e.Name] = true
		if err := a.held.take(entryCost+int64(len(e.Name)), "this member"); err != nil {
			return Trailer{}, a.errorf(e.Name, err)
		}
		if err := a.checkClaim(e); err != nil {
			return Trailer{}, a.errorf(e.Name, err)
		}
		if err := fn(e, tr); err != nil {
			if err == SkipRest {
				return Trailer{}, nil
			}
			return Trailer{}, a.tarError(e.Name, err)
		}
	}
}

// entry validates a header and describes it.
func (a *Archive) entry(h *tar.Header, offset int64) (*Entry, error) {
	name, err := cleanName(h.Name)
	if err != nil {
		return nil, err
	}
	e := &Entry{Name: name, Size: h.Size, Mode: uint32(h.Mode & 0o7777), UID: h.Uid, GID: h.Gid, ModTime: h.ModTime.UTC(), Offset: offset}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		e.Type = TypeFile
	case tar.TypeDir:
		e.Type, e.Size = TypeDir, 0
	case tar.TypeSymlink:
		return nil, fmt.Errorf("%w: symlink to %q (links are never followed)", ErrUnsafeEntry, h.Linkname)
	case tar.TypeLink:
		return nil, fmt.Errorf("%w: hard link to %q (links are never followed)", ErrUnsafeEntry, h.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return nil, fmt.Errorf("%w: device node", ErrUnsafeEntry)
	case tar.TypeFifo:
		return nil, fmt.Errorf("%w: FIFO", ErrUnsafeEntry)
	case tar.TypeGNUSparse:
		return nil, fmt.Errorf("%w: sparse files are not supported", ErrUnsafeEntry)
	default:
		return nil, fmt.Errorf("%w: unsupported tar type %q", ErrUnsafeEntry, h.Typeflag)
	}
	if e.Size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrUnsafeEntry)
	}
	if a.ra != nil && e.Offset+e.Size > a.raSize {
		return nil, fmt.Errorf("%w: entry of %d bytes at offset %d runs past the end (%d bytes)", ErrTruncated, e.Size, e.Offset, a.raSize)
	}
	return e, nil
}

// checkClaim refuses, before any decompression work, an entry that claims
// more bytes than the compressed source could honestly hold.
func (a *Archive) checkClaim(e *Entry) error {
	if a.compressed == nil || a.size < 0 {
		return nil
	}
	if budget := a.limits.MaxRatio*a.size + ratioGrace; e.Size > budget {
		return fmt.Errorf("%w: entry claims %d bytes, a %d-byte compressed file holds at most %d", ErrBomb, e.Size, a.size, budget)
	}
	return nil
}

// tarError classifies errors from the tar reader and the layers below it.
func (a *Archive) tarError(entry string, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%w (unexpected end of data)", ErrTruncated)
	case errors.Is(err, tar.ErrHeader) && a.compressed != nil:
		err = fmt.Errorf("corrupt tar header after this entry in the %s-decompressed stream (is the %s data damaged?): %w", a.Compression(), a.Compression(), err)
	case errors.Is(err, tar.ErrHeader):
		err = fmt.Errorf("corrupt tar header after this entry: %w", err)
	}
	if entry == "" {
		entry = "(first header)"
	}
	return a.errorf(entry, err)
}

// trailer examines what follows the end-of-archive marker. On a file it
// samples the first MiB of the tail; a stream is read to its end.
func (a *Archive) trailer(src io.Reader, end int64) (Trailer, error) {
	var t Trailer
	if a.ra != nil {
		if end < 1024 || !allZero(a.ra, end-1024, 1024) {
			t.Missing = true
		}
		t.Bytes = a.raSize - end
		sample := min(t.Bytes, 1<<20)
		buf := make([]byte, sample)
		if _, err := a.ra.ReadAt(buf, end); err != nil && err != io.EOF {
			return t, a.errorf("(end of archive)", err)
		}
		t.NonZero = int64(len(buf) - bytes.Count(buf, []byte{0}))
		return t, nil
	}
	tr := src.(*tailReader)
	t.Missing = !tr.endsWithZeroBlocks()
	buf := make([]byte, 64<<10)
	for {
		n, err := tr.r.Read(buf)
		t.Bytes += int64(n)
		t.NonZero += int64(n - bytes.Count(buf[:n], []byte{0}))
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return t, a.tarError("(end of archive)", err)
		}
	}
}

func allZero(ra io.ReaderAt, off, n int64) bool {
	buf := make([]byte, n)
	// A ReaderAt may return io.EOF with a full read at the very end (age's
	// decrypting reader does).
	if m, err := ra.ReadAt(buf, off); int64(m) < n || err != nil && err != io.EOF {
		return false
	}
	return bytes.Count(buf, []byte{0}) == len(buf)
}

// tailReader counts what is read and remembers the last 1 KiB, to tell
// whether a stream ended with the end-of-archive marker.
type tailReader struct {
	r    io.Reader
	n    int64
	tail [1024]byte
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n >= len(t.tail) {
		copy(t.tail[:], p[n-len(t.tail):n])
	} else if n > 0 {
		copy(t.tail[:], t.tail[n:])
		copy(t.tail[len(t.tail)-n:], p[:n])
	}
	t.n += int64(n)
	return n, err
}

func (t *tailReader) endsWithZeroBlocks() bool {
	return t.n >= 1024 && bytes.Count(t.tail[:], []byte{0}) == len(t.tail)
}

// bufferedAt reads a random-access archive in order through a buffer,
// seeking past entry data it is not asked for. Without it every tar header
// and every small image costs a pread of its own: a checkpoint of 10,000
// processes has 70,000 members.
type bufferedAt struct {
	ra     io.ReaderAt
	size   int64
	off    int64  // logical position
	buf    []byte // holds the archive's bytes from bufOff
	bufOff int64
}

const walkBuffer = 64 << 10

func (b *bufferedAt) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	if i := b.off - b.bufOff; b.buf != nil && i >= 0 && i < int64(len(b.buf)) {
		n := copy(p, b.buf[i:])
		b.off += int64(n)
		return n, nil
	}
	if len(p) >= walkBuffer {
		// Big reads (payloads, nested tars) go straight to the source.
		n, err := b.ra.ReadAt(p[:min(int64(len(p)), b.size-b.off)], b.off)
		b.off += int64(n)
		if err == io.EOF && n > 0 {
			err = nil
		}
		return n, err
	}
	if b.buf == nil {
		b.buf = make([]byte, walkBuffer)
	}
	// After a seek, read a little: it is often the last byte of skipped
	// data and the next header. Reading on from the buffer's end, read a
	// lot: small members follow one another.
	want := int64(walkBuffer)
	if b.off != b.bufOff+int64(len(b.buf)) {
		want = 4 << 10
	}
	n, err := b.ra.ReadAt(b.buf[:min(want, b.size-b.off)], b.off)
	b.buf, b.bufOff = b.buf[:n], b.off
	if n == 0 {
		b.buf = b.buf[:cap(b.buf)]
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	k := copy(p, b.buf)
	b.off += int64(k)
	return k, nil
}

func (b *bufferedAt) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += b.size
	default:
		return 0, errors.New("archive: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("archive: negative position")
	}
	b.off = offset
	return offset, nil
}
