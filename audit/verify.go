package audit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sys/unix"
)

// VerifyOptions say what to check a log against.
type VerifyOptions struct {
	// Verifier is the public key of the log's checkpoints. Without it the
	// checkpoints' signatures are not checked (Report.Unverified), and a
	// rewritten log with rewritten checkpoints passes.
	Verifier note.Verifier
	// Old is an older signed checkpoint kept away from the node; the log
	// must be an append-only extension of it. Needs Verifier.
	Old []byte
}

// Report is what Verify found. Field order is the JSON order.
type Report struct {
	Log string `json:"log"`
	// Records is the number of complete records.
	Records int64 `json:"records"`
	// TornBytes is a last line cut short by a crash; the next append
	// repairs it.
	TornBytes int64 `json:"torn_bytes"`
	// HashesBehind counts records whose hashes a crash kept out of the
	// hash file; the next append adds them.
	HashesBehind int64 `json:"hashes_behind"`
	// Checkpoints is the number of signed checkpoints in the log's file.
	Checkpoints int `json:"checkpoints"`
	// TornCheckpointBytes is an unfinished last checkpoint (a writer
	// stopped mid-write); the next checkpoint removes it.
	TornCheckpointBytes int64 `json:"torn_checkpoint_bytes"`
	// Unverified says no key was given, so their signatures were not
	// checked.
	Unverified bool `json:"unverified"`
	// Latest is the last checkpoint, nil when there is none.
	Latest *CheckpointInfo `json:"latest"`
	// Uncovered counts the records after the latest checkpoint: nothing
	// signed vouches for them yet.
	Uncovered int64 `json:"uncovered"`
	// Consistency is the proof that the log extends VerifyOptions.Old.
	Consistency *Consistency `json:"consistency"`
}

// CheckpointInfo is a checkpoint in a report; Note is the signed note.
type CheckpointInfo struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Hash   string `json:"hash"`
	Note   string `json:"note"`
}

// Consistency is a tlog consistency proof between an older checkpoint and
// the latest one: anyone holding both can check it with tlog.CheckTree.
type Consistency struct {
	OldSize int64    `json:"old_size"`
	OldHash string   `json:"old_hash"`
	Size    int64    `json:"size"`
	Hash    string   `json:"hash"`
	Proof   []string `json:"proof"`
}

