package criu

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	ipc_msg "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-msg"
)

// DefaultMaxEntry caps one protobuf entry. Real entries are bytes to
// kilobytes (a core image with all registers is about 2 KiB); the cap exists
// so that a corrupt length prefix costs an error, not an allocation.
const DefaultMaxEntry = 64 << 20

// ErrUnknownMagic is returned for an image whose magic CRIU does not define.
var ErrUnknownMagic = errors.New("unknown image magic")

// ErrFormat is wrapped by every error about malformed image content.
var ErrFormat = errors.New("malformed image")

// ErrImageLimit is returned, wrapped with ErrFormat, when the decoded
// entries of an image exceed the limit ReadImage was given.
var ErrImageLimit = errors.New("image limit exceeded")

// Reader decodes the entries of one image from a stream, in order. It holds
// one entry at a time; payloads are read through Payload or skipped.
type Reader struct {
	r        *bufio.Reader
	magic    Magic
	kind     kind
	maxEntry int64
	remain   int64 // bytes of the image not yet consumed; -1 when unknown
	count    int   // entries returned so far
	payload  io.LimitedReader
	payLen   int64 // declared length of the current payload
	pad      int64
	toEnd    bool // the current payload runs to the end of the image
	buf      []byte
	extra    []MsgQueueItem
	fields   Fields // nil: decode whole entries
	narrow   []byte // the selected fields of the current entry
	wire     int64  // encoded size of the current entry
}

// MsgQueueItem is one message of a System V message queue (IPCNS_MSG).
type MsgQueueItem struct {
	Msg  *ipc_msg.IpcMsg
	Data []byte
}

// Options tune a Reader. The zero value is ready to use.
type Options struct {
	// Size is the image's size in bytes when known (from a tar header or a
	// stat), 0 when not. Known sizes let every length be checked before it
	// is trusted.
	Size int64
	// MaxEntry caps one protobuf entry; 0 means DefaultMaxEntry.
	MaxEntry int64
	// Fields, when not nil, selects what of each entry is decoded (not of
	// the head of a headed image). It applies to images whose entries carry
	// no payload (core, mm, fs, ...); others are decoded whole, since their
	// payload lengths are fields. The required fields it leaves out are not
	// checked.
	Fields Fields
}

// NewReader reads the image's magic from r and returns a Reader for its
// entries. Raw images (pages, tmpfs tarballs) have no magic: use IsRaw on
// the name first.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	// Most images are a few hundred bytes and a checkpoint has several per
	// process: a buffer sized to the image, when its size is known, keeps
	// thousands of small images from costing 64 KiB each.
	bufSize := 64 << 10
	if opt.Size > 0 && opt.Size < int64(bufSize) {
		bufSize = int(opt.Size)
	}
	rd := &Reader{r: bufio.NewReaderSize(r, bufSize), maxEntry: opt.MaxEntry, remain: -1}
	if rd.maxEntry <= 0 {
		rd.maxEntry = DefaultMaxEntry
	}
	if opt.Size > 0 {
		rd.remain = opt.Size
	}
	m, err := rd.readU32()
	if err != nil {
		return nil, fmt.Errorf("%w: reading magic: %w", ErrFormat, noEOF(err))
	}
	if Magic(m) == magicCommon || Magic(m) == magicService {
		if m, err = rd.readU32(); err != nil {
			return nil, fmt.Errorf("%w: reading magic: %w", ErrFormat, noEOF(err))
		}
	}
	rd.magic = Magic(m)
	k, ok := kindOf(rd.magic.String())
	if !ok {
		return nil, fmt.Errorf("%w 0x%08x", ErrUnknownMagic, m)
	}
	rd.kind = k
	if k.layout != ipcMsgQueue && k.payload == nil && k.toEnd == nil {
		rd.fields = opt.Fields
	}
	return rd, nil
}

// Magic returns the image's magic.
func (r *Reader) Magic() Magic { return r.magic }

// Next returns the next entry, or io.EOF after the last one. Any payload of
// the previous entry that was not read is skipped.
func (r *Reader) Next() (proto.Message, error) {
	if err := r.skipPayload(); err != nil {
		return nil, err
	}
	if r.toEnd {
		// The previous entry's payload consumed the rest of the image.
		return nil, io.EOF
	}
	r.extra = nil
	size, err := r.readU32()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, r.errorf("length prefix: %w", noEOF(err))
	}
	newMsg := r.kind.newEntry
	if r.kind.layout == headed && r.count == 0 {
		newMsg = r.kind.newHead
	}
	m := newMsg()
	r.wire = int64(size)
	if r.fields != nil && !(r.kind.layout == headed && r.count == 0) {
		err = r.readSelected(int64(size), m)
	} else {
		err = r.readMessage(int64(size), m)
	}
	if err != nil {
		return nil, err
	}
	r.count++
	if err := r.startPayload(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Payload returns the raw data that follows the entry Next just returned,
// and its length. It is nil, 0 for entries without one. Reading it is
// optional: Next skips whatever is left.
func (r *Reader) Payload() (io.Reader, int64) {
	if r.payload.R == nil {
		return nil, 0
	}
	return &r.payload, r.payload.N
}

// QueueMessages returns the messages of the IPCNS_MSG entry Next just
// returned.
func (r *Reader) QueueMessages() []MsgQueueItem { return r.extra }

func (r *Reader) readMessage(size int64, m proto.Message) error {
	buf, err := r.readEntry(size)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(buf, m); err != nil {
		return r.errorf("%w", err)
	}
	return nil
}

// readSelected decodes the fields of the entry that r.fields selects. An
// entry the wire walk cannot parse is decoded whole, for the decoder's own
// error.
func (r *Reader) readSelected(size int64, m proto.Message) error {
	buf, err := r.readEntry(size)
	if err != nil {
		return err
	}
	r.narrow, err = r.fields.filter(r.narrow[:0], buf)
	if err != nil {
		err = proto.Unmarshal(buf, m)
	} else {
		err = proto.UnmarshalOptions{AllowPartial: true}.Unmarshal(r.narrow, m)
	}
	if err != nil {
		return r.errorf("%w", err)
	}
	return nil
}

// readEntry reads the size bytes of an entry into the reader's buffer,
// valid until the next read.
func (r *Reader) readEntry(size int64) ([]byte, error) {
	if size > r.maxEntry {
		return nil, r.errorf("length prefix %d exceeds the %d-byte entry limit", size, r.maxEntry)
	}
	if r.remain >= 0 && size > r.remain {
		return nil, r.errorf("length prefix %d runs past the end of the image (%d bytes left)", size, r.remain)
	}
	if int64(cap(r.buf)) < size {
		r.buf = make([]byte, size)
	}
	buf := r.buf[:size]
	if _, err := io.ReadFull(r.r, buf); err != nil {
		return nil, r.errorf("%d-byte entry: %w", size, noEOF(err))
	}
	r.consume(size)
	return buf, nil
}

// nextRaw returns the encoded bytes of the next entry, valid until the
// next call, or io.EOF. It is for images whose entries have no payload.
func (r *Reader) nextRaw() ([]byte, error) {
	size, err := r.readU32()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, r.errorf("length prefix: %w", noEOF(err))
	}
	b, err := r.readEntry(int64(size))
	if err != nil {
		return nil, err
	}
	r.count++
	return b, nil
}

