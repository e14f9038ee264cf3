package sign

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestCertificatesAgainstSSHKeygen signs a manifest with certificates that
// ssh-keygen made (user and host, in and out of their validity) and checks
// each against allowed signers lines (cert-authority, namespaces,
// valid-after, valid-before): we accept exactly what `ssh-keygen -Y verify`
// accepts.
func TestCertificatesAgainstSSHKeygen(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed (openssh-client)")
	}
	dir := t.TempDir()
	keygen := func(stdin []byte, args ...string) error {
		cmd := exec.Command("ssh-keygen", args...)
		cmd.Stdin = bytes.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ssh-keygen %v: %v\n%s", args, err, out)
		}
		return nil
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ca := filepath.Join(dir, "ca")
	must(keygen(nil, "-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", ca))
	caPub := strings.TrimSpace(string(mustRead(t, ca+".pub")))
	msg := []byte("{\"manifest\": true}\n")

	type cert struct{ name, args string }
	certs := []cert{
		{"user", "-n node1"},
		{"host", "-h -n node1"},
		{"user-expired", "-n node1 -V 20200101:20200201"},
		{"user-future", "-n node1 -V 20990101:20990201"},
		{"user-other", "-n node9"},
	}
	sigs := map[string]string{}
	for _, c := range certs {
		key := filepath.Join(dir, c.name)
		must(keygen(nil, "-q", "-t", "ed25519", "-N", "", "-f", key))
		must(keygen(nil, append([]string{"-q", "-s", ca, "-I", c.name}, append(strings.Fields(c.args), key+".pub")...)...))
		// ssh-keygen -Y sign only uses a user certificate, so sign here
		// with the key and the certificate ssh-keygen made.
		signer, err := LoadSigner(key, mustRead(t, key), nil)
		must(err)
		pub, _, _, _, err := ssh.ParseAuthorizedKey(mustRead(t, key+"-cert.pub"))
		must(err)
		certSigner, err := ssh.NewCertSigner(pub.(*ssh.Certificate), signer)
		must(err)
		sig, err := Sign(msg, certSigner)
		must(err)
		sigs[c.name] = string(sig)
	}
	lines := []string{
		`node1 cert-authority ` + caPub,
		`node* cert-authority ` + caPub,
		`node1 cert-authority,namespaces="other@example" ` + caPub,
		`node1 cert-authority,namespaces="` + Namespace + `" ` + caPub,
		`node1 cert-authority,valid-before="20200101" ` + caPub,
		`node1 cert-authority,valid-after="20990101" ` + caPub,
		`node1 ` + caPub, // not a CA line: certificates do not match it
	}
	now := time.Now()
	for li, line := range lines {
		allowed := filepath.Join(dir, fmt.Sprintf("allowed%d", li))
		os.WriteFile(allowed, []byte(line+"\n"), 0o600)
		a, err := ParseAllowedSigners(allowed, []byte(line+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		for _, c := range certs {
			sigFile := filepath.Join(dir, c.name+".sig")
			os.WriteFile(sigFile, []byte(sigs[c.name]), 0o600)
			theirs := keygen(msg, "-Y", "verify", "-f", allowed, "-I", "node1", "-n", Namespace, "-s", sigFile) == nil
			v, err := Verify(msg, []byte(sigs[c.name]), a, "node1", now)
			ours := err == nil && v.Trusted
			if ours != theirs {
				t.Errorf("line %q, %s certificate: we accept=%v (%v), ssh-keygen accepts=%v", line, c.name, ours, err, theirs)
			}
		}
	}
}