// Verify checks the log at path: every record against the hash file and
// the signed checkpoints, the checkpoints' signatures, the records' order,
// and, given an older checkpoint, that the log extends it. The error wraps
// one of the Err values of this package naming the kind of tampering
// found (or is an I/O error); the report says what was checked.
//
// Verify reads the files as they were when it started: appends made
// meanwhile are not looked at.
func Verify(path string, opts VerifyOptions) (*Report, error) {
	rep := &Report{Log: path, Unverified: opts.Verifier == nil}
	sizes, err := snapshot(path)
	if err != nil {
		return rep, err
	}

	// Checkpoints first: a forged signature is the plainest sign.
	cps, notes, torn, err := readCheckpoints(path+CheckpointsSuffix, sizes[2], opts.Verifier)
	if err != nil {
		return rep, err
	}
	rep.Checkpoints, rep.TornCheckpointBytes = len(cps), int64(torn)

	side, err := readHashes(path+HashesSuffix, sizes[1])
	if err != nil {
		return rep, err
	}
	ns := recordsInHashes(int64(len(side)) * tlog.HashSize)
	side = side[:tlog.StoredHashCount(ns)]

	// The records, hashed as they stream by.
	st, err := readRecords(path, sizes[0], ns)
	if err != nil {
		return rep, err
	}
	n := st.n
	rep.Records, rep.TornBytes = n, int64(len(st.torn))
	computed := memReader(st.hashes)

	if err := diagnose(st, side, ns, cps); err != nil {
		return rep, err
	}
	if ns < n {
		rep.HashesBehind = n - ns
	}
	if len(cps) > 0 {
		last := cps[len(cps)-1]
		rep.Latest = &CheckpointInfo{last.Origin, last.Size, b64(last.Hash), string(notes[len(notes)-1])}
		rep.Uncovered = n - last.Size
	} else {
		rep.Uncovered = n
	}

	if opts.Old != nil {
		if opts.Verifier == nil {
			return rep, errors.New("checking an older checkpoint needs the log's public key")
		}
		old, err := OpenCheckpoint(opts.Old, opts.Verifier)
		if err != nil {
			return rep, fmt.Errorf("the older checkpoint: %w", err)
		}
		if old.Size > n {
			return rep, fmt.Errorf("%w: it covers %d records, the log has %d", ErrInconsistent, old.Size, n)
		}
		if h, err := tlog.TreeHash(old.Size, computed); err != nil || h != old.Hash {
			return rep, fmt.Errorf("%w: the first %d records do not hash to it", ErrInconsistent, old.Size)
		}
		c := &Consistency{OldSize: old.Size, OldHash: b64(old.Hash), Proof: []string{}}
		if rep.Latest != nil && cps[len(cps)-1].Size >= old.Size {
			last := cps[len(cps)-1]
			proof, err := tlog.ProveTree(last.Size, old.Size, computed)
			if err != nil {
				return rep, err
			}
			if err := tlog.CheckTree(proof, last.Size, last.Hash, old.Size, old.Hash); err != nil {
				return rep, fmt.Errorf("%w: %v", ErrInconsistent, err)
			}
			c.Size, c.Hash = last.Size, b64(last.Hash)
			for _, h := range proof {
				c.Proof = append(c.Proof, b64(h))
			}
		}
		rep.Consistency = c
	}
	return rep, nil
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// snapshot returns the sizes of the log, the hash file and the
// checkpoints, taken together under a shared lock so that no commit is
// half-way; the files only grow, so what lies below these sizes stays.
func snapshot(path string) ([3]int64, error) {
	var sizes [3]int64
	f, err := os.Open(path)
	if err != nil {
		return sizes, err
	}
	defer f.Close()
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return sizes, fmt.Errorf("locking %s: %w", path, err)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	for i, p := range []string{path, path + HashesSuffix, path + CheckpointsSuffix} {
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) && i > 0 {
			continue
		}
		if err != nil {
			return sizes, err
		}
		sizes[i] = st.Size()
	}
	return sizes, nil
}

// readCheckpoints parses the checkpoints file and checks each signature
// (when v is given) and that sizes never go down.
func readCheckpoints(path string, size int64, v note.Verifier) ([]Checkpoint, [][]byte, int, error) {
	data, err := readPrefix(path, size)
	if err != nil {
		return nil, nil, 0, err
	}
	notes, torn, err := splitNotes(data)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %s: %v", ErrCheckpointSignature, path, err)
	}
	var cps []Checkpoint
	for i, msg := range notes {
		var c Checkpoint
		if v != nil {
			c, err = OpenCheckpoint(msg, v)
		} else {
			text, _, _ := strings.Cut(string(msg), "\n\n")
			c, err = parseCheckpointText(text + "\n")
			if err != nil {
				err = fmt.Errorf("%w: %v", ErrCheckpointSignature, err)
			}
		}
		if err != nil {
			return nil, nil, 0, fmt.Errorf("checkpoint %d: %w", i+1, err)
		}
		if i > 0 && c.Size < cps[i-1].Size {
			return nil, nil, 0, fmt.Errorf("%w: checkpoint %d covers %d records, fewer than the one before it (%d)", ErrCheckpointMismatch, i+1, c.Size, cps[i-1].Size)
		}
		cps = append(cps, c)
	}
	return cps, notes, len(torn), nil
}

// openPrefix opens one of the log's files to read its first size bytes:
// nil and no error when it does not exist and size is 0 (nothing written
// yet).
func openPrefix(path string, size int64) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && size == 0 {
		return nil, nil
	}
	return f, err
}

func readPrefix(path string, size int64) ([]byte, error) {
	f, err := openPrefix(path, size)
	if f == nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, size)
	_, err = io.ReadFull(f, data)
	return data, err
}

// readHashes reads the hash file's prefix as hashes.
func readHashes(path string, size int64) ([]tlog.Hash, error) {
	f, err := openPrefix(path, size)
	if f == nil {
		return nil, err
	}
	defer f.Close()
	hs := make([]tlog.Hash, size/tlog.HashSize)
	if len(hs) == 0 {
		return hs, nil
	}
	_, err = io.ReadFull(f, unsafe.Slice(&hs[0][0], len(hs)*tlog.HashSize))
	return hs, err
}

