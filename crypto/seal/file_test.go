package seal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/sign"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

const archiveName = "checkpoint-web-7d9f_default-app-2025-01-02T03:04:05Z.tar"

type sealedSet struct {
	dir, archive, sealed string
	plain                []byte
	id                   *age.X25519Identity
	signer               ssh.Signer
	allowed              *sign.AllowedSigners
}

func newSealed(t *testing.T, n int, signed bool) *sealedSet {
	t.Helper()
	s := &sealedSet{dir: t.TempDir()}
	s.archive, s.plain = writeArchive(t, s.dir, archiveName, n)
	s.sealed = s.archive + SealedSuffix
	var r keys.Recipient
	s.id, r = x25519(t)
	opts := Options{
		Recipients: []keys.Recipient{r},
		Node:       "node1",
		Tool:       "ckpt test",
		Now:        func() time.Time { return time.Date(2025, 1, 2, 3, 5, 0, 0, time.UTC) },
		Describe: func(r io.Reader) (archive.Identity, error) {
			io.Copy(io.Discard, r)
			return archive.Identity{Namespace: "default", Pod: "web-7d9f", Container: "app"}, nil
		},
	}
	if signed {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		s.signer, _ = ssh.NewSignerFromKey(priv)
		opts.Signer = s.signer
		key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.signer.PublicKey())))
		var err error
		s.allowed, err = sign.ParseAllowedSigners("allowed", []byte("node1 "+key+"\n"))
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := File(context.Background(), s.sealed, s.archive, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Identity.Pod != "web-7d9f" || res.Manifest.Node != "node1" {
		t.Fatalf("manifest: %+v", res.Manifest)
	}
	return s
}

func (s *sealedSet) policy() Policy {
	return Policy{AllowedSigners: s.allowed, RequireSignature: s.allowed != nil, Now: time.Now()}
}

func (s *sealedSet) open(t *testing.T) ([]byte, error) {
	var out bytes.Buffer
	_, err := Open(context.Background(), &out, s.sealed, OpenOptions{Policy: s.policy(), Identities: []age.Identity{s.id}, Uncommitted: true})
	return out.Bytes(), err
}

