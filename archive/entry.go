package archive

import (
	"fmt"
	"path"
	"strings"
	"time"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"

	"github.com/ckpt-dev/ckpt/criu"
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

// ImageKind says what an archive member is to CRIU.
type ImageKind int

// Image kinds.
const (
	// ImageNone is any member that is not a CRIU image: metadata, logs,
	// the rootfs diff, files in subdirectories of checkpoint/.
	ImageNone ImageKind = iota
	// ImageEntries is an image of protobuf entries after a magic, as crit
	// decodes it: pstree.img, core-1.img, and CRIU's statistics
	// (stats-dump, at the container's top or in checkpoint/).
	ImageEntries
	// ImageRaw is an image of raw data with no magic: memory pages,
	// tmpfs tarballs, netlink and iptables dumps (see [criu.IsRaw]).
	ImageRaw
)

// ImageOf says whether e is a CRIU image of a container's dump, and
// returns the image's name (pstree.img, pages-1.img, stats-dump) and
// kind. It is the rule [Load] follows to hand images to
// [LoadOptions].Image and pages to [LoadOptions].Pages, for readers that
// walk the members themselves.
func ImageOf(e *Entry) (name string, kind ImageKind) {
	if e.Type != TypeFile {
		return "", ImageNone
	}
	_, rel, ok := route(e.Name)
	if !ok {
		return "", ImageNone
	}
	return imageOf(rel)
}

// imageOf classifies rel, a member's name relative to its container.
func imageOf(rel string) (string, ImageKind) {
	if rel == statsDump || rel == metadata.CheckpointDirectory+"/"+statsDump {
		return statsDump, ImageEntries
	}
	name, ok := strings.CutPrefix(rel, metadata.CheckpointDirectory+"/")
	switch {
	case !ok || strings.Contains(name, "/") || !strings.HasSuffix(name, ".img"):
		return "", ImageNone
	case criu.IsRaw(name):
		return name, ImageRaw
	}
	return name, ImageEntries
}

// statsDump is the name of CRIU's statistics image of a dump.
const statsDump = "stats-dump"