// records is the log as read: each line's leaf hash and seq, every stored
// hash of the tree over them, and the torn bytes after the last newline.
type records struct {
	n      int64
	seqs   *seqCheck
	hashes []tlog.Hash
	torn   []byte
}

func memReader(hs []tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(hs)) {
				return nil, fmt.Errorf("hash %d is beyond the tree", x)
			}
			out[i] = hs[x]
		}
		return out, nil
	})
}

// readRecords reads the log's prefix of size bytes; expect is how many
// records there probably are, to size the slices once.
func readRecords(path string, size, expect int64) (*records, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st := &records{
		hashes: make([]tlog.Hash, 0, tlog.StoredHashCount(expect)+64),
	}
	r := bufio.NewReaderSize(io.LimitReader(f, size), 1<<20)
	// StoredHashes reads at most log n earlier hashes per record, mostly
	// none or one: a fixed buffer keeps that free of allocations.
	var out [64]tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		if len(indexes) > len(out) {
			return memReader(st.hashes).ReadHashes(indexes)
		}
		for i, x := range indexes {
			out[i] = st.hashes[x]
		}
		return out[:len(indexes)], nil
	})
	seqs := &seqCheck{prev: -1}
	st.seqs = seqs
	var long []byte
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if err == io.EOF {
			st.torn = append([]byte(nil), line...)
			return st, nil
		}
		if err != nil {
			return nil, err
		}
		line = line[:len(line)-1]
		i := st.n
		leaf := tlog.RecordHash(line)
		hs, err := tlog.StoredHashesForRecordHash(i, leaf, reader)
		if err != nil {
			return nil, err
		}
		st.hashes = append(st.hashes, hs...)
		st.n++
		seq, err := lineSeq(line)
		if err != nil {
			seq = -1
		}
		seqs.next(seq)
	}
}

// diagnose compares the records with the hash file and the checkpoints and
// names the first kind of tampering it can tell.
func diagnose(st *records, side []tlog.Hash, ns int64, cps []Checkpoint) error {
	n := st.n
	computed := memReader(st.hashes)
	sideReader := memReader(side)

	// matches reports whether the checkpoint agrees with a tree.
	matches := func(c Checkpoint, count int64, r tlog.HashReader) bool {
		if c.Size > count {
			return false
		}
		h, err := tlog.TreeHash(c.Size, r)
		return err == nil && h == c.Hash
	}

	// The first record where the hash file and the records disagree.
	common := min(n, ns)
	d := int64(-1)
	for i := range tlog.StoredHashCount(common) {
		if side[i] != st.hashes[i] {
			level, k := tlog.SplitStoredHashIndex(i)
			d = k << level
			break
		}
	}
	if d < 0 && ns > n {
		d = n
	}
	if d >= 0 {
		// A checkpoint past d that the records match vouches for them:
		// the hash file is what changed.
		for _, c := range cps {
			if c.Size > d && matches(c, n, computed) {
				return fmt.Errorf("%w: stored hash for record %d", ErrHashes, d)
			}
		}
		trusted := true
		for _, c := range cps {
			if c.Size <= ns && !matches(c, ns, sideReader) {
				trusted = false
			}
		}
		if trusted {
			if err := align(leavesOf(st.hashes, n), leavesOf(side, ns), len(st.torn) > 0); err != nil {
				return err
			}
		}
	}
	if err := st.seqs.err(); err != nil {
		return err
	}
	for i, c := range cps {
		if c.Size > n {
			if len(st.torn) > 0 {
				return fmt.Errorf("%w: the file ends inside record %d, checkpoint %d covers %d records", ErrTruncated, n, i+1, c.Size)
			}
			return fmt.Errorf("%w: checkpoint %d covers %d records, the log has %d", ErrRemoved, i+1, c.Size, n)
		}
		if !matches(c, n, computed) {
			return fmt.Errorf("%w: checkpoint %d (%d records); the records and the hash file agree with each other", ErrCheckpointMismatch, i+1, c.Size)
		}
	}
	if d >= 0 {
		// The hash file disagrees and nothing signed settles who is right.
		return fmt.Errorf("%w: record %d does not match the hash file", ErrChanged, d)
	}
	return nil
}