func TestFileVerifyOpen(t *testing.T) {
	s := newSealed(t, 2*blockSize+999, true)
	for _, p := range []string{s.sealed, s.sealed + ".sha256", s.sealed + ".json", s.sealed + ".json.sig"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", p, st.Mode())
		}
	}
	line, _ := os.ReadFile(s.sealed + ".sha256")
	ct, _ := os.ReadFile(s.sealed)
	sum := sha256.Sum256(ct)
	if string(line) != hex.EncodeToString(sum[:])+"  "+archiveName+".age\n" {
		t.Errorf("checksum line %q", line)
	}

	rep, err := Verify(context.Background(), s.sealed, VerifyOptions{Policy: s.policy()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Signature == nil || !rep.Signature.Trusted || rep.Plaintext != nil || rep.Manifest.Archive.Name != archiveName {
		t.Errorf("report: %+v", rep)
	}
	var inspected []byte
	rep, err = Verify(context.Background(), s.sealed, VerifyOptions{Policy: s.policy(), Identities: []age.Identity{s.id},
		Inspect: func(r io.Reader) error {
			b, err := io.ReadAll(r)
			inspected = b
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Plaintext == nil || rep.Plaintext.SHA256 != sha256.Sum256(s.plain) || !bytes.Equal(inspected, s.plain) {
		t.Errorf("deep verify: %+v", rep.Plaintext)
	}
	got, err := s.open(t)
	if err != nil || !bytes.Equal(got, s.plain) {
		t.Fatalf("open: %v", err)
	}
	var out bytes.Buffer
	if _, err := Open(context.Background(), &out, s.sealed, OpenOptions{Policy: s.policy(), Identities: []age.Identity{s.id}}); err != nil || !bytes.Equal(out.Bytes(), s.plain) {
		t.Fatalf("open, check first: %v", err)
	}
	// Into a temporary file, which the workers write at their offsets.
	tmp, err := atomicfile.Create(filepath.Join(s.dir, "out.tar"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), tmp, s.sealed, OpenOptions{Policy: s.policy(), Identities: []age.Identity{s.id}, Uncommitted: true}); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(s.dir, "out.tar")); !bytes.Equal(got, s.plain) {
		t.Fatal("open into a file: wrong plaintext")
	}
	out.Reset()
	if _, err := Open(context.Background(), &out, s.sealed, OpenOptions{NoVerify: true, Identities: []age.Identity{s.id}}); err != nil || !bytes.Equal(out.Bytes(), s.plain) {
		t.Fatalf("open without verifying: %v", err)
	}
}

// TestTamper changes one thing at a time and checks the failure class:
// what a receiver sees after a bad transfer or an attack.
func TestTamper(t *testing.T) {
	flip := func(off int64) func(*testing.T, *sealedSet) {
		return func(t *testing.T, s *sealedSet) {
			f, err := os.OpenFile(s.sealed, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b := make([]byte, 1)
			if off < 0 {
				st, _ := f.Stat()
				off += st.Size()
			}
			f.ReadAt(b, off)
			b[0] ^= 0x20
			f.WriteAt(b, off)
		}
	}
	edit := func(suffix, old, new string) func(*testing.T, *sealedSet) {
		return func(t *testing.T, s *sealedSet) {
			p := s.sealed + suffix
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%s has no %q", p, old)
			}
			os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600)
		}
	}
	otherKey := func(t *testing.T, s *sealedSet) { s.id = mustX25519(t) }
	for _, tc := range []struct {
		name   string
		signed bool
		change func(*testing.T, *sealedSet)
		want   error
	}{
		{"header byte", true, flip(30), ErrChecksum},
		{"body byte", true, flip(blockSize + 17), ErrChecksum},
		{"last byte", true, flip(-1), ErrChecksum},
		{"truncated", true, func(t *testing.T, s *sealedSet) { os.Truncate(s.sealed, 70000) }, ErrChecksum},
		{"appended", true, func(t *testing.T, s *sealedSet) {
			f, _ := os.OpenFile(s.sealed, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("x"))
			f.Close()
		}, ErrChecksum},
		{"checksum line digit", true, edit(ChecksumSuffix, "  ", "0  "), ErrChecksum},
		{"checksum line name", true, edit(ChecksumSuffix, ".tar.age", ".tar.agf"), ErrChecksum},
		{"manifest node, signed", true, edit(ManifestSuffix, `"node1"`, `"node2"`), ErrSignature},
		{"manifest node, unsigned", false, edit(ManifestSuffix, `"node1"`, `"node2"`), nil},
		{"manifest not JSON, unsigned", false, edit(ManifestSuffix, "{", "["), ErrManifest},
		{"manifest sealed size, unsigned", false, func(t *testing.T, s *sealedSet) {
			raw, _ := os.ReadFile(s.sealed + ManifestSuffix)
			m, err := ParseManifest(raw)
			if err != nil {
				t.Fatal(err)
			}
			m.Sealed.Size--
			b, _ := m.Marshal()
			os.WriteFile(s.sealed+ManifestSuffix, b, 0o600)
		}, ErrManifest},
		{"signature byte", true, edit(SignatureSuffix, "\n", "\nA"), ErrSignature},
		{"signature removed", true, func(t *testing.T, s *sealedSet) { os.Remove(s.sealed + SignatureSuffix) }, ErrSignature},
		{"signer not allowed", true, func(t *testing.T, s *sealedSet) {
			other, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, 32)))
			s.allowed, _ = sign.ParseAllowedSigners("a", ssh.MarshalAuthorizedKey(other))
			s.allowed, _ = sign.ParseAllowedSigners("a", append([]byte("node1 "), ssh.MarshalAuthorizedKey(other)...))
		}, ErrSignature},
		{"wrong key", true, otherKey, ErrNoIdentity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSealed(t, blockSize+70000, tc.signed)
			tc.change(t, s)
			_, verr := Verify(context.Background(), s.sealed, VerifyOptions{Policy: s.policy(), Identities: []age.Identity{s.id}})
			_, oerr := s.open(t)
			for what, err := range map[string]error{"verify": verr, "open": oerr} {
				if tc.want == nil {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					continue
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("%s: got %v, want %v", what, err, tc.want)
				}
				for _, class := range []error{ErrChecksum, ErrSignature, ErrNoIdentity, ErrCorrupt, ErrManifest} {
					if class != tc.want && errors.Is(err, class) {
						t.Errorf("%s: %v is also %v", what, err, class)
					}
				}
			}
		})
	}
}

