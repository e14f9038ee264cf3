package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Checkpoint is a tree head: the log called Origin had Size records
// whose Merkle tree root is Hash. Signed, it is a C2SP tlog-checkpoint:
// the note text is the origin, the size in decimal and the hash in base64,
// one per line.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// text is the checkpoint's note text.
func (c Checkpoint) text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

// parseCheckpointText parses a note's text; extension lines after the
// hash are allowed and ignored, as the format says.
func parseCheckpointText(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, errors.New("not a checkpoint: want origin, size and hash lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("checkpoint size %q is not a decimal number", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("checkpoint hash %q is not a base64 SHA-256", lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: n}
	copy(c.Hash[:], h)
	return c, nil
}

// signCheckpoint returns c as a signed note.
func signCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.text()}, s)
}

// OpenCheckpoint checks a signed checkpoint against the verifier key v and
// parses it. The origin must be the key's name: one key, one log.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unknown *note.UnknownVerifierError
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unknown) || errors.As(err, &unverified) {
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrCheckpointKey, err)
		}
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrCheckpointSignature, err)
	}
	c, err := parseCheckpointText(n.Text)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrCheckpointSignature, err)
	}
	if c.Origin != v.Name() {
		return c, fmt.Errorf("%w: origin %q is not the key's name %q", ErrCheckpointKey, c.Origin, v.Name())
	}
	return c, nil
}

// splitNotes cuts the checkpoints file into its signed notes. A note is
// text lines, a blank line, then signature lines that start with "— ";
// the next note starts at the first line after them that does not. torn
// is an unfinished last note (a writer stopped mid-write).
func splitNotes(data []byte) (notes [][]byte, torn []byte, err error) {
	sigPrefix := []byte("— ")
	for len(data) > 0 {
		blank := bytes.Index(data, []byte("\n\n"))
		if blank < 0 {
			return notes, data, nil
		}
		end := blank + 2
		sigs := 0
		for end < len(data) && bytes.HasPrefix(data[end:], sigPrefix) {
			nl := bytes.IndexByte(data[end:], '\n')
			if nl < 0 {
				return notes, data, nil
			}
			end += nl + 1
			sigs++
		}
		if sigs == 0 {
			if end == len(data) || len(sigPrefix) > len(data)-end && bytes.HasPrefix(sigPrefix, data[end:]) {
				return notes, data, nil
			}
			return notes, nil, fmt.Errorf("note %d has no signature", len(notes)+1)
		}
		notes = append(notes, data[:end])
		data = data[end:]
	}
	return notes, nil, nil
}

// tornNoteTail returns how many bytes at the end of the checkpoints file
// (whose last bytes are tail) belong to an unfinished note: everything
// after the last complete signature line. ok is false when tail does not
// reach back to one.
func tornNoteTail(tail []byte, whole bool) (n int, ok bool) {
	if len(tail) == 0 {
		return 0, true
	}
	end := len(tail)
	for end > 0 {
		if tail[end-1] != '\n' {
			end = bytes.LastIndexByte(tail[:end], '\n') + 1
			continue
		}
		start := bytes.LastIndexByte(tail[:end-1], '\n') + 1
		if start == 0 && !whole {
			return 0, false
		}
		if bytes.HasPrefix(tail[start:], []byte("— ")) {
			return len(tail) - end, true
		}
		end = start
	}
	return len(tail), whole
}

// GenerateKey makes a checkpoint signing key called name (the log's
// origin, e.g. "node1/ckpt-audit"): an Ed25519 signed-note key pair in
// the format of golang.org/x/mod/sumdb/note, private first.
func GenerateKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// maxKeyFile caps a key file: a key is one short line.
const maxKeyFile = 4 << 10

func readKeyFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if len(data) > maxKeyFile {
		return "", fmt.Errorf("%s: larger than %d bytes: not a key", path, maxKeyFile)
	}
	return strings.TrimSpace(string(data)), nil
}

// LoadSigner reads a private key file written by GenerateKey's caller.
func LoadSigner(path string) (note.Signer, error) {
	return loadKey(path, "private", note.NewSigner)
}

// LoadVerifier reads a public (verifier) key file.
func LoadVerifier(path string) (note.Verifier, error) {
	return loadKey(path, "public", note.NewVerifier)
}

// loadKey reads the key file at path and parses it with parse.
func loadKey[K any](path, kind string, parse func(string) (K, error)) (K, error) {
	var key K
	k, err := readKeyFile(path)
	if err != nil {
		return key, err
	}
	if key, err = parse(k); err != nil {
		return key, fmt.Errorf("%s: not a signed-note %s key: %v", path, kind, err)
	}
	return key, nil
}

// LatestCheckpoint returns the last signed checkpoint of the log at path,
// unchecked.
func LatestCheckpoint(path string) ([]byte, error) {
	data, err := os.ReadFile(path + CheckpointsSuffix)
	if err != nil {
		return nil, err
	}
	notes, _, err := splitNotes(data)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", path, CheckpointsSuffix, err)
	}
	if len(notes) == 0 {
		return nil, fmt.Errorf("%s: no checkpoint yet (the writers need a signing key)", path)
	}
	return notes[len(notes)-1], nil
}