// align names what turned the reference leaves (from a trusted hash file)
// into the log's.
func align(got, want []tlog.Hash, torn bool) error {
	pos := make(map[tlog.Hash]int, len(want))
	for i, h := range want {
		if _, ok := pos[h]; !ok {
			pos[h] = i
		}
	}
	seen := make(map[int]bool, len(got))
	unknown, last := -1, -1
	for i, h := range got {
		j, ok := pos[h]
		switch {
		case !ok:
			if unknown < 0 {
				unknown = i
			}
			continue
		case seen[j]:
			return fmt.Errorf("%w: line %d repeats record %d", ErrInserted, i+1, j)
		case j < last:
			return fmt.Errorf("%w: line %d holds record %d, after record %d", ErrReordered, i+1, j, last)
		}
		seen[j], last = true, j
	}
	switch {
	case unknown >= 0 && len(got) > len(want):
		return fmt.Errorf("%w: line %d was never appended", ErrInserted, unknown+1)
	case unknown >= 0:
		return fmt.Errorf("%w: line %d (record %d)", ErrChanged, unknown+1, unknown)
	case len(got) < len(want):
		for i := range got {
			if got[i] != want[i] {
				return fmt.Errorf("%w: record %d is missing", ErrRemoved, i)
			}
		}
		if torn {
			return fmt.Errorf("%w: the file ends inside record %d of %d", ErrTruncated, len(got), len(want))
		}
		return fmt.Errorf("%w: the last %d records are missing", ErrRemoved, len(want)-len(got))
	}
	return nil
}

// leavesOf returns the leaf hashes of the first n records among stored
// hashes.
func leavesOf(stored []tlog.Hash, n int64) []tlog.Hash {
	leaves := make([]tlog.Hash, n)
	for i := range leaves {
		leaves[i] = stored[tlog.StoredHashIndex(0, int64(i))]
	}
	return leaves
}

// seqCheck checks, line by line, that the seq of line i is i, and
// remembers the first sign of each kind: a repeated seq (an insertion), a
// seq lower than the one before (a reordering, which also leaves gaps), a
// gap (a removal), a line without one (a change).
type seqCheck struct {
	i, prev                          int64
	seen                             []uint64 // bit per seq, up to maxSeqBits
	inserted, reordered, removed, no error
}

const maxSeqBits = 1 << 28

func (c *seqCheck) next(s int64) {
	i, prev := c.i, c.prev
	c.i, c.prev = c.i+1, s
	switch {
	case s < 0:
		c.prev = prev + 1 // as if the line held the seq it should
		if c.no == nil {
			c.no = fmt.Errorf("%w: line %d has no seq", ErrChanged, i+1)
		}
		return
	case s < prev && c.reordered == nil:
		c.reordered = fmt.Errorf("%w: line %d has seq %d, after %d", ErrReordered, i+1, s, prev)
	case s > prev+1 && c.removed == nil:
		c.removed = fmt.Errorf("%w: seq %d to %d are missing before line %d", ErrRemoved, prev+1, s-1, i+1)
	}
	if s < maxSeqBits {
		w := int(s / 64)
		if w >= len(c.seen) {
			c.seen = append(c.seen, make([]uint64, w+1-len(c.seen))...)
		}
		if c.seen[w]&(1<<(s%64)) != 0 && c.inserted == nil {
			c.inserted = fmt.Errorf("%w: line %d repeats seq %d", ErrInserted, i+1, s)
		}
		c.seen[w] |= 1 << (s % 64)
	}
}

// err names what the seq numbers show, the most telling kind first.
func (c *seqCheck) err() error {
	for _, err := range []error{c.inserted, c.reordered, c.removed, c.no} {
		if err != nil {
			return err
		}
	}
	return nil
}

// ReadRecords calls fn with each complete record of r in order, and
// returns the number of bytes of a torn last line, if any.
func ReadRecords(r io.Reader, fn func(Record) error) (torn int, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err == io.EOF {
			return len(b), nil
		}
		if err != nil {
			return 0, err
		}
		rec, err := ParseRecord(bytes.TrimSuffix(b, []byte("\n")))
		if err != nil {
			return 0, fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(rec); err != nil {
			return 0, err
		}
	}
}
