package scan_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/scan"
	"github.com/ckpt-dev/ckpt/scan/scantest"
)

// TestEveryKindFound finds each fake alone and all of them together, with
// the exact start, value and detail.
func TestEveryKindFound(t *testing.T) {
	fakes := scantest.Fakes()
	if len(fakes) != len(scan.Kinds()) {
		t.Fatalf("%d fakes for %d kinds", len(fakes), len(scan.Kinds()))
	}
	for i, f := range fakes {
		if f.Kind != scan.Kinds()[i] {
			t.Errorf("fake %d is %s, kind %d is %s", i, f.Kind, i, scan.Kinds()[i])
		}
		got := scan.Find([]byte(f.Text))
		if len(got) != 1 {
			t.Errorf("%s: %d matches: %+v", f.Kind, len(got), got)
			continue
		}
		checkMatch(t, got[0], f, int64(f.Start))
	}
	blob, starts := scantest.Blob(fakes)
	got := scan.Find(blob)
	if len(got) != len(fakes) {
		t.Fatalf("blob: %d matches, want %d: %+v", len(got), len(fakes), got)
	}
	for i, f := range fakes {
		checkMatch(t, got[i], f, int64(starts[i]))
	}
}

func checkMatch(t *testing.T, m scan.Match, f scantest.Fake, start int64) {
	t.Helper()
	if m.Kind != f.Kind || m.Start != start || string(m.Value) != f.Value || m.Detail != f.Detail {
		t.Errorf("got %s at %d %q detail %q\nwant %s at %d %q detail %q", m.Kind, m.Start, m.Value, m.Detail, f.Kind, start, f.Value, f.Detail)
	}
	if m.End <= m.Start || m.ValueStart < m.Start || m.ValueStart+int64(len(m.Value)) > m.End {
		t.Errorf("%s: bounds start %d end %d value at %d len %d", m.Kind, m.Start, m.End, m.ValueStart, len(m.Value))
	}
}

// noise returns n pseudo-random bytes that are a mix of binary and text,
// like memory.
func noise(seed uint64, n int) []byte {
	r := mrand.New(mrand.NewPCG(seed, 42))
	b := make([]byte, n)
	const text = "the quick brown fox KEY=\x00 TOKEN SECRET PASS eyJ AKIA -----BEGIN Authorization: "
	for i := 0; i < n; {
		switch r.IntN(3) {
		case 0:
			for k := r.IntN(64); k > 0 && i < n; k-- {
				b[i] = byte(r.Uint32())
				i++
			}
		case 1:
			i += copy(b[i:], text[r.IntN(len(text)):])
		default:
			i += r.IntN(128) // zeros
		}
	}
	return b
}

// TestBlockBoundaries scans fakes buried in noise with many block sizes,
// so that block boundaries fall inside every value: the matches must be
// the same as in one piece.
func TestBlockBoundaries(t *testing.T) {
	blob, _ := scantest.Blob(scantest.Fakes())
	var data []byte
	for i := range 6 {
		data = append(data, noise(uint64(i), 5000+i*777)...)
		data = append(data, blob...)
	}
	want := scan.Find(data)
	if len(want) != 6*len(scan.Kinds()) {
		t.Fatalf("%d matches in one piece, want %d", len(want), 6*len(scan.Kinds()))
	}
	sizes := []int{1, 2, 3, 61, 100, 1000}
	for s := 1009; s < 9000; s += 397 {
		sizes = append(sizes, s)
	}
	for _, size := range sizes {
		var got []scan.Match
		m := scan.NewMatcherBlock(func(x scan.Match) { got = append(got, x) }, size)
		// Write in pieces unrelated to the block size.
		for p := data; len(p) > 0; {
			k := min(len(p), 1+len(p)%7919)
			m.Write(p[:k])
			p = p[k:]
		}
		m.End()
		if !equalMatches(got, want) {
			t.Fatalf("block %d: %d matches differ from the %d found in one piece", size, len(got), len(want))
		}
	}
}

func equalMatches(a, b []scan.Match) bool {
	return slices.EqualFunc(a, b, func(x, y scan.Match) bool {
		return x.Kind == y.Kind && x.Start == y.Start && x.End == y.End && x.ValueStart == y.ValueStart &&
			bytes.Equal(x.Value, y.Value) && x.Detail == y.Detail
	})
}

// TestMatcherReuse checks that End starts a new stream at offset 0.
func TestMatcherReuse(t *testing.T) {
	var got []scan.Match
	m := scan.NewMatcher(func(x scan.Match) { got = append(got, x) })
	for range 2 {
		got = nil
		m.Write([]byte("xx DB_PASSWORD=fake-pw-1 "))
		m.End()
		if len(got) != 1 || got[0].Start != 3 {
			t.Fatalf("%+v", got)
		}
	}
}

// TestMoreKeys covers the private key formats the fakes do not.
func TestMoreKeys(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	rsa8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	legacy := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   bytes.Repeat([]byte("FAKE"), 32)}))
	for _, tc := range []struct{ text, detail string }{
		{rsaPEM, "RSA 1024-bit"},
		{rsa8, "RSA 1024-bit"},
		{scantest.ECPEM(), "EC P-256"},
		{scantest.PKCS8PEM(ed25519Key()), "Ed25519"},
		{legacy, "RSA, encrypted"},
		// As a C string literal or JSON value: escaped newlines.
		{strings.ReplaceAll(scantest.ECPEM(), "\n", `\n`), "EC P-256"},
		// CRLF line ends.
		{strings.ReplaceAll(scantest.ECPEM(), "\n", "\r\n"), "EC P-256"},
	} {
		got := scan.Find([]byte("x=\"" + tc.text + "\""))
		if len(got) != 1 || got[0].Kind != scan.PrivateKey || got[0].Detail != tc.detail {
			t.Errorf("%.40q: %+v, want one private-key %q", tc.text, got, tc.detail)
		}
	}
}

func ed25519Key() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte("F"), ed25519.SeedSize))
}
