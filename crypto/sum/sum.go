// Package sum reads and writes checksum lines in the format of GNU
// coreutils' sha256sum, so that a receiver without ckpt can check a sealed
// file with `sha256sum -c NAME.sha256`.
//
// A line is the hex digest, two spaces (or a space and '*' for binary mode,
// which means the same on every system ckpt runs on) and the file name. Names
// holding a backslash, newline or carriage return are written the way
// coreutils writes them: the line starts with a backslash and those three
// characters are escaped. Colons, spaces and every other byte are written
// as they are; sha256sum -c reads them back unchanged.
package sum

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Size is the length of a SHA-256 digest in bytes.
const Size = sha256.Size

// MaxFileSize caps what ParseFile accepts: a checksum file is a few lines,
// and anything far larger is not one.
const MaxFileSize = 1 << 20

// ErrMalformed is returned for a line that is not in sha256sum format.
var ErrMalformed = errors.New("not a sha256sum line")

// Line is one line of a checksum file: the digest of the file called Name.
type Line struct {
	Sum  [Size]byte
	Name string
}

// String formats l as sha256sum prints it, with the trailing newline.
func (l Line) String() string {
	name, escaped := escape(l.Name)
	var b strings.Builder
	if escaped {
		b.WriteByte('\\')
	}
	b.WriteString(hex.EncodeToString(l.Sum[:]))
	b.WriteString("  ")
	b.WriteString(name)
	b.WriteByte('\n')
	return b.String()
}

// Hex is the digest in lower-case hex, as sha256sum prints it.
func (l Line) Hex() string { return hex.EncodeToString(l.Sum[:]) }

// escape applies coreutils' file name escaping and reports whether any was
// needed (which is when the line must start with a backslash).
func escape(name string) (string, bool) {
	if !strings.ContainsAny(name, "\\\n\r") {
		return name, false
	}
	r := strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r")
	return r.Replace(name), true
}

// unescape reverses escape. Any other backslash sequence is malformed, as it
// is for sha256sum -c.
func unescape(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(name) {
			return "", false
		}
		i++
		switch name[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// Parse reads one line (without its newline) in sha256sum format.
func Parse(line string) (Line, error) {
	var l Line
	escaped := strings.HasPrefix(line, "\\")
	if escaped {
		line = line[1:]
	}
	const hexLen = 2 * Size
	if len(line) < hexLen+3 || (line[hexLen+1] != ' ' && line[hexLen+1] != '*') || line[hexLen] != ' ' {
		return l, ErrMalformed
	}
	digest := line[:hexLen]
	if _, err := hex.Decode(l.Sum[:], []byte(digest)); err != nil {
		return l, fmt.Errorf("%w: digest is not hex", ErrMalformed)
	}
	name := line[hexLen+2:]
	if escaped {
		var ok bool
		if name, ok = unescape(name); !ok {
			return l, fmt.Errorf("%w: bad escape in file name", ErrMalformed)
		}
	} else if strings.ContainsAny(name, "\n") {
		return l, ErrMalformed
	}
	if name == "" {
		return l, fmt.Errorf("%w: no file name", ErrMalformed)
	}
	l.Name = name
	return l, nil
}

// ParseFile reads every line of a checksum file. Empty lines are not
// allowed; the final newline is optional, and a carriage return ending a
// line is dropped, as sha256sum -c drops it.
func ParseFile(data []byte) ([]Line, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: checksum file larger than %d bytes", ErrMalformed, MaxFileSize)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrMalformed)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	var lines []Line
	for i, text := range strings.Split(string(data), "\n") {
		l, err := Parse(strings.TrimSuffix(text, "\r"))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		lines = append(lines, l)
	}
	return lines, nil
}
