// Package tartest builds checkpoint archives for tests: real fixtures
// taken apart and put back together, broken in one precise way each. The
// end-to-end scripts and the archive tests share it, so every bad input
// named in the docs is built once.
package tartest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Member is one tar member.
type Member struct {
	Name string
	Type byte
	Mode int64
	Body []byte
	Link string
}

// Read returns the members of a plain tar file.
func Read(path string) ([]Member, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f)
}

// ReadAll returns the members of the plain tar read from r.
func ReadAll(r io.Reader) ([]Member, error) {
	var ms []Member
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return ms, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Member{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, Body: b, Link: h.Linkname})
	}
}

// Tar writes members as a tar archive.
func Tar(ms []Member) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		mode := m.Mode
		if mode == 0 {
			mode = 0o600
		}
		h := &tar.Header{Name: m.Name, Typeflag: m.Type, Mode: mode, Size: int64(len(m.Body)), Linkname: m.Link, Format: tar.FormatPAX}
		if m.Type != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		tw.Write(m.Body)
	}
	tw.Close()
	return b.Bytes()
}

// Gzip and Zstd compress b.
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func Zstd(b []byte) []byte {
	enc, _ := zstd.NewWriter(nil)
	return enc.EncodeAll(b, nil)
}

// Kinds lists the bad archives Bad builds, each with what is wrong.
func Kinds() [][2]string {
	return [][2]string{
		{"not-archive", "a text file"},
		{"empty", "an empty file"},
		{"truncated", "the tar cut off in the middle of the memory pages"},
		{"corrupt-gzip", "a gzip stream with bytes flipped in the middle"},
		{"corrupt-zstd", "a zstd stream with bytes flipped in the middle"},
		{"traversal", "a member named ../../etc/cron.d/x"},
		{"absolute", "a member named /etc/passwd"},
		{"symlink", "a symlink member"},
		{"hardlink", "a hard link member"},
		{"device", "a character device member"},
		{"duplicate", "spec.dump twice"},
		{"no-spec", "no spec.dump"},
		{"bad-spec", "spec.dump that is not JSON"},
		{"no-config", "no config.dump"},
		{"bad-config", "config.dump that is not JSON"},
		{"unknown-magic", "pstree.img with a magic CRIU does not define"},
		{"huge-length", "pstree.img whose first entry claims 4 GiB"},
		{"no-pstree", "no pstree.img"},
		{"missing-core", "pstree.img lists a pid that has no core image"},
		{"bomb-gzip", "gzip of a tar of 400 MiB of zeros (about 1030:1, caught while decompressing with --max-ratio below that)"},
		{"bomb-zstd", "zstd of 1 GiB of zeros in one member: the header's claim alone is impossible"},
		{"stale-tail", "a valid archive followed by the tail of an older, longer one"},
		{"not-checkpoint", "a valid tar with no checkpoint in it"},
	}
}

// Bad builds the bad archive kind from the plain fixture at base.
func Bad(kind, base string) ([]byte, error) {
	ms, err := Read(base)
	if err != nil {
		return nil, err
	}
	good := Tar(ms)
	switch kind {
	case "not-archive":
		return []byte("this is not a checkpoint\n"), nil
	case "empty":
		return nil, nil
	case "truncated":
		return good[:len(good)/2], nil
	case "corrupt-gzip":
		return flip(Gzip(good)), nil
	case "corrupt-zstd":
		return flip(Zstd(good)), nil
	case "traversal":
		return Tar(append(ms, Member{Name: "../../etc/cron.d/x", Type: tar.TypeReg, Body: []byte("x")})), nil
	case "absolute":
		return Tar(append([]Member{{Name: "/etc/passwd", Type: tar.TypeReg, Body: []byte("x")}}, ms...)), nil
	case "symlink":
		return Tar(append(ms, Member{Name: "checkpoint/evil", Type: tar.TypeSymlink, Link: "/etc/shadow"})), nil
	case "hardlink":
		return Tar(append(ms, Member{Name: "checkpoint/evil", Type: tar.TypeLink, Link: "spec.dump"})), nil
	case "device":
		return Tar(append(ms, Member{Name: "checkpoint/mem", Type: tar.TypeChar})), nil
	case "duplicate":
		return Tar(append(ms, *find(ms, "spec.dump"))), nil
	case "no-spec":
		return Tar(without(ms, "spec.dump")), nil
	case "bad-spec":
		return Tar(replace(ms, "spec.dump", []byte("{not json"))), nil
	case "no-config":
		return Tar(without(ms, "config.dump")), nil
	case "bad-config":
		return Tar(replace(ms, "config.dump", []byte("[1,2"))), nil
	case "unknown-magic":
		p := slices.Clone(find(ms, "checkpoint/pstree.img").Body)
		binary.LittleEndian.PutUint32(p[4:], 0x12345678)
		return Tar(replace(ms, "checkpoint/pstree.img", p)), nil
	case "huge-length":
		p := slices.Clone(find(ms, "checkpoint/pstree.img").Body)
		binary.LittleEndian.PutUint32(p[8:], 0xffffffff)
		return Tar(replace(ms, "checkpoint/pstree.img", p)), nil
	case "no-pstree":
		return Tar(without(ms, "checkpoint/pstree.img")), nil
	case "missing-core":
		var core string
		for _, m := range ms {
			if strings.HasPrefix(m.Name, "checkpoint/core-") {
				core = m.Name
			}
		}
		return Tar(without(ms, core)), nil
	case "bomb-gzip":
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zerosMember(zw, 400<<20)
		zw.Close()
		return b.Bytes(), nil
	case "bomb-zstd":
		var b bytes.Buffer
		zw, _ := zstd.NewWriter(&b, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
		zw.Write(good[:len(good)-1024])
		zerosMember(zw, 1<<30)
		zw.Close()
		return b.Bytes(), nil
	case "stale-tail":
		longer := Tar(append(ms, Member{Name: "padding", Type: tar.TypeReg, Body: bytes.Repeat([]byte("old checkpoint data "), 2000)}))
		return append(slices.Clone(good), longer[len(good):]...), nil
	case "not-checkpoint":
		return Tar([]Member{{Name: "hello.txt", Type: tar.TypeReg, Body: []byte("hi\n")}}), nil
	}
	return nil, fmt.Errorf("unknown bad archive kind %q", kind)
}

// zerosMember writes a member of n zero bytes and the end of the archive,
// streaming, so that big bombs cost no memory to build.
func zerosMember(w io.Writer, n int64) {
	tw := tar.NewWriter(w)
	tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o600, Size: n})
	zero := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(zero)))
		tw.Write(zero[:k])
		n -= k
	}
	tw.Close()
}

func find(ms []Member, name string) *Member {
	for i := range ms {
		if ms[i].Name == name {
			return &ms[i]
		}
	}
	panic("no member " + name)
}

func without(ms []Member, name string) []Member {
	find(ms, name)
	return slices.DeleteFunc(slices.Clone(ms), func(m Member) bool { return m.Name == name })
}

func replace(ms []Member, name string, body []byte) []Member {
	out := slices.Clone(ms)
	m := find(out, name)
	m.Body = body
	return out
}

// flip corrupts bytes in the middle of b.
func flip(b []byte) []byte {
	for i := len(b) / 2; i < len(b)/2+16 && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	return b
}
