package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sys/unix"
)

// Suffixes of the files beside the log.
const (
	HashesSuffix      = ".hashes"
	CheckpointsSuffix = ".checkpoints"
)

// Options configure a Log.
type Options struct {
	// Signer signs checkpoints; nil writes none (the log is then only as
	// good as its hash file, which anyone who can write the log can
	// rewrite).
	Signer note.Signer
	// CheckpointEvery signs a checkpoint once this many records were
	// appended since this writer's last one (default 1000).
	CheckpointEvery int64
	// CheckpointInterval signs a checkpoint at the first append this long
	// after this writer's last one (default one minute). Close always
	// signs one if anything was appended since.
	CheckpointInterval time.Duration
	// Node fills in Record.Node when it is empty (default: the host name).
	Node string
	// Warn hears about repairs: a torn last line removed or completed,
	// hashes recomputed after a crash.
	Warn func(msg string)
	// Checkpointed hears each checkpoint this writer signs, once it is on
	// disk: the agent prints it to its own logs, so that a copy leaves
	// the node. It is called with the log locked: keep it short.
	Checkpointed func(signed []byte)
}

// maxBatch caps the records one commit writes, so a commit's memory stays
// small however many goroutines append at once.
const maxBatch = 4096

// Log appends records to an audit log. It is safe for concurrent use by
// goroutines, and several processes may append to one log at once: each
// commit holds an exclusive flock on the log file. Records appended by
// concurrent goroutines are written together, with one fsync of each file
// (group commit).
type Log struct {
	path   string
	opts   Options
	log    *os.File // O_APPEND
	hashes *os.File
	cps    *os.File

	mu       sync.Mutex // the queue
	queue    []*pending
	flushing bool
	closed   bool

	// io serializes this process's commits: flock excludes other open
	// files, not goroutines sharing this one.
	io sync.Mutex
	// State of this writer, under io and the flock.
	known      tail      // the files as this writer last left them
	lastCP     int64     // tree size of this writer's last checkpoint
	lastCPTime time.Time // when it was signed
	appended   bool      // records appended since the last checkpoint
	latest     []byte    // the last checkpoint this writer signed
}

// tail is what a writer knows of the files after its last commit; when the
// sizes are unchanged nobody else wrote and no recovery is needed.
type tail struct {
	logSize, hashSize int64
	n                 int64
}

type pending struct {
	recs []Record
	done chan error
}

// Open opens the log at path for appending, creating it and the files
// beside it (mode 0600) when missing. Nothing is written or repaired
// before the first Append.
func Open(path string, opts Options) (*Log, error) {
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 1000
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Minute
	}
	if opts.Node == "" {
		opts.Node, _ = os.Hostname()
	}
	if opts.Warn == nil {
		opts.Warn = func(string) {}
	}
	l := &Log{path: path, opts: opts, known: tail{-1, -1, -1}, lastCP: -1, lastCPTime: time.Now()}
	var err error
	if l.log, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		return nil, err
	}
	if l.hashes, err = os.OpenFile(path+HashesSuffix, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		l.log.Close()
		return nil, err
	}
	if l.cps, err = os.OpenFile(path+CheckpointsSuffix, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		l.log.Close()
		l.hashes.Close()
		return nil, err
	}
	for _, f := range []*os.File{l.log, l.hashes, l.cps} {
		if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
			opts.Warn(fmt.Sprintf("%s: mode %v lets others read the audit trail; chmod 600 it", f.Name(), st.Mode().Perm()))
		}
	}
	// The files' names must survive a crash as well as their contents.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return l, nil
}

// Path returns the log's path.
func (l *Log) Path() string { return l.path }

