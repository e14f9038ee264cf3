package archive

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// EntryType is the kind of a tar member. Only files and directories are
// ever read; the other kinds make Walk fail.
type EntryType string

// Entry types.
const (
	TypeFile EntryType = "file"
	TypeDir  EntryType = "dir"
)

// Entry describes one member of the archive.
type Entry struct {
	Name    string    `json:"name"` // cleaned, relative, slash-separated
	Type    EntryType `json:"type"`
	Size    int64     `json:"size"`
	Mode    uint32    `json:"mode"` // permission bits
	UID     int       `json:"uid"`
	GID     int       `json:"gid"`
	ModTime time.Time `json:"mod_time"`
	// Offset of the data in the plaintext tar stream.
	Offset int64 `json:"offset"`
}

// cleanName turns a tar member name into the slash path ckpt uses, or
// refuses it. Names are never used as filesystem paths, but a name that
// climbs out of the archive or is absolute means the archive was not
// written by a container runtime, and we say so.
func cleanName(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%w: empty name", ErrUnsafeEntry)
	}
	if strings.ContainsRune(raw, 0) {
		return "", fmt.Errorf("%w: NUL in name", ErrUnsafeEntry)
	}
	if strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("%w: absolute name", ErrUnsafeEntry)
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: name climbs out of the archive with ..", ErrUnsafeEntry)
		}
	}
	clean := path.Clean(raw)
	if clean == "." {
		return ".", nil
	}
	return clean, nil
}
