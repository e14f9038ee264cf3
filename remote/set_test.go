package remote_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/crypto/sign"
)

// kubeletName is an archive name as the kubelet writes it, colons and all.
const kubeletName = "checkpoint-web-7d9c_prod-app-2026-12-06T21:40:00Z.tar"

// testIdentity is what the sealed test archives say they are.
var testIdentity = archive.Identity{
	Namespace: "prod", Pod: "web-7d9c", Container: "app", Image: "registry.example/app:1.2",
	Engine: "CRI-O", Runtime: "runc", CRIUVersion: "4.2",
	Checkpointed: time.Date(2026, 12, 6, 21, 40, 0, 0, time.UTC),
}

// sealedSet seals size random bytes called name into dir, signed by a new
// key, and returns the sealed file's path and an allowed signers list
// that accepts the key as node1.
func sealedSet(t testing.TB, dir, name string, size int64) (string, *sign.AllowedSigners) {
	t.Helper()
	plain := filepath.Join(t.TempDir(), name)
	f, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	key, err := keys.Generate(false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := keys.ParseRecipient(key.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name+seal.SealedSuffix)
	_, err = seal.File(context.Background(), dst, plain, seal.Options{
		Describe: func(r io.Reader) (archive.Identity, error) {
			_, err := io.Copy(io.Discard, r)
			return testIdentity, err
		},
		Recipients: []keys.Recipient{rcpt}, Signer: signer, Node: "node1", Tool: "ckpt test",
	})
	if err != nil {
		t.Fatal(err)
	}
	line := "node1 namespaces=\"" + sign.Namespace + "\" " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + "\n"
	allowed, err := sign.ParseAllowedSigners("allowed_signers", []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return dst, allowed
}

// otherSigners accepts a key that signed nothing here.
func otherSigners(t testing.TB) *sign.AllowedSigners {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := ssh.NewSignerFromKey(priv)
	line := "node1 namespaces=\"" + sign.Namespace + "\" " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey()))) + "\n"
	a, err := sign.ParseAllowedSigners("other", []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sameFiles fails unless dir holds exactly the set of src, byte for byte.
func sameFiles(t testing.TB, src, dir string) {
	t.Helper()
	want := seal.SidecarsFor(src)
	var names []string
	for _, p := range []string{want.Sealed, want.Checksum, want.Manifest, want.Signature} {
		a, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got := filepath.Join(dir, filepath.Base(p))
		b, err := os.ReadFile(got)
		if err != nil {
			t.Fatalf("pulled set: %v", err)
		}
		if string(a) != string(b) {
			t.Fatalf("%s differs from what was pushed", got)
		}
		st, _ := os.Stat(got)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 0600", got, st.Mode().Perm())
		}
		names = append(names, filepath.Base(p))
	}
	emptyBut(t, dir, names...)
}

// emptyBut fails unless dir holds exactly names.
func emptyBut(t testing.TB, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name()] = true
	}
	for _, n := range names {
		if !have[n] {
			t.Errorf("%s missing from %s", n, dir)
		}
		delete(have, n)
	}
	for n := range have {
		t.Errorf("%s left in %s", n, dir)
	}
}