// TestManifestPlaintextMismatch: a manifest that names the right ciphertext
// but the wrong plaintext is caught after decryption.
func TestManifestPlaintextMismatch(t *testing.T) {
	s := newSealed(t, 1000, false)
	raw, _ := os.ReadFile(s.sealed + ManifestSuffix)
	m, err := ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	m.Archive.Size++
	b, _ := m.Marshal()
	os.WriteFile(s.sealed+ManifestSuffix, b, 0o600)
	if _, err := Verify(context.Background(), s.sealed, VerifyOptions{}); err != nil {
		t.Errorf("shallow verify: %v", err)
	}
	if _, err := Verify(context.Background(), s.sealed, VerifyOptions{Identities: []age.Identity{s.id}}); !errors.Is(err, ErrManifest) {
		t.Errorf("deep verify: %v", err)
	}
	if _, err := s.open(t); !errors.Is(err, ErrManifest) {
		t.Errorf("open: %v", err)
	}

	// A wrong plaintext hash of the right size: both the deep check and
	// open hash the plaintext.
	m.Archive.Size--
	m.Archive.SHA256 = strings.Repeat("0", 64)
	b, _ = m.Marshal()
	os.WriteFile(s.sealed+ManifestSuffix, b, 0o600)
	if _, err := Verify(context.Background(), s.sealed, VerifyOptions{Identities: []age.Identity{s.id}}); !errors.Is(err, ErrManifest) {
		t.Errorf("deep verify: %v", err)
	}
	if _, err := s.open(t); !errors.Is(err, ErrManifest) {
		t.Errorf("open: %v", err)
	}
}

func TestMissingSidecars(t *testing.T) {
	for _, suffix := range []string{ChecksumSuffix, ManifestSuffix} {
		s := newSealed(t, 10, false)
		os.Remove(s.sealed + suffix)
		_, err := Verify(context.Background(), s.sealed, VerifyOptions{})
		if !errors.Is(err, ErrMissingSidecar) {
			t.Errorf("%s: %v", suffix, err)
		}
	}
}

func TestFileRefusesExisting(t *testing.T) {
	s := newSealed(t, 10, false)
	_, r := x25519(t)
	before, _ := os.ReadFile(s.sealed)
	for _, existing := range []string{s.sealed, s.sealed + ManifestSuffix} {
		dst := filepath.Join(s.dir, "other.age")
		os.WriteFile(strings.Replace(existing, s.sealed, dst, 1), []byte("x"), 0o600)
		_, err := File(context.Background(), dst, s.archive, Options{Recipients: []keys.Recipient{r}})
		if !errors.Is(err, atomicfile.ErrExists) {
			t.Errorf("%s: %v", existing, err)
		}
		entries, _ := os.ReadDir(s.dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file left: %s", e.Name())
			}
		}
		os.Remove(strings.Replace(existing, s.sealed, dst, 1))
	}
	if after, _ := os.ReadFile(s.sealed); !bytes.Equal(before, after) {
		t.Error("sealed file changed")
	}
	if _, err := File(context.Background(), s.sealed, s.archive, Options{Recipients: []keys.Recipient{r}, Overwrite: true}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}

