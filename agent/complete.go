package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// errTruncated says an archive ends before its end-of-archive marker: its
// writer is not done (or died).
var errTruncated = errors.New("ends before the tar end-of-archive marker")

// tarEnd checks that the archive at path reads to its end-of-archive
// marker (two zero blocks), skipping entry data without reading it where
// the file is a plain tar. It returns errTruncated, wrapped, for an archive
// cut short, and another error for one that is not a tar at all: such an
// archive is still sealed (it is still sensitive), but its identity comes
// from its file name.
func tarEnd(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	magic, _ := br.Peek(4)
	var r io.Reader
	seek := false
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return truncatedOr(err)
		}
		defer zr.Close()
		r = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	default:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r, seek = f, true
	}
	var pos int64
	blk := make([]byte, 512)
	for {
		if n, err := io.ReadFull(r, blk); err != nil {
			if pos == 0 && n > 0 {
				// Less than one header in a file nobody writes: not a tar.
				return errors.New("shorter than one tar header")
			}
			return truncatedOr(err)
		}
		pos += 512
		if isZero(blk) {
			if _, err := io.ReadFull(r, blk); err != nil {
				return truncatedOr(err)
			}
			if !isZero(blk) {
				return fmt.Errorf("offset %d: one zero block followed by data", pos)
			}
			return nil
		}
		size, err := entrySize(blk)
		if err != nil {
			return fmt.Errorf("offset %d: %w", pos-512, err)
		}
		skip := (size + 511) &^ 511
		if seek {
			st, err := f.Stat()
			if err != nil {
				return err
			}
			if pos+skip > st.Size() {
				return errTruncated
			}
			if _, err := f.Seek(skip, io.SeekCurrent); err != nil {
				return err
			}
		} else if _, err := io.CopyN(io.Discard, r, skip); err != nil {
			return truncatedOr(err)
		}
		pos += skip
	}
}

func truncatedOr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return err
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// entrySize reads a tar header's size field (octal, or base-256 for large
// sizes) after checking the header's checksum.
func entrySize(h []byte) (int64, error) {
	want, err := octal(h[148:156])
	if err != nil {
		return 0, errors.New("not a tar header: bad checksum field")
	}
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	if sum != want {
		return 0, errors.New("not a tar header: checksum mismatch")
	}
	field := h[124:136]
	if field[0]&0x80 != 0 {
		var n int64
		for i, c := range field {
			if i == 0 {
				c &= 0x7f
			}
			if n > (1<<55)-1 {
				return 0, errors.New("entry size out of range")
			}
			n = n<<8 | int64(c)
		}
		return n, nil
	}
	return octal(field)
}

func octal(b []byte) (int64, error) {
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return n, nil
}
