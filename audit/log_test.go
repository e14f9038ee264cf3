package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// testKey returns a signer and verifier for a test log.
func testKey(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func sampleRecord(i int) Record {
	return Record{
		Action: ActionSeal, Result: ResultOK, File: fmt.Sprintf("/var/lib/kubelet/checkpoints/checkpoint-web-%d_default-app-2025-01-02T03:04:05Z.tar", i),
		Archive:    &Archive{Name: fmt.Sprintf("checkpoint-web-%d_default-app-2025-01-02T03:04:05Z.tar", i), Namespace: "default", Pod: "web", Container: "app", CheckpointedAt: "2025-01-02T03:04:05Z"},
		Digests:    []Digest{{Name: "archive", Size: 1 << 30, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
		Recipients: []string{"X25519:age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"},
		Actor:      Actor{PID: 1234, UID: 0, GID: 0, Exe: "/usr/local/bin/ckpt"},
	}
}

// writeLog makes a log of n records in dir, signed, one checkpoint at
// the end (and every `every` records).
func writeLog(t testing.TB, dir string, n int, every int64, s note.Signer) string {
	t.Helper()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(path, Options{Signer: s, CheckpointEvery: every, Node: "node1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Append(context.Background(), sampleRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func lines(t *testing.T, path string) [][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(data, []byte("\n"))
}

func TestVerifyTamper(t *testing.T) {
	s, v := testKey(t, "node1/ckpt-audit")
	other, _ := testKey(t, "node1/ckpt-audit")
	flip := func(path string, off int) func(*testing.T, string) {
		return func(t *testing.T, log string) {
			p := log + path
			data, _ := os.ReadFile(p)
			if off < 0 {
				off += len(data)
			}
			data[off] ^= 0x01
			os.WriteFile(p, data, 0o600)
		}
	}
	edit := func(f func([][]byte) [][]byte) func(*testing.T, string) {
		return func(t *testing.T, log string) {
			ls := lines(t, log)
			os.WriteFile(log, bytes.Join(f(ls), nil), 0o600)
		}
	}
	cases := []struct {
		name   string
		tamper func(*testing.T, string)
		want   error
	}{
		{"record byte", flip("", 300), ErrChanged},
		{"hash byte", flip(HashesSuffix, 5*32+7), ErrHashes},
		{"signature byte", flip(CheckpointsSuffix, -10), ErrCheckpointSignature},
		{"checkpoint root", func(t *testing.T, log string) {
			data, _ := os.ReadFile(log + CheckpointsSuffix)
			i := bytes.Index(data, []byte("\n10\n")) + 5
			data[i] ^= 0x01
			os.WriteFile(log+CheckpointsSuffix, data, 0o600)
		}, ErrCheckpointSignature},
		{"delete first", edit(func(l [][]byte) [][]byte { return l[1:] }), ErrRemoved},
		{"delete middle", edit(func(l [][]byte) [][]byte { return append(l[:4:4], l[5:]...) }), ErrRemoved},
		{"delete last", edit(func(l [][]byte) [][]byte { return append(l[:9:9], l[10:]...) }), ErrRemoved},
		{"swap", edit(func(l [][]byte) [][]byte { l[3], l[6] = l[6], l[3]; return l }), ErrReordered},
		{"insert", edit(func(l [][]byte) [][]byte {
			forged := bytes.Replace(l[2], []byte("web-2_"), []byte("web-X_"), 1)
			return append(l[:3:3], append([][]byte{forged}, l[3:]...)...)
		}), ErrInserted},
		{"truncate", func(t *testing.T, log string) {
			// Cut inside a line: at a line boundary a cut is the removal
			// of the last records, and verify says so.
			data, _ := os.ReadFile(log)
			cut := len(data) / 2
			for data[cut-1] == '\n' || data[cut] == '\n' {
				cut++
			}
			os.Truncate(log, int64(cut))
		}, ErrTruncated},
		{"other key", func(t *testing.T, log string) {
			data, _ := os.ReadFile(log + CheckpointsSuffix)
			notes, _, _ := splitNotes(data)
			c, err := OpenCheckpoint(notes[0], v)
			if err != nil {
				t.Fatal(err)
			}
			forged, _ := signCheckpoint(c, other)
			os.WriteFile(log+CheckpointsSuffix, append(forged, notes[1]...), 0o600)
		}, ErrCheckpointKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeLog(t, t.TempDir(), 10, 5, s)
			if _, err := Verify(path, VerifyOptions{Verifier: v}); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tc.tamper(t, path)
			_, err := Verify(path, VerifyOptions{Verifier: v})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestConsistency(t *testing.T) {
	s, v := testKey(t, "node1/ckpt-audit")
	dir := t.TempDir()
	path := writeLog(t, dir, 7, 1000, s)
	rep, err := Verify(path, VerifyOptions{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	old := []byte(rep.Latest.Note)
	l, err := Open(path, Options{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		l.Append(context.Background(), sampleRecord(100+i))
	}
	l.Close()
	rep, err = Verify(path, VerifyOptions{Verifier: v, Old: old})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Consistency == nil || rep.Consistency.OldSize != 7 || rep.Consistency.Size != 27 || len(rep.Consistency.Proof) == 0 {
		t.Fatalf("consistency %+v", rep.Consistency)
	}
	// Rewrite history: a new log with other records, re-signed with the
	// same key, is not an extension of the old checkpoint.
	for _, suf := range []string{"", HashesSuffix, CheckpointsSuffix} {
		os.Remove(path + suf)
	}
	l, _ = Open(path, Options{Signer: s})
	for i := range 30 {
		l.Append(context.Background(), sampleRecord(200+i))
	}
	l.Close()
	if _, err := Verify(path, VerifyOptions{Verifier: v}); err != nil {
		t.Fatalf("the rewritten log is self-consistent, so verify alone passes: %v", err)
	}
	if _, err := Verify(path, VerifyOptions{Verifier: v, Old: old}); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("got %v, want ErrInconsistent", err)
	}
}

// A torn last line is cut off by the next append and described in a
// repair record; a whole record that lacks only its newline is kept.
func TestTornTail(t *testing.T) {
	s, v := testKey(t, "node1/ckpt-audit")
	dir := t.TempDir()
	path := writeLog(t, dir, 3, 1000, s)
	var warnings []string
	appendOne := func(i int) {
		l, err := Open(path, Options{Signer: s, Warn: func(m string) { warnings = append(warnings, m) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(context.Background(), sampleRecord(i)); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Half a record, as a writer killed in the middle of its write leaves.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":3,"time":"2026-01-01T00:00:00Z","no`)
	f.Close()
	rep, err := Verify(path, VerifyOptions{Verifier: v})
	if err != nil || rep.TornBytes != 42 {
		t.Fatalf("torn tail: %v %+v", err, rep)
	}
	appendOne(10)
	rep, err = Verify(path, VerifyOptions{Verifier: v})
	if err != nil || rep.TornBytes != 0 || rep.Records != 5 {
		t.Fatalf("after repair: %v %+v", err, rep)
	}
	ls := lines(t, path)
	rec, err := ParseRecord(bytes.TrimSpace(ls[3]))
	if err != nil || rec.Action != ActionRepair || !bytes.Contains([]byte(rec.Detail), []byte("removed 42 bytes")) {
		t.Fatalf("repair record %+v %v", rec, err)
	}

	// A whole record without its newline, and no hashes: kept.
	r := sampleRecord(20)
	r.Seq, r.Node = 5, "node1"
	line, _ := marshalLine(&r)
	f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(line)
	f.Close()
	appendOne(21)
	rep, err = Verify(path, VerifyOptions{Verifier: v})
	if err != nil || rep.Records != 7 {
		t.Fatalf("after completing: %v %+v", err, rep)
	}
	if got := lines(t, path)[5]; !bytes.Equal(got, append(line, '\n')) {
		t.Fatalf("record 5 is %s", got)
	}
	if len(warnings) != 3 {
		t.Fatalf("warnings: %q", warnings)
	}
}

// With no key and the hash file removed, the records' seq numbers still
// tell a removal, a reordering and a duplicate apart.
func TestVerifyBySeq(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([][]byte) [][]byte
		want error
	}{
		{"removed", func(l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) }, ErrRemoved},
		{"reordered", func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l }, ErrReordered},
		{"duplicated", func(l [][]byte) [][]byte { return append(l[:3:3], l[2:]...) }, ErrInserted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeLog(t, t.TempDir(), 6, 1000, nil)
			os.WriteFile(path, bytes.Join(tc.edit(lines(t, path)), nil), 0o600)
			os.Remove(path + HashesSuffix)
			if _, err := Verify(path, VerifyOptions{}); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSeqCheck(t *testing.T) {
	for _, tc := range []struct {
		seqs []int64
		want error
	}{
		{[]int64{0, 1, 2, 3}, nil},
		{[]int64{0, -1, 2, 3}, ErrChanged},
		{[]int64{0, 2, 3}, ErrRemoved},
		{[]int64{1, 2, 3}, ErrRemoved},
		{[]int64{0, 2, 1, 3}, ErrReordered},
		{[]int64{0, 1, 2, 1, 3}, ErrInserted},
		{[]int64{0, 1, 1, 2}, ErrInserted},
	} {
		c := &seqCheck{prev: -1}
		for _, s := range tc.seqs {
			c.next(s)
		}
		if err := c.err(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%v: got %v, want %v", tc.seqs, err, tc.want)
		}
	}
}

// A hash file that reached the disk before the log (a power cut between
// the two syncs) holds hashes of records the log lacks: the next append
// cuts them and says so in a repair record.
func TestHashesAhead(t *testing.T) {
	s, v := testKey(t, "node1/ckpt-audit")
	path := writeLog(t, t.TempDir(), 5, 1000, nil)
	ls := lines(t, path)
	os.WriteFile(path, bytes.Join(ls[:3], nil), 0o600) // records 3 and 4 never reached the disk
	l, err := Open(path, Options{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), sampleRecord(9)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	rep, err := Verify(path, VerifyOptions{Verifier: v})
	if err != nil || rep.Records != 5 {
		t.Fatalf("%v %+v", err, rep)
	}
	rec, _ := ParseRecord(bytes.TrimSpace(lines(t, path)[3]))
	if rec.Action != ActionRepair || !strings.Contains(rec.Detail, "covered 5 records, the log ends with record 2") {
		t.Fatalf("record 3: %+v", rec)
	}
}