// Append writes recs to the log and returns once they are on disk
// (fdatasync of the log and of the hash file). It sets each record's Seq,
// and Time and Node when they are empty. Concurrent calls share commits.
func (l *Log) Append(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := &pending{recs: recs, done: make(chan error, 1)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errors.New("audit: log is closed")
	}
	l.queue = append(l.queue, p)
	if l.flushing {
		l.mu.Unlock()
		return <-p.done
	}
	l.flushing = true
	for len(l.queue) > 0 {
		var batch []*pending
		var recs []Record
		for len(l.queue) > 0 && (len(recs) == 0 || len(recs)+len(l.queue[0].recs) <= maxBatch) {
			batch = append(batch, l.queue[0])
			recs = append(recs, l.queue[0].recs...)
			l.queue = l.queue[1:]
		}
		l.mu.Unlock()
		err := l.commit(recs)
		for _, b := range batch {
			b.done <- err
		}
		l.mu.Lock()
	}
	l.flushing = false
	l.mu.Unlock()
	return <-p.done
}

// commit writes one batch under the file lock.
func (l *Log) commit(recs []Record) error {
	l.io.Lock()
	defer l.io.Unlock()
	unlock, err := lockFile(l.log)
	if err != nil {
		return err
	}
	defer unlock()
	n, repair, err := l.recover()
	if err != nil {
		return err
	}
	if repair != nil {
		recs = append([]Record{*repair}, recs...)
	}
	n, err = l.write(n, recs)
	if err != nil {
		return err
	}
	if l.opts.Signer != nil && (n-max(l.lastCP, 0) >= l.opts.CheckpointEvery || time.Since(l.lastCPTime) >= l.opts.CheckpointInterval) {
		return l.checkpoint(n)
	}
	return nil
}

// write appends recs after the n records there are, with their hashes,
// and returns the new count. The caller holds io and the flock.
func (l *Log) write(n int64, recs []Record) (int64, error) {
	now := time.Now().UTC()
	base := tlog.StoredHashCount(n)
	var lines bytes.Buffer
	var hashes []tlog.Hash
	reader := l.hashReader(base, &hashes)
	for i := range recs {
		r := &recs[i]
		r.Seq = n + int64(i)
		if r.Time.IsZero() {
			r.Time = now
		}
		r.Time = r.Time.UTC()
		if r.Node == "" {
			r.Node = l.opts.Node
		}
		line, err := marshalLine(r)
		if err != nil {
			return 0, fmt.Errorf("audit: %s record: %w", r.Action, err)
		}
		hs, err := tlog.StoredHashes(r.Seq, line, reader)
		if err != nil {
			return 0, fmt.Errorf("audit: %w", err)
		}
		hashes = append(hashes, hs...)
		lines.Write(line)
		lines.WriteByte('\n')
	}
	if _, err := l.log.Write(lines.Bytes()); err != nil {
		return 0, fmt.Errorf("audit: %s: %w", l.path, err)
	}
	// Both files go to disk at once: their syncs can share one journal
	// commit. recover handles a hash file that got there first.
	herr := make(chan error, 1)
	go func() { herr <- l.writeHashes(base, hashes) }()
	if err := unix.Fdatasync(int(l.log.Fd())); err != nil {
		<-herr
		return 0, fmt.Errorf("audit: %s: sync: %w", l.path, err)
	}
	if err := <-herr; err != nil {
		return 0, err
	}
	n += int64(len(recs))
	st, err := l.log.Stat()
	if err != nil {
		return 0, err
	}
	l.known = tail{st.Size(), (base + int64(len(hashes))) * tlog.HashSize, n}
	l.appended = true
	return n, nil
}

func (l *Log) writeHashes(base int64, hashes []tlog.Hash) error {
	buf := make([]byte, 0, len(hashes)*tlog.HashSize)
	for _, h := range hashes {
		buf = append(buf, h[:]...)
	}
	if _, err := l.hashes.WriteAt(buf, base*tlog.HashSize); err != nil {
		return fmt.Errorf("audit: %s%s: %w", l.path, HashesSuffix, err)
	}
	if err := unix.Fdatasync(int(l.hashes.Fd())); err != nil {
		return fmt.Errorf("audit: %s%s: sync: %w", l.path, HashesSuffix, err)
	}
	return nil
}

