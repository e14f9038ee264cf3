// Package hostile writes small archives shaped to cost a reader as much
// memory as possible: the inputs of the memory-budget tests. Each shape is
// a zstd-compressed tar of well under 1 MB.
package hostile

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/ckpt-dev/ckpt/criu"
)

// Shape names one kind of hostile archive.
type Shape string

const (
	// LongNames is a rootfs-diff.tar whose entries have PAX path and link
	// names of nearly 64 KiB each.
	LongNames Shape = "long-names"
	// Containers is a pod archive with a great many container prefixes.
	Containers Shape = "containers"
	// Entries is a great many empty top-level members.
	Entries Shape = "entries"
	// Image is a CRIU pagemap image of n small entries, each decoded into
	// its own protobuf message.
	Image Shape = "image"
)

// Shapes lists every shape.
var Shapes = []Shape{LongNames, Containers, Entries, Image}

// Write writes shape with n units (entries or containers) to w, zstd
// compressed at the best ratio.
func Write(w io.Writer, shape Shape, n int) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithWindowSize(8<<20))
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	switch shape {
	case LongNames:
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeLongNames(pw, n)) }()
		// The nested tar's size must be known for its header: buffer it
		// through a counting pass first.
		size, err := io.Copy(io.Discard, pr)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "rootfs-diff.tar", Mode: 0o600, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		pr, pw = io.Pipe()
		go func() { pw.CloseWithError(writeLongNames(pw, n)) }()
		if _, err := io.Copy(tw, pr); err != nil {
			return err
		}
	case Containers:
		for i := range n {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("c%d/rootfs-diff.tar", i), Mode: 0o600, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
		}
	case Entries:
		for i := range n {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o600, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
		}
	case Image:
		var img bytes.Buffer
		m, _ := criu.MagicByName("PAGEMAP")
		cw, err := criu.NewWriter(&img, m)
		if err != nil {
			return err
		}
		if err := cw.Write(&pagemap.PagemapHead{PagesId: proto.Uint32(1)}, nil); err != nil {
			return err
		}
		e := &pagemap.PagemapEntry{Vaddr: proto.Uint64(0x7f0000000000), CompatNrPages: proto.Uint32(1), NrPages: proto.Uint64(1), Flags: proto.Uint32(2)}
		for range n {
			if err := cw.Write(e, nil); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: "checkpoint/pagemap-1.img", Mode: 0o600, Size: int64(img.Len()), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(img.Bytes()); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown shape %q", shape)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeLongNames(w io.Writer, n int) error {
	tw := tar.NewWriter(w)
	long := strings.Repeat("a", 60<<10)
	for i := range n {
		name := fmt.Sprintf("%s/%d", long, i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Linkname: name, Typeflag: tar.TypeSymlink, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	return tw.Close()
}
