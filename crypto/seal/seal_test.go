package seal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
)

var sizes = []int{0, 1, 65535, 65536, 65537, blockSize - 1, blockSize, blockSize + 1, 3*blockSize + 12345}

func x25519(t testing.TB) (*age.X25519Identity, keys.Recipient) {
	t.Helper()
	id := mustX25519(t)
	r, err := keys.ParseRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	return id, r
}

func TestSealRoundTrip(t *testing.T) {
	id, r := x25519(t)
	for _, n := range sizes {
		data := benchData(n)
		var ct bytes.Buffer
		var described []byte
		res, err := Seal(context.Background(), &ct, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r},
			Describe: func(p io.Reader) (archive.Identity, error) {
				b, err := io.ReadAll(p)
				described = b
				return archive.Identity{Pod: "p"}, err
			},
		})
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if !bytes.Equal(described, data) {
			t.Errorf("%d: Describe saw %d bytes, want the %d of the plaintext", n, len(described), n)
		}
		if res.Identity.Pod != "p" || res.DescribeErr != nil {
			t.Errorf("%d: info %+v, err %v", n, res.Identity, res.DescribeErr)
		}
		if res.Plaintext.Size != int64(n) || res.Plaintext.SHA256 != sha256.Sum256(data) {
			t.Errorf("%d: plaintext digest wrong: %+v", n, res.Plaintext)
		}
		if res.Ciphertext.Size != int64(ct.Len()) || res.Ciphertext.SHA256 != sha256.Sum256(ct.Bytes()) {
			t.Errorf("%d: ciphertext digest wrong", n)
		}
		// Both of age's decryption APIs and ours give the plaintext back.
		r, err := age.Decrypt(bytes.NewReader(ct.Bytes()), id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d: age.Decrypt: %v", n, err)
		}
		var out bytes.Buffer
		dig, err := decryptAt(context.Background(), NewDecrypter(id), bytes.NewReader(ct.Bytes()), int64(ct.Len()), output{sink: func(p []byte) error {
			out.Write(p)
			return nil
		}}, nil)
		if err != nil || !bytes.Equal(out.Bytes(), data) || dig != res.Plaintext {
			t.Fatalf("%d: decryptAt: %v", n, err)
		}
		// Workers writing at offsets give the same bytes.
		var at writerAtBuffer
		dig, err = decryptAt(context.Background(), NewDecrypter(id), bytes.NewReader(ct.Bytes()), int64(ct.Len()), output{at: &at}, nil)
		out.Reset()
		out.Write(at.b)
		if err != nil || !bytes.Equal(out.Bytes(), data) || dig != res.Plaintext {
			t.Fatalf("%d: decryptAt: %v", n, err)
		}
		out.Reset()
		rep, err := OpenReader(context.Background(), &out, bytes.NewReader(ct.Bytes()), OpenOptions{Identities: []age.Identity{id}})
		if err != nil || !bytes.Equal(out.Bytes(), data) || *rep.Plaintext != res.Plaintext {
			t.Fatalf("%d: OpenReader: %v", n, err)
		}
	}
}

// A Describe hook that stops early or skips with Seek must not stall or
// change the seal.
func TestSealDescribeEarlyReturnAndSeek(t *testing.T) {
	_, r := x25519(t)
	data := benchData(5*blockSize + 7)
	for name, describe := range map[string]func(io.Reader) (archive.Identity, error){
		"returns at once": func(io.Reader) (archive.Identity, error) { return archive.Identity{}, errors.New("not a checkpoint") },
		"seeks": func(p io.Reader) (archive.Identity, error) {
			s := p.(io.ReadSeeker)
			if _, err := s.Seek(3*blockSize+5, io.SeekCurrent); err != nil {
				return archive.Identity{}, err
			}
			b := make([]byte, 4)
			if _, err := io.ReadFull(s, b); err != nil {
				return archive.Identity{}, err
			}
			if !bytes.Equal(b, data[3*blockSize+5:3*blockSize+9]) {
				return archive.Identity{}, errors.New("seek landed in the wrong place")
			}
			pos, _ := s.Seek(0, io.SeekCurrent)
			if pos != 3*blockSize+9 {
				return archive.Identity{}, errors.New("wrong position")
			}
			return archive.Identity{Pod: "seeked"}, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Seal(context.Background(), io.Discard, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r}, Describe: describe})
			if err != nil {
				t.Fatal(err)
			}
			if res.Plaintext.SHA256 != sha256.Sum256(data) {
				t.Fatal("plaintext hash changed")
			}
			if name == "seeks" && (res.DescribeErr != nil || res.Identity.Pod != "seeked") {
				t.Fatalf("describe: %v %+v", res.DescribeErr, res.Identity)
			}
			if name == "returns at once" && res.DescribeErr == nil {
				t.Fatal("DescribeErr lost")
			}
		})
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

type failingReader struct {
	r     io.Reader
	after int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("input/output error")
	}
	n, err := f.r.Read(p[:min(len(p), f.after)])
	f.after -= n
	return n, err
}

func TestSealErrors(t *testing.T) {
	_, r := x25519(t)
	data := benchData(4 * blockSize)
	if _, err := Seal(context.Background(), &failingWriter{after: blockSize}, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r}}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: got %v", err)
	}
	if _, err := Seal(context.Background(), io.Discard, &failingReader{bytes.NewReader(data), 2*blockSize + 3}, Options{Recipients: []keys.Recipient{r}}); err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Errorf("read error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Seal(ctx, io.Discard, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	if _, err := Seal(context.Background(), io.Discard, bytes.NewReader(data), Options{}); err == nil {
		t.Error("no recipients accepted")
	}
	pass, _ := keys.NewPassphrase([]byte("x"))
	if _, err := Seal(context.Background(), io.Discard, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r, pass}}); err == nil || !strings.Contains(err.Error(), "only recipient") {
		t.Errorf("passphrase mixed: got %v", err)
	}
}

// writeArchive writes n bytes of test data as an archive file in dir.
func writeArchive(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	data := benchData(n)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// writerAtBuffer is an in-memory io.WriterAt.
type writerAtBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (w *writerAtBuffer) WriteAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if end := int(off) + len(p); end > len(w.b) {
		w.b = append(w.b, make([]byte, end-len(w.b))...)
	}
	copy(w.b[off:], p)
	return len(p), nil
}
