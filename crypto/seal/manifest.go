package seal

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
)

// ManifestFormat names the manifest format and its version.
const ManifestFormat = "ckpt-manifest/v1"

// maxManifest caps a manifest file. One is about 1 KiB; the cap leaves room
// for many recipients while refusing to load anything that is not one.
const maxManifest = 1 << 20

// Manifest describes a sealed archive. It is written as JSON beside the
// sealed file and is what a signature covers, so it binds the ciphertext
// (by its hash) to what the archive is and where it came from.
type Manifest struct {
	// Format is [ManifestFormat].
	Format string `json:"format"`
	// Tool is the program and version that sealed, e.g. "ckpt v0.3.0".
	Tool string `json:"tool"`
	// SealedAt is when sealing finished, RFC 3339 in UTC.
	SealedAt string `json:"sealed_at"`
	// Node is the host that sealed (the Kubernetes node name by default).
	Node string `json:"node"`
	// Archive is the plaintext archive: its name when sealed, size, SHA-256.
	Archive FileDigest `json:"archive"`
	// Sealed is the age file this manifest sits beside.
	Sealed FileDigest `json:"sealed"`
	// Identity is what the archive holds, as read from it while sealing
	// ([Options].Describe). The manifest keeps the namespace, pod,
	// container, image, engine, runtime, CRIU version, host and checkpoint
	// time; the other fields are empty after [ParseManifest], as are those
	// that were unknown.
	Identity archive.Identity `json:"identity"`
	// Recipients are who can open the file, sorted by type and fingerprint.
	Recipients []RecipientInfo `json:"recipients"`
}

// FileDigest names a file and gives its size and SHA-256 (lower-case hex).
type FileDigest struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// identityJSON is the manifest's form of an archive.Identity: the fields
// a receiver needs to know what it got, the time as RFC 3339 UTC or empty
// when unknown (docs/formats.md).
type identityJSON struct {
	Namespace      string `json:"namespace"`
	Pod            string `json:"pod"`
	Container      string `json:"container"`
	Image          string `json:"image"`
	Engine         string `json:"engine"`
	Runtime        string `json:"runtime"`
	CRIUVersion    string `json:"criu_version"`
	Host           string `json:"host"`
	CheckpointedAt string `json:"checkpointed_at"`
}

// manifestJSON is the Manifest as written.
type manifestJSON struct {
	Format     string          `json:"format"`
	Tool       string          `json:"tool"`
	SealedAt   string          `json:"sealed_at"`
	Node       string          `json:"node"`
	Archive    FileDigest      `json:"archive"`
	Sealed     FileDigest      `json:"sealed"`
	Identity   json.RawMessage `json:"identity"`
	Recipients []RecipientInfo `json:"recipients"`
}

// manifestIdentity is id as a manifest keeps it, so that a manifest in
// memory says what the one on disk says.
func manifestIdentity(id archive.Identity) archive.Identity {
	return archive.Identity{Namespace: id.Namespace, Pod: id.Pod, Container: id.Container, Image: id.Image, Engine: id.Engine,
		Runtime: id.Runtime, CRIUVersion: id.CRIUVersion, Host: id.Host, Checkpointed: id.Checkpointed.UTC().Truncate(time.Second)}
}

// MarshalJSON writes m in the manifest format, whose identity holds only
// the fields docs/formats.md names.
func (m Manifest) MarshalJSON() ([]byte, error) {
	id := m.Identity
	j := identityJSON{id.Namespace, id.Pod, id.Container, id.Image, id.Engine, id.Runtime, id.CRIUVersion, id.Host, ""}
	if !id.Checkpointed.IsZero() {
		j.CheckpointedAt = id.Checkpointed.UTC().Format(time.RFC3339)
	}
	// The identity has always been encoded with HTML escaping, the rest
	// without: the bytes are the format, so they stay as they were.
	ident, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err = enc.Encode(manifestJSON{m.Format, m.Tool, m.SealedAt, m.Node, m.Archive, m.Sealed, ident, m.Recipients})
	return b.Bytes(), err
}

