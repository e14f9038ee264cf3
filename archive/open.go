package archive

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age/armor"

	"github.com/ckpt-dev/ckpt/internal/regfile"

	"github.com/ckpt-dev/ckpt/internal/countio"
)

// Decrypter removes the age layer of a sealed archive. The crypto packages
// provide one built from the user's identities; this package never sees
// keys.
type Decrypter interface {
	// Decrypt returns the plaintext of a sealed stream.
	Decrypt(src io.Reader) (io.Reader, error)
	// DecryptReaderAt returns random access to the plaintext of a sealed
	// file of the given size, and the plaintext size.
	DecryptReaderAt(src io.ReaderAt, size int64) (io.ReaderAt, int64, error)
}

// Options configure Open.
type Options struct {
	// Decrypter opens sealed archives; without one they are refused.
	Decrypter Decrypter
	Limits    Limits
	// Debug, when set, receives lines about how the archive is read that
	// are neither warnings nor errors (a second pass, and why).
	Debug func(msg string)
}

// Archive is an opened archive with its layers peeled off.
type Archive struct {
	name   string
	layers []Format
	size   int64 // bytes of the source; -1 when unknown (a pipe)
	limits Limits

	file    *os.File
	closers []func()

	// Exactly one of these holds the plaintext tar.
	ra     io.ReaderAt // random access, raSize bytes
	raSize int64
	stream io.Reader // sequential

	compressed *countio.Reader // bytes consumed below the decompressor
	held       *budget         // what the pass holds, against Limits.MaxHeld
	walked     bool

	// reopen opens the same file again for a second pass; nil for a
	// stream, which can be read only once.
	reopen func() (*Archive, error)
	debug  func(string)
}

// Open opens the archive at path, or standard input for "-".
func Open(path string, opt Options) (*Archive, error) {
	if path == "-" {
		return OpenReader("-", os.Stdin, opt)
	}
	// Never block in open(2) on a FIFO, and refuse devices (/dev/zero
	// would be read for ever).
	f, err := regfile.OpenStream(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, &Error{Archive: path, Err: errors.New("is a directory")}
	}
	var a *Archive
	if st.Mode().IsRegular() {
		a, err = openReaderAt(path, f, st.Size(), opt)
	} else {
		a, err = OpenReader(path, f, opt)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	a.file = f
	if st.Mode().IsRegular() && a.ra == nil {
		a.reopen = func() (*Archive, error) { return Open(path, opt) }
	}
	return a, nil
}

// OpenReader opens an archive read sequentially from r. name is used in
// messages.
func OpenReader(name string, r io.Reader, opt Options) (*Archive, error) {
	a := &Archive{name: name, size: -1, limits: opt.Limits.WithDefaults(), debug: opt.Debug}
	if err := a.peelStream(r, opt); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func openReaderAt(name string, ra io.ReaderAt, size int64, opt Options) (*Archive, error) {
	a := &Archive{name: name, size: size, limits: opt.Limits.WithDefaults(), debug: opt.Debug}
	head, err := readHead(ra, size)
	if err != nil {
		return nil, a.errorf("", err)
	}
	f := Sniff(head)
	switch {
	case f == Tar:
		a.layers, a.ra, a.raSize = []Format{Tar}, ra, size
		return a, nil
	case f == Age && !isArmored(head):
		if opt.Decrypter == nil {
			return nil, a.errorf("", ErrSealed)
		}
		pra, psize, err := opt.Decrypter.DecryptReaderAt(ra, size)
		if err != nil {
			return nil, a.errorf("", err)
		}
		a.layers = []Format{Age}
		phead, err := readHead(pra, psize)
		if err != nil {
			return nil, a.errorf("", fmt.Errorf("decrypted content: %w", err))
		}
		if Sniff(phead) == Tar {
			a.layers = append(a.layers, Tar)
			a.ra, a.raSize = pra, psize
			return a, nil
		}
		// A sealed compressed archive is sequential below the age layer.
		err = a.peelCompression(io.NewSectionReader(pra, 0, psize), phead)
		return a, err
	}
	err = a.peelStream(io.NewSectionReader(ra, 0, size), opt)
	return a, err
}

// peelStream identifies and removes the layers of a sequential source.
func (a *Archive) peelStream(r io.Reader, opt Options) error {
	br := bufio.NewReaderSize(r, 256<<10)
	head, err := br.Peek(SniffLen)
	if len(head) == 0 {
		if err == io.EOF || err == nil {
			return a.errorf("", fmt.Errorf("%w: empty file", ErrNotArchive))
		}
		return a.errorf("", err)
	}
	var src io.Reader = br
	if Sniff(head) == Age {
		if opt.Decrypter == nil {
			return a.errorf("", ErrSealed)
		}
		if isArmored(head) {
			src = armor.NewReader(src)
		}
		plain, err := opt.Decrypter.Decrypt(src)
		if err != nil {
			return a.errorf("", err)
		}
		a.layers = append(a.layers, Age)
		pbr := bufio.NewReaderSize(plain, 256<<10)
		head, err = pbr.Peek(SniffLen)
		if len(head) == 0 && err != nil {
			return a.errorf("", fmt.Errorf("decrypted content: %w", noEOF(err)))
		}
		src = pbr
	}
	return a.peelCompression(src, head)
}

// peelCompression removes at most one compression layer from src, whose
// first bytes are head, and checks that a tar stream is left.
func (a *Archive) peelCompression(src io.Reader, head []byte) error {
	f := Sniff(head)
	switch f {
	case Tar:
		a.layers = append(a.layers, Tar)
		a.stream = src
		return nil
	case Gzip, Zstd, Bzip2, Xz:
	case Age:
		return a.errorf("", fmt.Errorf("%w: age layer inside another layer", ErrNotArchive))
	default:
		return a.errorf("", ErrNotArchive)
	}
	a.compressed = &countio.Reader{R: src}
	dec, closeDec, err := decompressor(f, a.compressed)
	if err != nil {
		return a.errorf("", err)
	}
	a.closers = append(a.closers, closeDec)
	a.layers = append(a.layers, f)
	br := bufio.NewReaderSize(&ratioGuard{r: dec, in: a.compressed, max: a.limits.MaxRatio}, 256<<10)
	inner, err := br.Peek(SniffLen)
	if len(inner) == 0 && err != nil {
		return a.errorf("", fmt.Errorf("%s: %w", f, noEOF(err)))
	}
	if g := Sniff(inner); g != Tar {
		if g == Unknown {
			return a.errorf("", fmt.Errorf("%w: %s data does not hold a tar stream", ErrNotArchive, f))
		}
		return a.errorf("", fmt.Errorf("%w: %s inside %s is not supported", ErrNotArchive, g, f))
	}
	a.layers = append(a.layers, Tar)
	a.stream = br
	return nil
}

func readHead(ra io.ReaderAt, size int64) ([]byte, error) {
	if size == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrNotArchive)
	}
	head := make([]byte, min(size, SniffLen))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return head, nil
}