func (r *Reader) startPayload(m proto.Message) error {
	r.payload = io.LimitedReader{}
	r.pad = 0
	if r.kind.toEnd != nil && r.kind.toEnd(m) {
		r.toEnd = true
		n := r.remain
		if n < 0 {
			// Unknown size: the payload is whatever the stream holds.
			n = 1<<63 - 1
		}
		r.payload = io.LimitedReader{R: r.r, N: n}
		r.payLen = n
		return nil
	}
	if r.kind.layout == ipcMsgQueue {
		return r.readQueue(m.(*ipc_msg.IpcMsgEntry))
	}
	if r.kind.payload == nil {
		return nil
	}
	n, pad, ok := r.kind.payload(m)
	if !ok {
		return nil
	}
	if r.remain >= 0 && n+pad > r.remain {
		return r.errorf("payload of %d bytes runs past the end of the image (%d bytes left)", n+pad, r.remain)
	}
	r.payload = io.LimitedReader{R: r.r, N: n}
	r.payLen = n
	r.pad = pad
	return nil
}

// readQueue reads the messages nested in a message-queue entry. They are
// held in memory, so they count against the entry limit together.
func (r *Reader) readQueue(e *ipc_msg.IpcMsgEntry) error {
	var total int64
	for i := uint32(0); i < e.GetQnum(); i++ {
		size, err := r.readU32()
		if err != nil {
			return r.errorf("message %d: %w", i, noEOF(err))
		}
		msg := &ipc_msg.IpcMsg{}
		if err := r.readMessage(int64(size), msg); err != nil {
			return err
		}
		n := int64(msg.GetMsize())
		total += n
		if total > r.maxEntry {
			return r.errorf("message queue exceeds the %d-byte entry limit", r.maxEntry)
		}
		if r.remain >= 0 && roundUp(n, 8) > r.remain {
			return r.errorf("message %d of %d bytes runs past the end of the image", i, n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r.r, data); err != nil {
			return r.errorf("message %d: %w", i, noEOF(err))
		}
		if _, err := r.r.Discard(int(roundUp(n, 8) - n)); err != nil {
			return r.errorf("message %d: %w", i, noEOF(err))
		}
		r.consume(roundUp(n, 8))
		r.extra = append(r.extra, MsgQueueItem{Msg: msg, Data: data})
	}
	return nil
}

func (r *Reader) skipPayload() error {
	if r.payload.R != nil {
		if _, err := io.Copy(io.Discard, &r.payload); err != nil {
			return r.errorf("payload: %w", noEOF(err))
		}
		// A payload that runs to the end of an image of unknown size
		// simply ends; any other must be complete.
		if r.payload.N > 0 && !(r.toEnd && r.remain < 0) {
			return r.errorf("payload: %w (%d of %d bytes missing)", io.ErrUnexpectedEOF, r.payload.N, r.payLen)
		}
		r.consume(r.payLen)
		r.payload = io.LimitedReader{}
	}
	if r.pad > 0 {
		if _, err := r.r.Discard(int(r.pad)); err != nil {
			return r.errorf("payload padding: %w", noEOF(err))
		}
		r.consume(r.pad)
		r.pad = 0
	}
	return nil
}

// consume accounts for n bytes read from the image.
func (r *Reader) consume(n int64) {
	if r.remain >= 0 {
		r.remain -= n
	}
}

func (r *Reader) readU32() (uint32, error) {
	// Peek, not ReadFull into a local array, which would escape to the
	// heap: this runs once per entry.
	b, err := r.r.Peek(4)
	if len(b) < 4 {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		r.r.Discard(len(b))
		return 0, err
	}
	r.r.Discard(4)
	r.consume(4)
	return binary.LittleEndian.Uint32(b), nil
}

// errorf reports a format error at the current entry.
func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s entry %d: %w", ErrFormat, r.magic, r.count, fmt.Errorf(format, args...))
}

// noEOF turns an EOF in the middle of a structure into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
