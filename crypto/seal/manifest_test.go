package seal

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
)

func sampleManifest(t testing.TB) *Manifest {
	x := mustX25519(t)
	r, _ := keys.ParseRecipient(x.Recipient().String())
	pass, _ := keys.NewPassphrase([]byte("p"))
	res := &Result{
		Plaintext:  Digest{Size: 204800},
		Ciphertext: Digest{Size: 205048},
		Identity: archive.Identity{Namespace: "default", Pod: "web", Container: "app", Engine: "CRI-O", Runtime: "runc",
			CRIUVersion: "4.2", Host: "node1", Checkpointed: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
	}
	return newManifest(res, "a.tar", "a.tar.age", Options{Recipients: []keys.Recipient{r, pass}, Node: "node1", Tool: "ckpt test", Now: func() time.Time { return time.Unix(1700000000, 0) }})
}

func TestManifestRoundTrip(t *testing.T) {
	m := sampleManifest(t)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := m.Marshal(); !bytes.Equal(b, b2) {
		t.Fatal("Marshal is not deterministic")
	}
	for _, want := range []string{`"format": "ckpt-manifest/v1"`, `"sealed_at": "2023-11-14T22:13:20Z"`, `"checkpointed_at": "2025-01-02T02:04:05Z"`, `"criu_version": "4.2"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("manifest lacks %s:\n%s", want, b)
		}
	}
	if m.Recipients[0].Type != keys.TypeX25519 || m.Recipients[1].Type != keys.TypeScrypt {
		t.Errorf("recipients not sorted: %+v", m.Recipients)
	}
	got, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := got.Marshal()
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip changed the manifest:\n%s\n%s", b, b2)
	}
	// Unknown fields are ignored: later versions may add some.
	if _, err := ParseManifest(bytes.Replace(b, []byte(`"node"`), []byte(`"future": [1, 2], "node"`), 1)); err != nil {
		t.Errorf("unknown field: %v", err)
	}
}

func TestParseManifestRejects(t *testing.T) {
	good, _ := sampleManifest(t).Marshal()
	for _, tc := range []struct{ old, new, want string }{
		{`"ckpt-manifest/v1"`, `"ckpt-manifest/v2"`, "format"},
		{`"a.tar.age"`, `"../a.tar.age"`, "not a file name"},
		{`"a.tar"`, `""`, "not a file name"},
		{`"size": 204800`, `"size": -1`, "negative"},
		{`"sealed_at": "2023-11-14T22:13:20Z"`, `"sealed_at": "yesterday"`, "sealed_at"},
		{"\n}\n", "\n}\n{}", "after the JSON"},
		{`"checkpointed_at": "2025-01-02T02:04:05Z"`, `"checkpointed_at": "soon"`, "checkpointed_at"},
		{"{", "[", "not valid JSON"},
	} {
		bad := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
		if bytes.Equal(bad, good) {
			t.Fatalf("%q not in manifest", tc.old)
		}
		if _, err := ParseManifest(bad); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: got %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
	m := sampleManifest(t)
	m.Sealed.SHA256 = strings.ToUpper(strings.Repeat("ab", 32))
	b, _ := m.Marshal()
	if _, err := ParseManifest(b); err == nil {
		t.Error("upper-case hex accepted")
	}
	if _, err := ParseManifest(bytes.Repeat([]byte(" "), maxManifest+1)); err == nil {
		t.Error("oversized manifest accepted")
	}
}

func FuzzParseManifest(f *testing.F) {
	good, _ := sampleManifest(f).Marshal()
	f.Add(good)
	f.Add([]byte(`{"format":"ckpt-manifest/v1"}`))
	f.Add([]byte(`{"format":"ckpt-manifest/v1","sealed_at":"2025-01-01T00:00:00Z","archive":{"name":"a","size":0,"sha256":"` + strings.Repeat("0", 64) + `"},"sealed":{"name":"b","size":1,"sha256":"` + strings.Repeat("f", 64) + `"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		// What parses is well formed and survives a round trip.
		for _, d := range []FileDigest{m.Archive, m.Sealed} {
			if err := d.check(); err != nil {
				t.Fatalf("accepted a bad digest: %v", err)
			}
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(b)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b)
		}
		b2, _ := m2.Marshal()
		if !bytes.Equal(b, b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}

func FuzzSidecarPaths(f *testing.F) {
	f.Add("checkpoint-a_b-c-2025-01-02T03:04:05Z.tar.age")
	f.Add("x.tar.age.json.sig")
	f.Fuzz(func(t *testing.T, p string) {
		s := SidecarsFor(p)
		for _, side := range []string{s.Checksum, s.Manifest, s.Signature} {
			if !strings.HasPrefix(side, p) || side == p {
				t.Fatalf("sidecar %q of %q", side, p)
			}
			if strings.HasSuffix(p, SealedSuffix) && !IsSidecar(side) {
				t.Fatalf("%q not recognised as a sidecar", side)
			}
		}
	})
}

// The manifest's bytes are a format (docs/formats.md): a fixed manifest,
// with characters JSON encoders like to escape, must marshal to the bytes
// recorded in testdata, and parse back to the same bytes.
func TestManifestGolden(t *testing.T) {
	r, err := keys.ParseRecipient("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{
		Plaintext:  Digest{Size: 204800, SHA256: [32]byte{1, 2, 3}},
		Ciphertext: Digest{Size: 205048, SHA256: [32]byte{4, 5, 6}},
		Identity: archive.Identity{Namespace: "default", Pod: "web<&>", Container: "app", Image: "quay.io/x/y:1", Engine: "CRI-O", Runtime: "runc",
			CRIUVersion: "4.2", Host: "node1", Checkpointed: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
	}
	for _, tc := range []struct {
		file string
		m    *Manifest
	}{
		{"manifest.golden.json", newManifest(res, "a.tar", "a.tar.age", Options{Recipients: []keys.Recipient{r}, Node: "node1", Tool: "ckpt test", Now: func() time.Time { return time.Unix(1700000000, 0) }})},
		{"manifest-unknown.golden.json", newManifest(&Result{}, "b.tar", "b.tar.age", Options{Recipients: nil, Node: "", Tool: "ckpt test", Now: func() time.Time { return time.Unix(1700000000, 0) }})},
	} {
		got, err := tc.m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the manifest changed:\n%s\nwant:\n%s", tc.file, got, want)
		}
		if tc.file == "manifest.golden.json" {
			m, err := ParseManifest(want)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := m.Marshal(); !bytes.Equal(again, want) {
				t.Errorf("%s: parse and marshal changed it:\n%s", tc.file, again)
			}
		}
	}
}