// UnmarshalJSON reads the manifest format.
func (m *Manifest) UnmarshalJSON(data []byte) error {
	var raw struct {
		manifestJSON
		Identity identityJSON `json:"identity"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	r, j := raw.manifestJSON, raw.Identity
	*m = Manifest{Format: r.Format, Tool: r.Tool, SealedAt: r.SealedAt, Node: r.Node, Archive: r.Archive, Sealed: r.Sealed, Recipients: r.Recipients,
		Identity: archive.Identity{Namespace: j.Namespace, Pod: j.Pod, Container: j.Container, Image: j.Image, Engine: j.Engine,
			Runtime: j.Runtime, CRIUVersion: j.CRIUVersion, Host: j.Host}}
	if j.CheckpointedAt != "" {
		t, err := time.Parse(time.RFC3339, j.CheckpointedAt)
		if err != nil {
			return fmt.Errorf("checkpointed_at: %v", err)
		}
		m.Identity.Checkpointed = t.UTC()
	}
	return nil
}

// RecipientInfo is one recipient of a sealed file: its type (as age names
// the header stanza: X25519, mlkem768x25519, ssh-ed25519, ssh-rsa, scrypt)
// and its fingerprint (empty for a passphrase).
type RecipientInfo struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
}

// newManifest describes a sealed file called sealedName, made from the
// archive called archiveName by a Seal that returned res, with opts.
func newManifest(res *Result, archiveName, sealedName string, opts Options) *Manifest {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	m := &Manifest{
		Format:   ManifestFormat,
		Tool:     opts.Tool,
		SealedAt: now().UTC().Format(time.RFC3339),
		Node:     opts.Node,
		Archive:  FileDigest{archiveName, res.Plaintext.Size, hex.EncodeToString(res.Plaintext.SHA256[:])},
		Sealed:   FileDigest{sealedName, res.Ciphertext.Size, hex.EncodeToString(res.Ciphertext.SHA256[:])},
		Identity: manifestIdentity(res.Identity),
	}
	m.Recipients = []RecipientInfo{}
	for _, r := range opts.Recipients {
		m.Recipients = append(m.Recipients, RecipientInfo{r.Type, r.Fingerprint})
	}
	slices.SortFunc(m.Recipients, func(a, b RecipientInfo) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return m
}

// Marshal returns the manifest as written to disk: indented JSON with a
// final newline. The same manifest always gives the same bytes.
func (m *Manifest) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ParseManifest reads a manifest and checks that it is well formed: the
// known format, one JSON object and nothing after it, names that are plain
// file names, sizes that are not negative and SHA-256 values in lower-case
// hex. Unknown fields are ignored, so that later versions may add some.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifest {
		return nil, fmt.Errorf("larger than %d bytes", maxManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("format %q, want %q", m.Format, ManifestFormat)
	}
	for _, f := range []struct {
		what string
		d    FileDigest
	}{{"archive", m.Archive}, {"sealed", m.Sealed}} {
		if err := f.d.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", f.what, err)
		}
	}
	if _, err := time.Parse(time.RFC3339, m.SealedAt); err != nil {
		return nil, fmt.Errorf("sealed_at: %v", err)
	}
	return &m, nil
}

func (d FileDigest) check() error {
	if d.Name == "" || d.Name == "." || d.Name == ".." || strings.ContainsAny(d.Name, "/\x00") {
		return fmt.Errorf("name %q is not a file name", d.Name)
	}
	if d.Size < 0 {
		return fmt.Errorf("negative size %d", d.Size)
	}
	if len(d.SHA256) != 64 || strings.ToLower(d.SHA256) != d.SHA256 {
		return fmt.Errorf("sha256 %q is not 64 lower-case hex digits", d.SHA256)
	}
	if _, err := hex.DecodeString(d.SHA256); err != nil {
		return fmt.Errorf("sha256 %q is not 64 lower-case hex digits", d.SHA256)
	}
	return nil
}