func isArmored(head []byte) bool { return len(head) > 0 && head[0] == '-' }

// Name is the archive's name as given to Open.
func (a *Archive) Name() string { return a.name }

// Layers lists the formats from the outside in, ending with Tar.
func (a *Archive) Layers() []Format { return append([]Format(nil), a.layers...) }

// Size is the size of the source in bytes, or -1 for a stream.
func (a *Archive) Size() int64 { return a.size }

// Sealed reports whether the archive has an age layer.
func (a *Archive) Sealed() bool { return len(a.layers) > 0 && a.layers[0] == Age }

// Compression returns the compression layer, or Unknown when there is none.
func (a *Archive) Compression() Format {
	for _, f := range a.layers {
		if f != Age && f != Tar {
			return f
		}
	}
	return Unknown
}

// RandomAccess reports whether entries can be read at any time by offset,
// through ReaderAt, rather than only during Walk.
func (a *Archive) RandomAccess() bool { return a.ra != nil }

// ReaderAt returns random access to the plaintext tar, when there is one.
// Entry offsets index into it.
func (a *Archive) ReaderAt() (io.ReaderAt, bool) { return a.ra, a.ra != nil }

// Section returns the data of entry e for random access. It fails on
// sequential archives.
func (a *Archive) Section(e *Entry) (*io.SectionReader, error) {
	if a.ra == nil {
		return nil, a.errorf(e.Name, errors.New("archive is read sequentially; entry data is available only during the pass"))
	}
	return io.NewSectionReader(a.ra, e.Offset, e.Size), nil
}

// Close releases the source and the decoders.
func (a *Archive) Close() error {
	for _, c := range a.closers {
		c()
	}
	a.closers = nil
	if a.file != nil {
		err := a.file.Close()
		a.file = nil
		return err
	}
	return nil
}

func (a *Archive) debugf(format string, args ...any) {
	if a.debug != nil {
		a.debug(a.name + ": " + fmt.Sprintf(format, args...))
	}
}

func (a *Archive) errorf(entry string, err error) error {
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	return &Error{Archive: a.name, Entry: entry, Err: err}
}

// CheckpointError names c's CRIU images (its checkpoint/ directory) as
// where err was found, unless err already names an entry of a: for
// readers that build on the images, such as a process tree.
func (a *Archive) CheckpointError(c *Checkpoint, err error) error {
	return a.errorf(c.Prefix+"checkpoint", err)
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
