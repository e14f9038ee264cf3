package archive

import (
	"time"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/stats"

	"github.com/ckpt-dev/ckpt/criu"
)

// Checkpoint is one container's checkpoint as Load found it.
type Checkpoint struct {
	// Prefix is where the container's files sit in the archive: "" for a
	// container archive, "<name>/" inside a pod archive.
	Prefix   string
	Identity Identity
	Metadata Metadata
	// Images are the CRIU images under checkpoint/, decoded, except the
	// raw ones (pages, tmpfs tarballs), which are only sized.
	Images *criu.ImageSet
	// ImageErrors holds the images that could not be decoded.
	ImageErrors []ImageError
	// Unreadable holds the optional files (network.status, stats-dump,
	// status, ...) that could not be read: the rest of the checkpoint was
	// read without them.
	Unreadable []ImageError
	// Pages lists the raw memory pages images, by name.
	Pages   []*Entry
	Stats   *stats.DumpStatsEntry // stats-dump, nil when absent
	DumpLog *DumpLog              // dump.log, nil when absent
	RootFS  *Listing              // rootfs-diff.tar, nil when absent
	DevShm  *Listing              // devshm-checkpoint.tar, nil when absent
	Sizes   Sizes
	// Entries are the archive entries that belong to this container.
	Entries []*Entry

	topStats, topDumpLog bool     // stats-dump and dump.log came from the top level
	warnings             []string // for Contents.Warnings

	// pagemapSniffed and pagemapNrPages: an identity-only pass looked at
	// the first entries of one pagemap, and they count pages the 4.2 way.
	pagemapSniffed, pagemapNrPages bool
}

// ImageError is an image that did not decode.
type ImageError struct {
	Name string `json:"name"`
	Err  error  `json:"-"`
}

// Sizes break down where the bytes of a checkpoint are.
type Sizes struct {
	Total  int64 `json:"total"`  // all entries of the container
	Pages  int64 `json:"pages"`  // memory pages images
	Images int64 `json:"images"` // other CRIU images
	RootFS int64 `json:"rootfs_diff"`
	DevShm int64 `json:"devshm"`
	Other  int64 `json:"other"` // metadata, logs
}

// Contents is what one pass over an archive found.
type Contents struct {
	Entries []*Entry
	Trailer Trailer
	// Pod is set for pod archives (pod.options or pod.dump at the top).
	Pod *Pod
	// Checkpoints has one element for a container archive and one per
	// container, sorted by prefix, for a pod archive.
	Checkpoints []*Checkpoint
	// Warnings are facts the user should know that do not stop reading.
	Warnings []string
}

// Pod describes a pod archive.
type Pod struct {
	Options *PodOptions `json:"options"` // nil without pod.options
	// Containers are the container names pod.options lists, sorted.
	Containers []string `json:"containers"`
}

// PodOptions mirrors pod.options with its maps made into sorted slices.
type PodOptions struct {
	Version     int        `json:"version"`
	Annotations []KeyValue `json:"annotations"`
}

// KeyValue is one entry of a map, for deterministic output.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// newestEntryTime is the fallback time of a dump: the newest modification
// time among the container's entries that were read. Podman records no
// checkpoint time, but writes its export right after the dump.
func (c *Checkpoint) newestEntryTime() time.Time {
	var t time.Time
	for _, e := range c.Entries {
		if e.ModTime.After(t) {
			t = e.ModTime
		}
	}
	return t
}
