package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

func ed25519Key(t *testing.T) (ed25519.PrivateKey, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return priv, sp
}

func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestParseRecipient(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	_, edPub := ed25519Key(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, _ := ssh.NewPublicKey(&rsaKey.PublicKey)

	for _, tc := range []struct {
		in, typ, fp string
	}{
		{x.Recipient().String(), TypeX25519, Fingerprint(x.Recipient().String())},
		{"  " + x.Recipient().String() + "\n", TypeX25519, Fingerprint(x.Recipient().String())},
		{pq.Recipient().String(), TypeHybrid, Fingerprint(pq.Recipient().String())},
		{authorized(edPub) + " alice@laptop", TypeSSHEd25519, ssh.FingerprintSHA256(edPub)},
		{`from="10.0.0.0/8",no-pty ` + authorized(edPub), TypeSSHEd25519, ssh.FingerprintSHA256(edPub)},
		{authorized(rsaPub), TypeSSHRSA, ssh.FingerprintSHA256(rsaPub)},
	} {
		r, err := ParseRecipient(tc.in)
		if err != nil {
			t.Errorf("%.30q: %v", tc.in, err)
			continue
		}
		if r.Type != tc.typ || r.Fingerprint != tc.fp {
			t.Errorf("%.30q: type %q fp %q, want %q %q", tc.in, r.Type, r.Fingerprint, tc.typ, tc.fp)
		}
	}

	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallPub, _ := ssh.NewPublicKey(&small.PublicKey)
	for _, tc := range []struct{ in, want string }{
		{x.String(), "secret key"},
		{"age1tag1qqqq", "tagged"},
		{"age1yubikey1qqqqqqqq", "plugin"},
		{"age1notbech32", "malformed"},
		{"age1pq1garbage", "malformed"},
		{authorized(smallPub), "2048"},
		{"github:alice", "unknown recipient"},
		{"", "unknown recipient"},
	} {
		_, err := ParseRecipient(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.30q: got %v, want an error about %q", tc.in, err, tc.want)
		}
		if err != nil && strings.HasPrefix(tc.in, "AGE-SECRET") && strings.Contains(err.Error(), tc.in[:20]) {
			t.Errorf("the error quotes the secret key: %v", err)
		}
	}
}

func TestParseRecipientsFile(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	_, edPub := ed25519Key(t)
	ecdsa := "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg= ecdsa@host"
	file := strings.Join([]string{
		"# team keys",
		"",
		x.Recipient().String(),
		"   # indented comment",
		`no-port-forwarding ` + authorized(edPub) + " bob",
		ecdsa,
		x.Recipient().String(), // duplicate
	}, "\n")
	rs, skipped, err := ParseRecipientsFile("team.txt", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || len(skipped) != 1 || !strings.Contains(skipped[0], "line 6") {
		t.Fatalf("got %d recipients, skipped %q", len(rs), skipped)
	}
	if d := Dedup(rs); len(d) != 2 {
		t.Errorf("Dedup kept %d", len(d))
	}

	for _, tc := range []struct{ file, want string }{
		{"", "no recipients"},
		{"# only comments\n", "no recipients"},
		{ecdsa + "\n", "no recipients"},
		{x.Recipient().String() + "\nbogus\n", "line 2: malformed"},
		{x.String() + "\n", "identity (secret key) file"},
		{"\xff\xfe\n", "UTF-8"},
		{strings.Repeat("a", maxLine+10) + "\n", "too long"},
	} {
		_, _, err := ParseRecipientsFile("f", strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.30q: got %v, want %q", tc.file, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "bogus") {
			t.Errorf("error quotes the file: %v", err)
		}
	}
}

func TestCheckMix(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	rx, _ := ParseRecipient(x.Recipient().String())
	rpq, _ := ParseRecipient(pq.Recipient().String())
	pass, _ := NewPassphrase([]byte("correct horse"))
	if err := CheckMix([]Recipient{rx, rx}); err != nil {
		t.Error(err)
	}
	if err := CheckMix([]Recipient{rpq}); err != nil {
		t.Error(err)
	}
	if err := CheckMix([]Recipient{pass}); err != nil {
		t.Error(err)
	}
	if err := CheckMix([]Recipient{rx, pass}); !errors.Is(err, ErrPassphraseNotAlone) {
		t.Errorf("passphrase + key: %v", err)
	}
	if err := CheckMix([]Recipient{rpq, rx}); !errors.Is(err, ErrMixedPostQuantum) {
		t.Errorf("pq + classic: %v", err)
	}
	if err := CheckMix(nil); err == nil {
		t.Error("no recipients accepted")
	}
	if _, err := NewPassphrase(nil); err == nil {
		t.Error("empty passphrase accepted")
	}
}

// encryptTo seals msg to the identities' recipients.
func encryptTo(t *testing.T, msg string, rs ...age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, rs...)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, msg)
	w.Close()
	return b.Bytes()
}

