package archive

import (
	"bytes"

	"filippo.io/age/armor"
)

// Format is the kind of one layer of an archive.
type Format int

// Layer formats, from the outside in: Age, then one compression, then Tar.
const (
	Unknown Format = iota
	Tar
	Gzip
	Zstd
	Bzip2
	Xz
	Age
)

var formatNames = [...]string{"unknown", "tar", "gzip", "zstd", "bzip2", "xz", "age"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// MarshalText makes formats render by name in JSON.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// SniffLen is how many leading bytes Sniff needs to see: the ustar magic
// sits at offset 257 of the first header.
const SniffLen = 512

// Sniff identifies a layer from its first bytes. A short input is judged
// on what there is.
func Sniff(b []byte) Format {
	switch {
	case bytes.HasPrefix(b, []byte("age-encryption.org/")), bytes.HasPrefix(b, []byte(armor.Header)):
		return Age
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(b, []byte("BZh")) && len(b) > 3 && b[3] >= '1' && b[3] <= '9':
		return Bzip2
	case bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return Xz
	case isTarHeader(b):
		return Tar
	}
	return Unknown
}

// isTarHeader accepts a POSIX/GNU header by its magic, or an old V7 header
// by its checksum.
func isTarHeader(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	if bytes.Equal(b[257:262], []byte("ustar")) {
		return true
	}
	return v7Checksum(b[:512])
}

// v7Checksum checks the header checksum: the sum of the header bytes with
// the checksum field counted as spaces.
func v7Checksum(h []byte) bool {
	field := bytes.TrimRight(bytes.TrimLeft(h[148:156], " \x00"), " \x00")
	if len(field) == 0 {
		return false
	}
	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want && sum != 8*' '
}