// A failure after the sealed file was committed (here the signer) leaves
// nothing behind.
func TestFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	archive, _ := writeArchive(t, dir, "a.tar", 5000)
	_, r := x25519(t)
	_, err := File(context.Background(), archive+".age", archive, Options{Recipients: []keys.Recipient{r}, Signer: failingSigner{}})
	if err == nil {
		t.Fatal("no error")
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"a.tar"}) {
		t.Errorf("left behind: %v", names)
	}
	// Reading a directory as an archive fails cleanly too.
	if _, err := File(context.Background(), filepath.Join(dir, "d.age"), dir, Options{Recipients: []keys.Recipient{r}}); err == nil {
		t.Error("sealed a directory")
	}
}

type failingSigner struct{}

func (failingSigner) PublicKey() ssh.PublicKey {
	k, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, 32)))
	return k
}
func (failingSigner) Sign(io.Reader, []byte) (*ssh.Signature, error) {
	return nil, errors.New("signer unplugged")
}

func TestFileReadBack(t *testing.T) {
	dir := t.TempDir()
	archive, _ := writeArchive(t, dir, "a.tar", 3*blockSize)
	_, r := x25519(t)
	res, err := File(context.Background(), archive+".age", archive, Options{Recipients: []keys.Recipient{r}, ReadBack: true})
	if err != nil || !res.ReadBack {
		t.Fatalf("%+v %v", res, err)
	}
	// readBack itself notices a file that is not what was written.
	if err := readBack(context.Background(), archive, Digest{Size: 3 * blockSize}); !errors.Is(err, ErrChecksum) {
		t.Errorf("mismatch: %v", err)
	}
}

func TestDecrypterClasses(t *testing.T) {
	id, r := x25519(t)
	var ct bytes.Buffer
	data := benchData(3 * 65536)
	if _, err := Seal(context.Background(), &ct, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r}}); err != nil {
		t.Fatal(err)
	}
	d := NewDecrypter(id)
	read := func(d *Decrypter, b []byte) error {
		pr, err := d.Decrypt(bytes.NewReader(b))
		if err != nil {
			return err
		}
		_, err = io.ReadAll(pr)
		return err
	}
	readAt := func(d *Decrypter, b []byte) error {
		ra, n, err := d.DecryptReaderAt(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return err
		}
		_, err = io.ReadAll(io.NewSectionReader(ra, 0, n))
		return err
	}
	body := bytes.Clone(ct.Bytes())
	body[len(body)-70000] ^= 1
	for _, tc := range []struct {
		name string
		b    []byte
		d    *Decrypter
		want error
	}{
		{"ok", ct.Bytes(), d, nil},
		{"wrong key", ct.Bytes(), NewDecrypter(mustX25519(t)), ErrNoIdentity},
		{"body", body, d, ErrCorrupt},
		{"truncated mid-chunk", ct.Bytes()[:ct.Len()-1000], d, ErrCorrupt},
		{"truncated at a chunk", ct.Bytes()[:ct.Len()-(ct.Len()-200)%65552], d, ErrCorrupt},
		{"not age", []byte("hello, world\n"), d, ErrCorrupt},
		{"empty", nil, d, ErrCorrupt},
	} {
		for name, f := range map[string]func(*Decrypter, []byte) error{"Decrypt": read, "DecryptReaderAt": readAt} {
			err := f(tc.d, tc.b)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%s, %s: got %v, want %v", tc.name, name, err, tc.want)
			}
		}
	}
	// An I/O error of the source is not corruption.
	_, err := d.Decrypt(&failingReader{bytes.NewReader(ct.Bytes()), 10})
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "input/output error") {
		t.Errorf("source error: %v", err)
	}
}