// hashReader reads stored hashes from the hash file below base and from
// extra (hashes not yet written) from base on.
func (l *Log) hashReader(base int64, extra *[]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x >= base {
				if x-base >= int64(len(*extra)) {
					return nil, fmt.Errorf("audit: hash %d not yet computed", x)
				}
				out[i] = (*extra)[x-base]
				continue
			}
			if _, err := l.hashes.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
				return nil, fmt.Errorf("audit: %s%s: hash %d: %w", l.path, HashesSuffix, x, err)
			}
		}
		return out, nil
	})
}

// Checkpoint signs a checkpoint of the log as it is now, unless this
// writer already signed one at this size, and returns the signed note (the
// agent prints it, so that a copy leaves the node). Without a Signer it
// returns nil.
func (l *Log) Checkpoint() ([]byte, error) {
	if l.opts.Signer == nil {
		return nil, nil
	}
	l.io.Lock()
	defer l.io.Unlock()
	unlock, err := lockFile(l.log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	n, repair, err := l.recover()
	if err != nil {
		return nil, err
	}
	if repair != nil {
		// The repair must be in the log before a checkpoint covers it.
		if n, err = l.write(n, []Record{*repair}); err != nil {
			return nil, err
		}
	}
	if n == l.lastCP && l.latest != nil {
		return l.latest, nil
	}
	if err := l.checkpoint(n); err != nil {
		return nil, err
	}
	return l.latest, nil
}

// checkpoint signs the tree of n records and appends it; the flock is held.
func (l *Log) checkpoint(n int64) error {
	if err := l.repairCheckpoints(); err != nil {
		return err
	}
	var none []tlog.Hash
	root, err := tlog.TreeHash(n, l.hashReader(tlog.StoredHashCount(n), &none))
	if err != nil {
		return fmt.Errorf("audit: tree hash: %w", err)
	}
	msg, err := signCheckpoint(Checkpoint{Origin: l.opts.Signer.Name(), Size: n, Hash: root}, l.opts.Signer)
	if err != nil {
		return fmt.Errorf("audit: signing checkpoint: %w", err)
	}
	if _, err := l.cps.Write(msg); err != nil {
		return fmt.Errorf("audit: %s%s: %w", l.path, CheckpointsSuffix, err)
	}
	if err := unix.Fdatasync(int(l.cps.Fd())); err != nil {
		return fmt.Errorf("audit: %s%s: sync: %w", l.path, CheckpointsSuffix, err)
	}
	l.lastCP, l.lastCPTime, l.latest, l.appended = n, time.Now(), msg, false
	if l.opts.Checkpointed != nil {
		l.opts.Checkpointed(msg)
	}
	return nil
}

// repairCheckpoints removes an unfinished note at the end of the
// checkpoints file, left by a writer that stopped while writing it.
func (l *Log) repairCheckpoints() error {
	st, err := l.cps.Stat()
	if err != nil {
		return err
	}
	n := min(st.Size(), 8<<10)
	tail := make([]byte, n)
	if _, err := l.cps.ReadAt(tail, st.Size()-n); err != nil && err != io.EOF {
		return err
	}
	cut, ok := tornNoteTail(tail, n == st.Size())
	if !ok {
		return fmt.Errorf("audit: %s%s: does not end with a signed note", l.path, CheckpointsSuffix)
	}
	if cut == 0 {
		return nil
	}
	if err := l.cps.Truncate(st.Size() - int64(cut)); err != nil {
		return err
	}
	l.opts.Warn(fmt.Sprintf("%s%s: removed an unfinished checkpoint of %d bytes", l.path, CheckpointsSuffix, cut))
	return nil
}

// Close signs a last checkpoint if records were appended since this
// writer's last one, and closes the files.
func (l *Log) Close() error {
	l.mu.Lock()
	closed, appended := l.closed, l.appended
	l.closed = true
	l.mu.Unlock()
	if closed {
		return nil
	}
	var err error
	if appended && l.opts.Signer != nil {
		_, err = l.Checkpoint()
	}
	for _, f := range []*os.File{l.log, l.hashes, l.cps} {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func lockFile(f *os.File) (func(), error) {
	fd := int(f.Fd())
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return nil, fmt.Errorf("audit: locking %s: %w", f.Name(), err)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { unix.Flock(fd, unix.LOCK_UN) }) }, nil
}

// recordsInHashes returns how many records a hash file of size bytes
// covers completely: the largest n with StoredHashCount(n) hashes in it.
func recordsInHashes(size int64) int64 {
	count := size / tlog.HashSize
	lo, hi := int64(0), count
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if tlog.StoredHashCount(mid) <= count {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// recover brings the files to a consistent state under the flock and
// returns the number of records. After a crash a writer may have left, in
// this order: complete records not yet in the hash file (their hashes are
// computed now), a torn last line (completed when it is a whole record
// lacking only its newline, else truncated away and described in a repair
// record that the caller appends first), and a partial hash at the end of
// the hash file (cut off; the hash file is derived data).
func (l *Log) recover() (int64, *Record, error) {
	lst, err := l.log.Stat()
	if err != nil {
		return 0, nil, err
	}
	hst, err := l.hashes.Stat()
	if err != nil {
		return 0, nil, err
	}
	if lst.Size() == l.known.logSize && hst.Size() == l.known.hashSize {
		return l.known.n, nil, nil
	}
	ns := recordsInHashes(hst.Size())
	if want := tlog.StoredHashCount(ns) * tlog.HashSize; hst.Size() != want {
		if err := l.hashes.Truncate(want); err != nil {
			return 0, nil, err
		}
		l.opts.Warn(fmt.Sprintf("%s%s: cut %d bytes of an unfinished hash write", l.path, HashesSuffix, hst.Size()-want))
	}
	var repair *Record
	lines, torn, tornAt, err := l.linesAfter(lst.Size(), ns)
	if err != nil {
		// The hash file may reach the disk before the log (their syncs run
		// together), so after a power cut it can hold hashes of records
		// the log never got; none of them was acknowledged.
		last, lerr := l.lastSeq(lst.Size())
		if lerr != nil || last+1 >= ns {
			return 0, nil, err
		}
		if err := l.hashes.Truncate(tlog.StoredHashCount(last+1) * tlog.HashSize); err != nil {
			return 0, nil, err
		}
		msg := fmt.Sprintf("the hash file covered %d records, the log ends with record %d: cut the hashes of the %d records the log never got (a crash before the log reached the disk)", ns, last, ns-last-1)
		l.opts.Warn(l.path + ": " + msg)
		repair = &Record{Action: ActionRepair, Result: ResultOK, Actor: Self(), Detail: msg}
		ns = last + 1
		if lines, torn, tornAt, err = l.linesAfter(lst.Size(), ns); err != nil {
			return 0, nil, err
		}
	}
	if len(torn) > 0 {
		if seq, err := lineSeq(torn); err == nil && seq == ns+int64(len(lines)) && json.Valid(torn) {
			if _, err := l.log.Write([]byte("\n")); err != nil {
				return 0, nil, err
			}
			lines = append(lines, torn)
			l.opts.Warn(fmt.Sprintf("%s: record %d was complete but for its newline: completed it", l.path, seq))
		} else {
			if err := l.log.Truncate(tornAt); err != nil {
				return 0, nil, fmt.Errorf("audit: %s: removing a torn last line: %w", l.path, err)
			}
			msg := fmt.Sprintf("removed %d bytes at offset %d after the last complete record: a writer stopped in the middle of an append", len(torn), tornAt)
			l.opts.Warn(l.path + ": " + msg)
			keep := torn
			if len(keep) > 4096 {
				keep = keep[:4096]
			}
			msg += "; the first bytes, base64: " + base64.StdEncoding.EncodeToString(keep)
			if repair != nil {
				msg = repair.Detail + "; " + msg
			}
			repair = &Record{Action: ActionRepair, Result: ResultOK, Actor: Self(), Detail: msg}
		}
		if err := unix.Fdatasync(int(l.log.Fd())); err != nil {
			return 0, nil, err
		}
	}
	n := ns
	if len(lines) > 0 {
		base := tlog.StoredHashCount(ns)
		var hashes []tlog.Hash
		reader := l.hashReader(base, &hashes)
		for _, line := range lines {
			hs, err := tlog.StoredHashes(n, line, reader)
			if err != nil {
				return 0, nil, err
			}
			hashes = append(hashes, hs...)
			n++
		}
		if err := l.writeHashes(base, hashes); err != nil {
			return 0, nil, err
		}
		l.opts.Warn(fmt.Sprintf("%s: added the hashes of %d records written before a crash", l.path, len(lines)))
	}
	lst, err = l.log.Stat()
	if err != nil {
		return 0, nil, err
	}
	l.known = tail{lst.Size(), tlog.StoredHashCount(n) * tlog.HashSize, n}
	return n, repair, nil
}

// maxCatchUp bounds how far back from the end recover looks for the last
// record the hash file covers before reading the log from its start.
const maxCatchUp = 16 << 20

// linesAfter returns the complete lines of the log from record ns on, the
// torn bytes after the last newline, and where they start.
func (l *Log) linesAfter(size, ns int64) (lines [][]byte, torn []byte, tornAt int64, err error) {
	var data []byte
	off := size
	start := -1 // index in data where record ns starts
	for {
		chunk := min(off, 256<<10)
		off -= chunk
		buf := make([]byte, chunk, chunk+int64(len(data)))
		if _, err := l.log.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, nil, 0, err
		}
		data = append(buf, data...)
		if start = findRecordStart(data, off == 0, ns); start >= 0 || off == 0 || size-off > maxCatchUp {
			break
		}
	}
	if start < 0 && off > 0 {
		// Far behind (a hash file lost or cut): read the whole log.
		data = make([]byte, size)
		if _, err := l.log.ReadAt(data, 0); err != nil && err != io.EOF {
			return nil, nil, 0, err
		}
		off = 0
		start = findRecordStart(data, true, ns)
	}
	if start < 0 {
		return nil, nil, 0, fmt.Errorf("audit: %s: the hash file covers %d records, but the log has no record %d: run ckpt audit verify", l.path, ns, ns-1)
	}
	rest := data[start:]
	last := bytes.LastIndexByte(rest, '\n')
	torn = rest[last+1:]
	tornAt = off + int64(start+last+1)
	if last >= 0 {
		for i, line := range bytes.Split(rest[:last], []byte("\n")) {
			if seq, err := lineSeq(line); err != nil || seq != ns+int64(i) {
				return nil, nil, 0, fmt.Errorf("audit: %s: the line after record %d is not record %d: the log was altered; run ckpt audit verify", l.path, ns+int64(i)-1, ns+int64(i))
			}
			lines = append(lines, line)
		}
	}
	return lines, torn, tornAt, nil
}

// lastSeq returns the seq of the log's last complete line, -1 when there
// is none.
func (l *Log) lastSeq(size int64) (int64, error) {
	n := min(size, 2*MaxRecord)
	buf := make([]byte, n)
	if _, err := l.log.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, err
	}
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		if n == size {
			return -1, nil
		}
		return 0, errors.New("no complete line at the end of the log")
	}
	begin := bytes.LastIndexByte(buf[:end], '\n') + 1
	if begin == 0 && n < size {
		return 0, errors.New("no complete line at the end of the log")
	}
	return lineSeq(buf[begin:end])
}

// findRecordStart returns where record ns begins in data, the tail of the
// log (whole when atStart), or -1 when data does not reach back that far.
func findRecordStart(data []byte, atStart bool, ns int64) int {
	if ns == 0 {
		if atStart {
			return 0
		}
		return -1
	}
	// The line of record ns-1 ends at a newline; record ns starts after it.
	end := len(data)
	for {
		nl := bytes.LastIndexByte(data[:end], '\n')
		if nl < 0 {
			return -1
		}
		begin := bytes.LastIndexByte(data[:nl], '\n') + 1
		if begin == 0 && !atStart {
			return -1 // the line may start before data
		}
		seq, err := lineSeq(data[begin:nl])
		if err == nil && seq == ns-1 {
			return nl + 1
		}
		if err == nil && seq < ns-1 {
			return -1 // the log has fewer records than the hash file
		}
		end = begin
		if end == 0 {
			return -1
		}
	}
}
