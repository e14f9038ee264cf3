package seal

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
)

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