func TestOpenArmored(t *testing.T) {
	id, r := x25519(t)
	data := benchData(200000)
	var ct bytes.Buffer
	aw := armor.NewWriter(&ct)
	if _, err := Seal(context.Background(), aw, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r}}); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	p := filepath.Join(t.TempDir(), "a.age")
	os.WriteFile(p, ct.Bytes(), 0o600)
	var out bytes.Buffer
	if _, err := Open(context.Background(), &out, p, OpenOptions{NoVerify: true, Identities: []age.Identity{id}}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("file: %v", err)
	}
	out.Reset()
	if _, err := OpenReader(context.Background(), &out, bytes.NewReader(ct.Bytes()), OpenOptions{Identities: []age.Identity{id}}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("stream: %v", err)
	}
	bad := bytes.Replace(ct.Bytes(), []byte("\n"), []byte("\n!"), 3)
	if _, err := OpenReader(context.Background(), io.Discard, bytes.NewReader(bad), OpenOptions{Identities: []age.Identity{id}}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("broken armor: %v", err)
	}
}

func TestVerifyInspectFailure(t *testing.T) {
	s := newSealed(t, 3*blockSize, false)
	bad := errors.New("pstree.img: truncated")
	_, err := Verify(context.Background(), s.sealed, VerifyOptions{Identities: []age.Identity{s.id}, Inspect: func(r io.Reader) error {
		io.CopyN(io.Discard, r, 1000)
		return bad
	}})
	if !errors.Is(err, bad) {
		t.Fatalf("got %v", err)
	}
	for _, class := range []error{ErrChecksum, ErrSignature, ErrNoIdentity, ErrCorrupt, ErrManifest} {
		if errors.Is(err, class) {
			t.Errorf("%v is %v", err, class)
		}
	}
}

// The archive reader's Decrypter interface, restated: seal must not import
// archive, and must keep satisfying it.
var _ interface {
	Decrypt(src io.Reader) (io.Reader, error)
	DecryptReaderAt(src io.ReaderAt, size int64) (io.ReaderAt, int64, error)
} = (*Decrypter)(nil)

func TestFileRefusesItself(t *testing.T) {
	dir := t.TempDir()
	archive, data := writeArchive(t, dir, "a.tar", 1000)
	_, r := x25519(t)
	if _, err := File(context.Background(), archive, archive, Options{Recipients: []keys.Recipient{r}, Overwrite: true}); err == nil {
		t.Fatal("sealed the archive over itself")
	}
	if got, _ := os.ReadFile(archive); !bytes.Equal(got, data) {
		t.Fatal("the archive changed")
	}
}

// A process killed after any step of a publication leaves a directory
// that the next seal (recoverSet) makes hold the old set or the new one,
// whole, with nothing else beside it; and Recover does the same for a
// directory.
func TestPublicationKilledAtEveryStep(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new []string // suffixes of the set's files ("" is the sealed file)
	}{
		{"unsigned over signed", []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}, []string{"", ChecksumSuffix, ManifestSuffix}},
		{"signed over unsigned", []string{"", ChecksumSuffix, ManifestSuffix}, []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}},
		{"signed over signed", []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}, []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}},
		{"sidecars only (a stream)", []string{ChecksumSuffix, ManifestSuffix}, []string{ChecksumSuffix, ManifestSuffix, SignatureSuffix}},
	} {
		for _, viaDir := range []bool{false, true} {
			steps := 0
			for k := 0; ; k++ {
				dir := t.TempDir()
				sealed := filepath.Join(dir, "checkpoint-a_b-c-2026-12-07T00:00:00Z.tar.age")
				for _, s := range tc.old {
					if err := os.WriteFile(sealed+s, []byte("old"+s), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				var staged []*atomicfile.File
				for _, s := range tc.new {
					f, err := atomicfile.Create(sealed+s, true)
					if err != nil {
						t.Fatal(err)
					}
					f.Write([]byte("new" + s))
					staged = append(staged, f)
				}
				stale := ""
				if slices.Contains(tc.old, SignatureSuffix) && !slices.Contains(tc.new, SignatureSuffix) {
					stale = sealed + SignatureSuffix
				}
				p := newPublication(staged, stale)
				all := p.steps()
				steps = len(all)
				for _, step := range all[:k] {
					if err := step(); err != nil {
						t.Fatalf("%s: step: %v", tc.name, err)
					}
				}
				abortAll(staged) // the kill: unnamed files vanish
				var err error
				if viaDir {
					// Recover skips running processes, this one included:
					// rename the kept names as a dead process's.
					renameKept(t, dir, os.Getpid(), 4194303)
					_, err = recoverDir(dir, func(int) bool { return false })
				} else {
					_, err = recoverSet(sealed, func(int) bool { return false })
				}
				if err != nil {
					t.Fatalf("%s, killed after %d steps: %v", tc.name, k, err)
				}
				got := setOnDisk(t, dir)
				switch {
				case sameSet(got, tc.old, "old"):
					if k == steps {
						t.Errorf("%s: after a whole publication the old set is back", tc.name)
					}
				case sameSet(got, tc.new, "new"):
					if k == 0 {
						t.Errorf("%s: a publication that never started left the new set", tc.name)
					}
				default:
					t.Errorf("%s, killed after %d of %d steps (dir %v): the directory holds %v", tc.name, k, steps, viaDir, got)
				}
				if k >= steps {
					break
				}
			}
		}
	}
}

// setOnDisk maps each file in dir, by suffix after the sealed file's name,
// to its content; other names are reported whole.
func setOnDisk(t *testing.T, dir string) map[string]string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if strings.HasPrefix(e.Name(), ".") {
			got[e.Name()] = "LEFT OVER"
			continue
		}
		got[strings.TrimPrefix(e.Name(), "checkpoint-a_b-c-2026-12-07T00:00:00Z.tar.age")] = string(b)
	}
	return got
}

