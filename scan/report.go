package scan

import (
	"cmp"
	"slices"
)

// Source says what part of an archive a finding is in.
type Source string

// Sources, in report order.
const (
	SourceMemory  Source = "memory"  // a process's memory pages
	SourceCmdline Source = "cmdline" // the memory holding a process's arguments
	SourceEnviron Source = "environ" // the memory holding a process's environment
	SourceSpec    Source = "spec"    // spec.dump: the container's configured process
	SourceRootFS  Source = "rootfs"  // a file the container wrote (rootfs-diff.tar)
	SourcePayload Source = "payload" // pipe and socket queues, TCP streams, ghost files
	SourceLog     Source = "log"     // the container log in the archive
	SourceFile    Source = "file"    // another file of the archive
)

var sourceOrder = []Source{SourceMemory, SourceCmdline, SourceEnviron, SourceSpec, SourceRootFS, SourcePayload, SourceLog, SourceFile}

// Location is one place a value was found. Which fields are set depends on
// Source: memory, cmdline and environ have PID, Address and Mapping;
// rootfs has Path; spec has Field; payload has Entry. Offset is always the
// byte offset in File (for memory, in the pages image; for rootfs, in the
// file at Path; for payloads, in the entry's payload; for spec, in the
// field's string).
//
// Address and Offset are where the value starts, past any label that
// identified it (NAME=, AccountKey=, Authorization: Bearer), so that with
// [Finding].Length they delimit exactly the bytes of the value.
type Location struct {
	Archive   string `json:"archive"`
	Container string `json:"container,omitempty"` // in a pod archive
	Source    Source `json:"source"`
	// File is the archive member.
	File  string `json:"file"`
	Path  string `json:"path,omitempty"`
	Field string `json:"field,omitempty"`
	// Entry is the index of the CRIU image entry the payload follows.
	Entry   *int   `json:"entry,omitempty"`
	Offset  int64  `json:"offset"`
	PID     uint32 `json:"pid,omitempty"`
	Comm    string `json:"comm,omitempty"`
	Address uint64 `json:"address,omitempty"`
	// Mapping is the kind of memory mapping (heap, stack, anonymous, file,
	// ...), and MappingFile the mapped file.
	Mapping     string `json:"mapping,omitempty"`
	MappingFile string `json:"mapping_file,omitempty"`
}

func compareLocations(a, b *Location) int {
	if c := cmp.Compare(a.Archive, b.Archive); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Container, b.Container); c != 0 {
		return c
	}
	if c := cmp.Compare(slices.Index(sourceOrder, a.Source), slices.Index(sourceOrder, b.Source)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.PID, b.PID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.File, b.File); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Path, b.Path); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Field, b.Field); c != 0 {
		return c
	}
	if c := cmp.Compare(entryOf(a), entryOf(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Address, b.Address); c != 0 {
		return c
	}
	return cmp.Compare(a.Offset, b.Offset)
}

func entryOf(l *Location) int {
	if l.Entry == nil {
		return -1
	}
	return *l.Entry
}

// Finding is one distinct value of one kind, with where it was found.
type Finding struct {
	Kind Kind `json:"kind"`
	// Preview is the value redacted; Length its length in bytes.
	Preview string `json:"preview"`
	Length  int    `json:"length"`
	// Value is the value itself, only when the report was asked to reveal.
	Value string `json:"value,omitempty"`
	// Detail is what is known of it that is not secret: a variable's name,
	// a key's type, a token's subject, issuer and expiry.
	Detail string `json:"detail"`
	// Count is how many times the value was found.
	Count int `json:"count"`
	// Locations are the first places, in order; LocationsOmitted counts the
	// others.
	Locations        []Location `json:"locations"`
	LocationsOmitted int        `json:"locations_omitted"`
}

// KindSummary counts the findings of one kind.
type KindSummary struct {
	Kind Kind `json:"kind"`
	// Findings counts the distinct values listed, Occurrences every place
	// a value of the kind was found (listed or not).
	Findings    int `json:"findings"`
	Occurrences int `json:"occurrences"`
}

// SourceSummary says how much of one source an archive had and was
// scanned.
type SourceSummary struct {
	Source Source `json:"source"`
	// Items are pages images, files, payloads or strings.
	Items int   `json:"items"`
	Bytes int64 `json:"bytes"`
}

// ArchiveSummary describes what was scanned in one archive.
type ArchiveSummary struct {
	Archive    string          `json:"archive"`
	Containers int             `json:"containers"`
	Processes  int             `json:"processes"`
	Scanned    []SourceSummary `json:"scanned"`
	// NotScanned lists members whose content could not be scanned, and why.
	NotScanned []string `json:"not_scanned"`
	Warnings   []string `json:"warnings"`
}

// Report is the result of scanning archives.
type Report struct {
	Archives []ArchiveSummary `json:"archives"`
	// Summary has every kind, in kind order, even those not found.
	Summary []KindSummary `json:"summary"`
	// Findings are sorted by kind, then by first location.
	Findings []Finding `json:"findings"`
	// Unlisted counts the occurrences of values found after the limit of
	// distinct values was reached: in the summary's occurrences, not
	// listed in Findings.
	Unlisted int `json:"unlisted"`
	// Revealed says whether findings carry their values.
	Revealed bool `json:"revealed"`
}

// Found counts the occurrences of the given kinds.
func (r *Report) Found(kinds []Kind) int {
	n := 0
	for _, s := range r.Summary {
		if slices.Contains(kinds, s.Kind) {
			n += s.Occurrences
		}
	}
	return n
}
