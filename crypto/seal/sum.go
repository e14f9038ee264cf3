// Checksum lines are in the format of GNU coreutils' sha256sum, so that a
// receiver without ckpt can check a sealed file with
// `sha256sum -c NAME.sha256`.
//
// A line is the hex digest, two spaces (or a space and '*' for binary mode,
// which means the same on every system ckpt runs on) and the file name. Names
// holding a backslash, newline or carriage return are written the way
// coreutils writes them: the line starts with a backslash and those three
// characters are escaped. Colons, spaces and every other byte are written
// as they are; sha256sum -c reads them back unchanged.

package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MaxSumFileSize caps what [ParseSumFile] accepts: a checksum file is a few lines,
// and anything far larger is not one.
const MaxSumFileSize = 1 << 20

// errMalformedSum is wrapped by the errors of [ParseSumFile] for a line
// that is not in sha256sum format.
var errMalformedSum = errors.New("not a sha256sum line")

// SumLine is one line of a checksum file: the digest of the file called Name.
type SumLine struct {
	Sum  [sha256.Size]byte
	Name string
}

// String formats l as sha256sum prints it, with the trailing newline.
func (l SumLine) String() string {
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
func (l SumLine) Hex() string { return hex.EncodeToString(l.Sum[:]) }

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

// parseSumLine reads one line (without its newline) in sha256sum format.
func parseSumLine(line string) (SumLine, error) {
	var l SumLine
	escaped := strings.HasPrefix(line, "\\")
	if escaped {
		line = line[1:]
	}
	const hexLen = 2 * sha256.Size
	if len(line) < hexLen+3 || (line[hexLen+1] != ' ' && line[hexLen+1] != '*') || line[hexLen] != ' ' {
		return l, errMalformedSum
	}
	digest := line[:hexLen]
	if _, err := hex.Decode(l.Sum[:], []byte(digest)); err != nil {
		return l, fmt.Errorf("%w: digest is not hex", errMalformedSum)
	}
	name := line[hexLen+2:]
	if escaped {
		var ok bool
		if name, ok = unescape(name); !ok {
			return l, fmt.Errorf("%w: bad escape in file name", errMalformedSum)
		}
	} else if strings.ContainsAny(name, "\n") {
		return l, errMalformedSum
	}
	if name == "" {
		return l, fmt.Errorf("%w: no file name", errMalformedSum)
	}
	l.Name = name
	return l, nil
}

// ParseSumFile reads every line of a checksum file. Empty lines are not
// allowed; the final newline is optional, and a carriage return ending a
// line is dropped, as sha256sum -c drops it.
func ParseSumFile(data []byte) ([]SumLine, error) {
	if len(data) > MaxSumFileSize {
		return nil, fmt.Errorf("%w: checksum file larger than %d bytes", errMalformedSum, MaxSumFileSize)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty file", errMalformedSum)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	var lines []SumLine
	for i, text := range strings.Split(string(data), "\n") {
		l, err := parseSumLine(strings.TrimSuffix(text, "\r"))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		lines = append(lines, l)
	}
	return lines, nil
}
