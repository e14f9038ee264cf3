package remote

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// PullOptions configure Pull.
type PullOptions struct {
	// Policy is what the set's signature must satisfy.
	Policy seal.Policy
	// Overwrite replaces files of the same names in the directory.
	Overwrite bool
}

// Pull fetches the set id from s into dir and verifies it before any of
// its files appears there: the ciphertext is hashed as it is written to a
// temporary file, then the signature (under opts.Policy), the checksum line
// and the manifest are checked. On any failure nothing is left in dir.
func Pull(ctx context.Context, s Store, id, dir string, opts PullOptions) (*seal.Report, error) {
	var (
		out   *atomicfile.File
		h     = sha256.New()
		count = &counter{}
	)
	defer func() {
		if out != nil {
			out.Abort()
		}
	}()
	data, err := s.Get(ctx, id, func(name string) (io.Writer, error) {
		if !plainName(name) || !strings.HasSuffix(name, seal.SealedSuffix) {
			return nil, fmt.Errorf("%s: %w: %q is not the name of a sealed file", locate(s, id), ErrRejected, name)
		}
		f, err := atomicfile.Create(filepath.Join(dir, name), opts.Overwrite)
		if err != nil {
			return nil, err
		}
		out = f
		return io.MultiWriter(f, h, count), nil
	})
	if err != nil {
		return nil, err
	}
	got := seal.Digest{Size: count.n}
	h.Sum(got.SHA256[:0])
	final := seal.SidecarsFor(out.Target())
	data.Files = final
	rep, err := seal.VerifyDigest(*data, got, opts.Policy)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", locate(s, id), err)
	}
	// The set verified: write the sidecars beside it and publish all.
	files := []*atomicfile.File{}
	defer func() {
		for _, f := range files {
			f.Abort()
		}
	}()
	for _, sc := range []struct {
		path string
		data []byte
	}{{final.Checksum, data.Checksum}, {final.Manifest, data.Manifest}, {final.Signature, data.Signature}} {
		if sc.data == nil {
			continue
		}
		f, err := atomicfile.Create(sc.path, opts.Overwrite)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		if _, err := f.Write(sc.data); err != nil {
			return nil, fmt.Errorf("%s: %w", sc.path, err)
		}
	}
	files = append(files, out)
	out = nil
	var committed []string
	for _, f := range files {
		if err := f.Commit(); err != nil {
			for _, p := range committed {
				removeQuiet(p)
			}
			return nil, err
		}
		committed = append(committed, f.Target())
	}
	files = nil
	if data.Signature == nil {
		// A signature left from an earlier copy would not match.
		removeQuiet(final.Signature)
		rep.Files.Signature = ""
	}
	return rep, nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// plainName reports whether name is a file name, not a path.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

func removeQuiet(path string) { os.Remove(path) }

// locate is the address of the set id in s.
func locate(s Store, id string) string {
	if _, ok := s.(*ociStore); ok {
		return s.String() + ":" + id
	}
	return s.String() + id
}
