package inspect

import (
	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/proc"
)

// Sections choose what a report holds beyond identity, sizes and the
// process tree.
type Sections struct {
	Env     bool // environment variables
	Files   bool // open files, including sockets
	Sockets bool // sockets only
	Mounts  bool
	Maps    bool // memory mappings (the per-process summary is always there)
	Stats   bool // CRIU dump statistics and dump.log
	RootFS  bool // rootfs diff and deleted files
}

// All selects every section.
func All() Sections {
	return Sections{Env: true, Files: true, Sockets: true, Mounts: true, Maps: true, Stats: true, RootFS: true}
}

// Report is one checkpoint (one container) of an archive.
type Report struct {
	Archive   ArchiveInfo      `json:"archive"`
	Container string           `json:"container_path,omitempty"` // inside a pod archive
	Identity  archive.Identity `json:"identity"`
	Sizes     archive.Sizes    `json:"sizes"`
	Processes []Process        `json:"processes"`
	Mounts    *Mounts          `json:"mounts,omitempty"`
	Dump      *Dump            `json:"dump,omitempty"`
	RootFS    *RootFS          `json:"rootfs,omitempty"`
	Warnings  []string         `json:"warnings"`
}

// ArchiveInfo is the archive as a file.
type ArchiveInfo struct {
	Name         string           `json:"name"`
	Layers       []archive.Format `json:"layers"`
	Size         int64            `json:"size"` // -1 for a stream
	RandomAccess bool             `json:"random_access"`
	Trailer      archive.Trailer  `json:"trailer"`
	Pod          *archive.Pod     `json:"pod,omitempty"`
}

// Process is one process with what the sections asked for.
type Process struct {
	PID      uint32        `json:"pid"`
	PPID     uint32        `json:"ppid"`
	PGID     uint32        `json:"pgid"`
	SID      uint32        `json:"sid"`
	Comm     string        `json:"comm"`
	State    string        `json:"state"`
	ExitCode int32         `json:"exit_code"`
	Threads  []proc.Thread `json:"threads"`
	Cmdline  []string      `json:"cmdline"`
	// CmdlineComplete is false when part of the argument area was not in
	// the dump.
	CmdlineComplete bool               `json:"cmdline_complete"`
	Env             []string           `json:"env,omitempty"`
	Exe             string             `json:"exe"`
	Cwd             string             `json:"cwd"`
	Root            string             `json:"root"`
	Creds           *proc.Creds        `json:"creds"`
	Capabilities    string             `json:"capabilities"` // summary of the effective set
	Memory          proc.MemorySummary `json:"memory"`
	// MissingImages names the images of this process the dump lacks: the
	// facts they hold (cwd, memory, files, command line) are unknown, not
	// empty.
	MissingImages []string        `json:"missing_images"`
	FDs           []proc.FD       `json:"fds,omitempty"`
	Locks         []proc.FileLock `json:"locks,omitempty"`
	Maps          []proc.Mapping  `json:"maps,omitempty"`
}

// Mounts are the container's mounts as CRIU saw them and as the runtime
// configured them.
type Mounts struct {
	CRIU []proc.Mount `json:"criu"`
	Spec []SpecMount  `json:"spec"`
}

// SpecMount is a mount of the OCI spec (spec.dump).
type SpecMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options"`
}

// Dump is how CRIU's dump went.
type Dump struct {
	Stats *Stats `json:"stats"`
	// StatsError says why stats-dump, present, could not be read.
	StatsError string           `json:"stats_error,omitempty"`
	Log        *archive.DumpLog `json:"log"`
}

// Stats are CRIU's dump statistics (stats-dump), times in microseconds.
type Stats struct {
	FreezingTime       uint32 `json:"freezing_time_us"`
	FrozenTime         uint32 `json:"frozen_time_us"`
	MemdumpTime        uint32 `json:"memdump_time_us"`
	MemwriteTime       uint32 `json:"memwrite_time_us"`
	PagesScanned       uint64 `json:"pages_scanned"`
	PagesSkippedParent uint64 `json:"pages_skipped_parent"`
	PagesWritten       uint64 `json:"pages_written"`
	PagesLazy          uint64 `json:"pages_lazy"`
}

// RootFS is what the container changed in its root filesystem.
type RootFS struct {
	Diff    *archive.Listing `json:"diff"`
	Deleted []string         `json:"deleted"`
}
