package scan

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// detectPEM matches a PEM block whose type is a private key or a
// certificate: "-----BEGIN <type>-----", a body of base64 (optionally with
// RFC 1421 headers, and with newlines either real or escaped as \n, as in
// JSON and source code), then "-----END <type>-----". The body must decode,
// and decode to what the type says: DER whose outer SEQUENCE length is the
// whole body, an OpenSSH key's magic, an OpenPGP packet.
func detectPEM(w *window) verdict {
	b, at, lim := w.b, w.at, w.fwd()
	i := at + len("-----BEGIN ")
	ls := i
	for i < lim && i-ls <= 32 && (is(b[i], cUpper|cDigit) || b[i] == ' ') {
		i++
	}
	if i+5 > lim {
		return w.outOfBytes()
	}
	label := b[ls:i]
	kind, ok := pemKind(label)
	if !ok || !hasPrefix(b[i:], "-----") {
		return reject
	}
	body := i + 5
	// The body runs to the next "-----"; anything but printable text before
	// it means this is not a PEM block.
	for i = body; ; i++ {
		if i+5 > lim {
			return w.outOfBytes()
		}
		c := b[i]
		if c == '-' && hasPrefix(b[i:], "-----") {
			break
		}
		if !is(c, cPrint) && c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return reject
		}
	}
	bodyEnd := i
	end := bodyEnd + len("-----END ") + len(label) + len("-----")
	if end > lim {
		return w.outOfBytes()
	}
	if !hasPrefix(b[bodyEnd:], "-----END ") || !bytes.Equal(b[bodyEnd+9:bodyEnd+9+len(label)], label) || !hasPrefix(b[end-5:], "-----") {
		return reject
	}
	der, encrypted, ok := pemBody(w, b[body:bodyEnd], bytes.HasPrefix(label, []byte("PGP ")))
	if !ok {
		return reject
	}
	detail, ok := pemCheck(string(label), der, encrypted)
	if !ok {
		return reject
	}
	return w.found(kind, at, end, at, end, detail)
}

func pemKind(label []byte) (Kind, bool) {
	switch string(label) {
	case "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "PRIVATE KEY",
		"ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "PGP PRIVATE KEY BLOCK":
		return PrivateKey, true
	case "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE":
		return Certificate, true
	}
	return "", false
}

// pemBody decodes the base64 of a PEM body into w.dec. Header lines
// ("Proc-Type: 4,ENCRYPTED") are skipped and remembered; escaped newlines
// (\n, \r, \t) and escaped slashes (\/) are undone; a PGP checksum line
// ("=abcd") ends the data.
func pemBody(w *window, body []byte, pgp bool) (der []byte, encrypted, ok bool) {
	text := w.dec2[:0]
	for j := 0; j < len(body); j++ {
		c := body[j]
		if c == '\\' && j+1 < len(body) {
			switch body[j+1] {
			case 'n', 'r':
				c = '\n'
				j++
			case 't':
				c = ' '
				j++
			case '/':
				c = '/'
				j++
			}
		}
		if c == '\r' {
			c = '\n'
		}
		text = append(text, c)
	}
	// Keep only the base64 lines, compacted in place.
	data := text[:0]
	for len(text) > 0 {
		line := text
		if k := bytes.IndexByte(text, '\n'); k >= 0 {
			line, text = text[:k], text[k+1:]
		} else {
			text = nil
		}
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0:
			continue
		case bytes.IndexByte(line, ':') >= 0:
			if len(data) > 0 {
				return nil, false, false // headers come first
			}
			if bytes.Contains(line, []byte("ENCRYPTED")) {
				encrypted = true
			}
			continue
		case pgp && line[0] == '=' && len(data) > 0:
			text = nil // the checksum: the data has ended
			continue
		}
		for _, c := range line {
			if !is(c, cB64Std) && c != '=' {
				return nil, false, false
			}
		}
		data = append(data, line...)
	}
	der, ok = decodeBase64(w.dec, data, false)
	return der, encrypted, ok
}

// pemCheck checks that der is what the PEM type says and describes it.
func pemCheck(label string, der []byte, encrypted bool) (string, bool) {
	switch {
	case label == "OPENSSH PRIVATE KEY":
		return opensshDetail(der)
	case strings.HasPrefix(label, "PGP "):
		// An OpenPGP packet header always has its top bit set.
		return "PGP", len(der) >= 32 && der[0]&0x80 != 0
	case encrypted:
		// Legacy OpenSSL encryption: the body is ciphertext, in whole blocks.
		return strings.TrimSuffix(label, " PRIVATE KEY") + ", encrypted", len(der) >= 64 && len(der)%8 == 0
	}
	if !isDERSequence(der) {
		return "", false
	}
	if strings.HasSuffix(label, "CERTIFICATE") {
		return certDetail(der), len(der) >= 100
	}
	return keyDetail(label, der), len(der) >= 40
}

// isDERSequence reports whether b is exactly one DER SEQUENCE.
func isDERSequence(b []byte) bool {
	if len(b) < 2 || b[0] != 0x30 {
		return false
	}
	n, hdr := int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	return hdr+n == len(b)
}

func keyDetail(label string, der []byte) string {
	switch label {
	case "RSA PRIVATE KEY":
		if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
			return fmt.Sprintf("RSA %d-bit", k.N.BitLen())
		}
		return "RSA"
	case "EC PRIVATE KEY":
		if k, err := x509.ParseECPrivateKey(der); err == nil {
			return "EC " + k.Curve.Params().Name
		}
		return "EC"
	case "DSA PRIVATE KEY":
		return "DSA"
	case "ENCRYPTED PRIVATE KEY":
		return "PKCS#8, encrypted"
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return "PKCS#8"
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA %d-bit", k.N.BitLen())
	case *ecdsa.PrivateKey:
		return "EC " + k.Curve.Params().Name
	case ed25519.PrivateKey:
		return "Ed25519"
	case *ecdh.PrivateKey:
		return "X25519"
	}
	return "PKCS#8"
}

func certDetail(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "certificate Go cannot parse"
	}
	s := "subject " + c.Subject.String()
	if c.Issuer.String() != c.Subject.String() {
		s += ", issuer " + c.Issuer.String()
	}
	if c.IsCA {
		s += ", CA"
	}
	return s + ", expires " + c.NotAfter.UTC().Format(time.RFC3339)
}

// opensshDetail reads the unencrypted header of an OpenSSH private key
// (PROTOCOL.key): magic, cipher, kdf, kdf options, key count, public key.
func opensshDetail(b []byte) (string, bool) {
	const magic = "openssh-key-v1\x00"
	if !hasPrefix(b, magic) {
		return "", false
	}
	b = b[len(magic):]
	str := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	cipher, ok1 := str()
	_, ok2 := str() // kdf name
	_, ok3 := str() // kdf options
	if !ok1 || !ok2 || !ok3 || len(b) < 4 {
		return "", false
	}
	b = b[4:] // number of keys
	pub, ok := str()
	if !ok || len(pub) < 4 {
		return "", false
	}
	b = []byte(pub)
	typ, ok := str()
	if !ok || !isPrintable(typ) {
		return "", false
	}
	s := "OpenSSH " + typ
	if cipher != "none" {
		s += ", encrypted"
	}
	return s, true
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if !is(s[i], cPrint) {
			return false
		}
	}
	return s != ""
}
