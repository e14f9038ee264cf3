package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func line(principals, options string, k ssh.PublicKey) string {
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	if options != "" {
		return principals + " " + options + " " + key + " comment here"
	}
	return principals + " " + key
}

func allowed(t *testing.T, lines ...string) *AllowedSigners {
	t.Helper()
	a, err := ParseAllowedSigners("allowed_signers", []byte(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestSignVerify(t *testing.T) {
	s := newSigner(t)
	msg := []byte(`{"format":"ckpt-manifest/v1"}` + "\n")
	sig, err := Sign(msg, s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sig, []byte("-----BEGIN SSH SIGNATURE-----\n")) {
		t.Fatalf("not armored: %q", sig)
	}
	v, err := Verify(msg, sig, nil, "", now)
	if err != nil || v.Trusted || v.Fingerprint != ssh.FingerprintSHA256(s.PublicKey()) {
		t.Fatalf("untrusted verify: %+v %v", v, err)
	}
	a := allowed(t, "# nodes", "", line("node1,node2", "", s.PublicKey()))
	v, err = Verify(msg, sig, a, "", now)
	if err != nil || !v.Trusted || strings.Join(v.Principals, ",") != "node1,node2" {
		t.Fatalf("trusted verify: %+v %v", v, err)
	}
	v, err = Verify(msg, sig, a, "node2", now)
	if err != nil || strings.Join(v.Principals, ",") != "node2" {
		t.Fatalf("with principal: %+v %v", v, err)
	}

	// Any change to the message or the signature fails.
	if _, err := Verify(append([]byte("x"), msg...), sig, a, "", now); !errors.Is(err, ErrInvalid) {
		t.Errorf("changed message: %v", err)
	}
	for i := 40; i < len(sig)-40; i += 37 {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x01
		if _, err := Verify(msg, bad, a, "", now); err == nil {
			t.Errorf("flipped byte %d accepted", i)
		}
	}
	if _, err := Verify(msg, []byte("not a signature"), a, "", now); !errors.Is(err, ErrInvalid) {
		t.Errorf("garbage: %v", err)
	}
}

func TestVerifyRejectsOtherNamespace(t *testing.T) {
	s := newSigner(t)
	msg := []byte("manifest")
	sig, err := sshsig.Sign(bytes.NewReader(msg), s, sshsig.HashSHA512, "file")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(msg, sshsig.Armor(sig), nil, "", now); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"file"`) {
		t.Errorf("namespace file accepted: %v", err)
	}
}

func TestAllowedSignersRules(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	msg := []byte("m")
	sig, _ := Sign(msg, s)
	for _, tc := range []struct {
		name      string
		lines     []string
		principal string
		ok        bool
	}{
		{"listed", []string{line("node1", "", s.PublicKey())}, "", true},
		{"not listed", []string{line("node1", "", other.PublicKey())}, "", false},
		{"wrong principal", []string{line("node1", "", s.PublicKey())}, "node2", false},
		{"wildcard principal", []string{line("*.prod", "", s.PublicKey())}, "n1.prod", true},
		{"negated principal", []string{line("*.prod,!bad.prod", "", s.PublicKey())}, "bad.prod", false},
		{"quoted principals", []string{`"node 1,node2" ` + line("", "", s.PublicKey())[1:]}, "node 1", true},
		{"our namespace", []string{line("n", `namespaces="ckpt-manifest@ckpt.dev"`, s.PublicKey())}, "", true},
		{"namespace pattern", []string{line("n", `namespaces="git,ckpt-*"`, s.PublicKey())}, "", true},
		{"other namespace only", []string{line("n", `namespaces="git"`, s.PublicKey())}, "", false},
		{"valid window", []string{line("n", `valid-after="20250101",valid-before="20260101Z"`, s.PublicKey())}, "", true},
		{"not yet valid", []string{line("n", `valid-after="20250701Z"`, s.PublicKey())}, "", false},
		{"expired", []string{line("n", `valid-before="202505010000Z"`, s.PublicKey())}, "", false},
		{"CA line for a plain key", []string{line("n", "cert-authority", s.PublicKey())}, "", false},
		{"second line matches", []string{line("a", `namespaces="git"`, s.PublicKey()), line("b", "", s.PublicKey())}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := allowed(t, tc.lines...)
			v, err := Verify(msg, sig, a, tc.principal, now)
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("got %+v, %v; want ErrNotAllowed", v, err)
			}
		})
	}
}

func TestCertificateSigner(t *testing.T) {
	ca := newSigner(t)
	user := newSigner(t)
	cert := &ssh.Certificate{
		Key:             user.PublicKey(),
		CertType:        ssh.UserCert,
		KeyId:           "node1",
		ValidPrincipals: []string{"node1", "node9"},
		ValidAfter:      uint64(now.Add(-time.Hour).Unix()),
		ValidBefore:     uint64(now.Add(time.Hour).Unix()),
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	cs, err := ssh.NewCertSigner(cert, user)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("m")
	sig, err := Sign(msg, cs)
	if err != nil {
		t.Fatal(err)
	}
	a := allowed(t, line("node1", "cert-authority", ca.PublicKey()))
	v, err := Verify(msg, sig, a, "", now)
	if err != nil || strings.Join(v.Principals, ",") != "node1" {
		t.Fatalf("cert: %+v %v", v, err)
	}
	if _, err := Verify(msg, sig, a, "node9", now); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("principal the line does not allow: %v", err)
	}
	if _, err := Verify(msg, sig, a, "", now.Add(2*time.Hour)); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("expired certificate: %v", err)
	}
	// The CA key listed as a plain key does not accept certificates.
	if _, err := Verify(msg, sig, allowed(t, line("node1", "", ca.PublicKey())), "", now); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("plain CA line: %v", err)
	}
	// A self-made certificate claiming the CA fails its signature check.
	fake := *cert
	fake.Signature = nil
	other := newSigner(t)
	fake.SignCert(rand.Reader, other)
	fake.SignatureKey = ca.PublicKey()
	fs, _ := ssh.NewCertSigner(&fake, user)
	fsig, _ := Sign(msg, fs)
	if _, err := Verify(msg, fsig, a, "", now); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("forged certificate: %v", err)
	}
}

func TestParseAllowedSignersErrors(t *testing.T) {
	k := newSigner(t).PublicKey()
	for _, tc := range []struct{ file, want string }{
		{"", "no signers"},
		{"node1\n", "want principals"},
		{"node1 ssh-ed25519 AAAAnotbase64\n", "no valid public key"},
		{line("n", "bogus-option", k), "unknown option"},
		{line("n", `valid-after="2025"`, k), "YYYYMMDD"},
		{line("n", `valid-after="20250101",valid-before="20240101"`, k), "not after"},
		{line("n", `namespaces="a",namespaces="b"`, k), "more than one"},
		{line("n", `cert-authority=yes`, k), "takes no value"},
		{`"unterminated ` + line("", "", k), "unterminated"},
	} {
		_, err := ParseAllowedSigners("f", []byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: got %v, want %q", tc.file, err, tc.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"node1", "node1", true},
		{"node1", "node?", true},
		{"node12", "node?", false},
		{"a@b.c", "*@b.c", true},
		{"", "*", true},
		{"abc", "a*c*", true},
		{"abc", "a*d", false},
		{strings.Repeat("a", 1000), strings.Repeat("*a", 50) + "b", false},
	} {
		if got := matchPattern(tc.s, tc.p); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v", tc.s, tc.p, got)
		}
	}
}

func TestAgentSigner(t *testing.T) {
	keyring := agent.NewKeyring()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	s, err := AgentSigner(keyring, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign([]byte("m"), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify([]byte("m"), sig, allowed(t, line("n", "", s.PublicKey())), "n", now); err != nil {
		t.Fatal(err)
	}
	if _, err := AgentSigner(keyring, newSigner(t).PublicKey()); err == nil {
		t.Error("a key the agent does not hold was found")
	}
	_, priv2, _ := ed25519.GenerateKey(rand.Reader)
	keyring.Add(agent.AddedKey{PrivateKey: priv2})
	if _, err := AgentSigner(keyring, nil); err == nil || !strings.Contains(err.Error(), "2 keys") {
		t.Errorf("two keys: %v", err)
	}
	if got, err := AgentSigner(keyring, s.PublicKey()); err != nil || !bytes.Equal(got.PublicKey().Marshal(), s.PublicKey().Marshal()) {
		t.Errorf("by public key: %v", err)
	}
}

// TestOpenSSHInterop checks both directions with ssh-keygen: it accepts our
// signatures, and we accept its signatures, with the same allowed signers
// file; a changed message fails in both.
func TestOpenSSHInterop(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed (openssh-client)")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	run := func(stdin []byte, args ...string) error {
		cmd := exec.Command("ssh-keygen", args...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("ssh-keygen %v: %v\n%s", args, err, out)
		}
		return nil
	}
	if err := run(nil, "-q", "-t", "ed25519", "-N", "", "-C", "node1", "-f", key); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(key)
	signer, err := LoadSigner(key, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	pubText, _ := os.ReadFile(key + ".pub")
	allowedFile := filepath.Join(dir, "allowed_signers")
	os.WriteFile(allowedFile, []byte(`node1 namespaces="`+Namespace+`" `+string(pubText)), 0o600)
	msg := []byte("{\"manifest\": true}\n")

	sig, err := Sign(msg, signer)
	if err != nil {
		t.Fatal(err)
	}
	sigFile := filepath.Join(dir, "m.sig")
	os.WriteFile(sigFile, sig, 0o600)
	if err := run(msg, "-Y", "verify", "-f", allowedFile, "-I", "node1", "-n", Namespace, "-s", sigFile); err != nil {
		t.Fatalf("ssh-keygen rejects our signature: %v", err)
	}
	if err := run(append(msg, 'x'), "-Y", "verify", "-f", allowedFile, "-I", "node1", "-n", Namespace, "-s", sigFile); err == nil {
		t.Fatal("ssh-keygen accepted a changed message")
	}

	msgFile := filepath.Join(dir, "m")
	os.WriteFile(msgFile, msg, 0o600)
	if err := run(nil, "-Y", "sign", "-f", key, "-n", Namespace, msgFile); err != nil {
		t.Fatal(err)
	}
	theirs, _ := os.ReadFile(msgFile + ".sig")
	a, err := ParseAllowedSigners(allowedFile, mustRead(t, allowedFile))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Verify(msg, theirs, a, "node1", time.Now()); err != nil || !v.Trusted {
		t.Fatalf("we reject ssh-keygen's signature: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzParseAllowedSigners(f *testing.F) {
	k := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDO0VQD9TIdICZLWFWwtf7s8/aENve8twGTEmNV0myh5"
	for _, s := range []string{
		"node1 " + k,
		`"a b",c namespaces="x,y*",valid-after="20250101Z" ` + k + " comment",
		"n cert-authority,valid-before=\"202501011200\" " + k,
		"# comment\n\n" + "*,!x " + k,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAllowedSigners("f", data)
		if err != nil {
			return
		}
		for _, e := range a.entries {
			if e.key == nil || e.principals == "" {
				t.Fatalf("entry without key or principals: %+v", e)
			}
			matchPatternList("node1", e.principals)
		}
	})
}