func sameSet(got map[string]string, want []string, which string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, s := range want {
		if got[s] != which+s {
			return false
		}
	}
	return true
}

func renameKept(t *testing.T, dir string, from, to int) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		for _, kind := range []string{keptPrev, keptNew} {
			if name, ok := strings.CutSuffix(e.Name(), kind+strconv.Itoa(from)); ok {
				if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(dir, name+kind+strconv.Itoa(to))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestKeptSet(t *testing.T) {
	for name, want := range map[string]string{
		".x.tar.age.prev-12":             "x.tar.age",
		".x.tar.age.json.sig.new-7":      "x.tar.age",
		".x.tar.age.sha256.prev-4194303": "x.tar.age",
		".x.tar.age.json.prev-1":         "x.tar.age",
		".x.json.prev-1":                 "", // not a .age set: ambiguous
		".x.tar.age.prev-012":            "",
		".x.tar.age.prev-":               "",
		"x.tar.age.prev-1":               "",
		".x.tar.age.tmp-1-abcdefabcdef":  "",
		".age.prev-1":                    "",
	} {
		got, ok := keptSet(name)
		if got != want || ok != (want != "") {
			t.Errorf("keptSet(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

// Stream writes the ciphertext to a stream and the sidecars beside the
// path it is meant to have: stored there, the set verifies and opens.
// Existing sidecars are refused before anything is written.
func TestStream(t *testing.T) {
	dir := t.TempDir()
	_, plain := writeArchive(t, dir, archiveName, 3*blockSize+5)
	id, r := x25519(t)
	sealed := filepath.Join(dir, "stored.age")
	var ct bytes.Buffer
	res, err := Stream(context.Background(), &ct, bytes.NewReader(plain), sealed, Options{Recipients: []keys.Recipient{r}, Name: archiveName})
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Archive.Name != archiveName || res.Manifest.Sealed.Name != "stored.age" || res.Files.Checksum != sealed+ChecksumSuffix {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(sealed); !isNotExist(err) {
		t.Fatalf("Stream wrote the sealed file itself: %v", err)
	}
	if err := os.WriteFile(sealed, ct.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Open(context.Background(), &out, sealed, OpenOptions{Identities: []age.Identity{id}}); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("open: %v", err)
	}
	var again bytes.Buffer
	if _, err := Stream(context.Background(), &again, bytes.NewReader(plain), sealed, Options{Recipients: []keys.Recipient{r}}); !errors.Is(err, atomicfile.ErrExists) || again.Len() != 0 {
		t.Fatalf("existing sidecars: %v, %d bytes written", err, again.Len())
	}
}