func decrypt(ids []age.Identity, ct []byte) (string, error) {
	r, err := age.Decrypt(bytes.NewReader(ct), ids...)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// countingPrompt answers with pass and counts the questions.
type countingPrompt struct {
	pass  string
	asked int
}

func (c *countingPrompt) prompt(string) ([]byte, error) {
	c.asked++
	return []byte(c.pass), nil
}

func TestParseIdentitiesNative(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	file := "# created: now\n# public key: " + x.Recipient().String() + "\n" + x.String() + "\n\n" + pq.String() + "\n"
	ids, err := ParseIdentities("key.txt", []byte(file), nil)
	if err != nil || len(ids) != 2 {
		t.Fatalf("%d identities, %v", len(ids), err)
	}
	if got, err := decrypt(ids, encryptTo(t, "hi", pq.Recipient())); err != nil || got != "hi" {
		t.Errorf("pq: %q %v", got, err)
	}
	if rs, err := RecipientsOf(ids); err != nil || rs[0] != x.Recipient().String() || rs[1] != pq.Recipient().String() {
		t.Errorf("RecipientsOf: %v %v", rs, err)
	}
	for _, tc := range []struct{ file, want string }{
		{"", "no identities"},
		{x.Recipient().String(), "recipient"},
		{"AGE-PLUGIN-YUBIKEY-1QQQ", "plugin"},
		{"AGE-SECRET-KEY-1BROKEN", "malformed"},
		{"hello", "not an age identity"},
		{authorized(mustPub(t)), "public key"},
	} {
		_, err := ParseIdentities("f", []byte(tc.file), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.30q: got %v, want %q", tc.file, err, tc.want)
		}
	}
}

func mustPub(t *testing.T) ssh.PublicKey {
	_, p := ed25519Key(t)
	return p
}

func TestParseIdentitiesSSH(t *testing.T) {
	priv, pub := ed25519Key(t)
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	plain := pem.EncodeToMemory(block)
	ids, err := ParseIdentities("id_ed25519", plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := ParseRecipient(authorized(pub))
	ct := encryptTo(t, "ssh", r.Recipient)
	if got, err := decrypt(ids, ct); err != nil || got != "ssh" {
		t.Fatalf("plain key: %q %v", got, err)
	}

	block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte("sesame"))
	if err != nil {
		t.Fatal(err)
	}
	enc := pem.EncodeToMemory(block)
	other, _ := age.GenerateX25519Identity()

	// The passphrase is asked only for a file sealed to this key.
	p := &countingPrompt{pass: "sesame"}
	ids, err = ParseIdentities("id_enc", enc, p.prompt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decrypt(ids, encryptTo(t, "x", other.Recipient())); err == nil || p.asked != 0 {
		t.Errorf("file for another key: err %v, asked %d times", err, p.asked)
	}
	if got, err := decrypt(ids, ct); err != nil || got != "ssh" || p.asked != 1 {
		t.Errorf("encrypted key: %q %v, asked %d", got, err, p.asked)
	}
	if _, err := decrypt(ids, ct); err != nil || p.asked != 1 {
		t.Errorf("second file asked again (%d) or failed: %v", p.asked, err)
	}

	wrong := &countingPrompt{pass: "nope"}
	ids, _ = ParseIdentities("id_enc", enc, wrong.prompt)
	if _, err := decrypt(ids, ct); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	ids, _ = ParseIdentities("id_enc", enc, nil)
	var pe *PromptError
	if _, err := decrypt(ids, ct); !errors.As(err, &pe) {
		t.Errorf("no prompt: %v", err)
	}
	if _, err := ParseIdentities("bad", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----\n"), nil); err == nil {
		t.Error("garbage key accepted")
	}
}

func TestEncryptedIdentityFile(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	pass, _ := age.NewScryptRecipient("sesame")
	pass.SetWorkFactor(10)
	bin := encryptTo(t, x.String()+"\n", pass)
	var armored bytes.Buffer
	aw := armor.NewWriter(&armored)
	aw.Write(bin)
	aw.Close()
	ct := encryptTo(t, "payload", x.Recipient())
	for name, file := range map[string][]byte{"binary": bin, "armored": armored.Bytes()} {
		p := &countingPrompt{pass: "sesame"}
		ids, err := ParseIdentities(name, file, p.prompt)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := decrypt(ids, ct); err != nil || got != "payload" || p.asked != 1 {
			t.Errorf("%s: %q %v asked %d", name, got, err, p.asked)
		}
		wrong := &countingPrompt{pass: "nope"}
		ids, _ = ParseIdentities(name, file, wrong.prompt)
		if _, err := decrypt(ids, ct); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("%s wrong passphrase: %v", name, err)
		}
	}
}

func TestPassphraseIdentity(t *testing.T) {
	r, _ := age.NewScryptRecipient("sesame")
	r.SetWorkFactor(10)
	ct := encryptTo(t, "secret", r)
	p := &countingPrompt{pass: "sesame"}
	id := NewPassphraseIdentity(func() ([]byte, error) { return p.prompt("") })
	if got, err := decrypt([]age.Identity{id}, ct); err != nil || got != "secret" {
		t.Fatalf("%q %v", got, err)
	}
	wrong := NewPassphraseIdentity(func() ([]byte, error) { return []byte("nope"), nil })
	if _, err := decrypt([]age.Identity{wrong}, ct); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong: %v", err)
	}
	// Not asked for a file sealed to a key.
	x, _ := age.GenerateX25519Identity()
	p.asked = 0
	if _, err := decrypt([]age.Identity{id}, encryptTo(t, "k", x.Recipient())); err == nil || p.asked != 0 {
		t.Errorf("asked %d for a key-sealed file (%v)", p.asked, err)
	}
	failing := NewPassphraseIdentity(func() ([]byte, error) { return nil, errors.New("no tty") })
	var pe *PromptError
	if _, err := decrypt([]age.Identity{failing}, ct); !errors.As(err, &pe) {
		t.Errorf("prompt failure: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	for _, pq := range []bool{false, true} {
		k, err := Generate(pq, time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		wantType, prefix := TypeX25519, "age1"
		if pq {
			wantType, prefix = TypeHybrid, "age1pq1"
		}
		if k.Type != wantType || !strings.HasPrefix(k.Recipient, prefix) {
			t.Errorf("pq=%v: %s %s", pq, k.Type, k.Recipient)
		}
		if !strings.HasPrefix(string(k.File()), "# created: 2025-01-02T03:04:05Z\n# public key: "+k.Recipient+"\n") {
			t.Errorf("file: %q", k.File())
		}
		path := filepath.Join(dir, wantType)
		os.WriteFile(path, k.File(), 0o600)
		ids, err := ReadIdentityFile(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Stock age's parser reads the file too.
		if _, err := age.ParseIdentities(bytes.NewReader(k.File())); err != nil {
			t.Errorf("age.ParseIdentities: %v", err)
		}
		r, _ := ParseRecipient(k.Recipient)
		if got, err := decrypt(ids, encryptTo(t, "k", r.Recipient)); err != nil || got != "k" {
			t.Errorf("round trip: %v", err)
		}
	}
}

func TestDescribe(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	if got := Describe(x); got != "X25519 "+Fingerprint(x.Recipient().String()) {
		t.Errorf("got %q", got)
	}
}

func FuzzParseRecipientsFile(f *testing.F) {
	f.Add("# team\nage1qmewj53va5p0f8938hyyrc7hyt5u03xatmgpesn5at4hu4cysq4s5pfc72\n")
	f.Add(`no-pty,from="a,b" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILeotMJl29ZCKt7+pXpBWTxbr/HQN9ShgXA3OzT70Clb node1` + "\n")
	f.Add("age1pq1\nage1tag1x\nAGE-SECRET-KEY-1X\n")
	f.Fuzz(func(t *testing.T, file string) {
		rs, _, err := ParseRecipientsFile("f", strings.NewReader(file))
		if err != nil {
			if strings.Contains(err.Error(), "AGE-SECRET-KEY-1") {
				t.Fatalf("error quotes a secret: %v", err)
			}
			return
		}
		for _, r := range rs {
			if r.Recipient == nil || r.Type == "" || r.Fingerprint == "" {
				t.Fatalf("incomplete recipient %+v", r)
			}
		}
	})
}

func FuzzParseIdentities(f *testing.F) {
	f.Add([]byte("# created\nAGE-SECRET-KEY-1DULJSFQ304FKHTUC992075DK8GJUU96WRGM9P33QDF9HJ9S9NRZQDSZ70S\n"))
	f.Add([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n"))
	f.Add([]byte("age-encryption.org/v1\n-> scrypt x 10\nbody\n--- mac\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseIdentities("f", data, nil)
		if err != nil {
			if bytes.Contains([]byte(err.Error()), []byte("AGE-SECRET-KEY-1")) {
				t.Fatalf("error quotes a secret: %v", err)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatal("no identities and no error")
		}
	})
}
