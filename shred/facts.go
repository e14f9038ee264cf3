package shred

// facts are what assessment gathered about one file. The rules in
// filesystems.go turn them into findings; keeping the gathering (syscalls,
// /proc, /sys) apart from the judging lets the rules be tested on any
// combination of facts.
type facts struct {
	magic    int64  // statfs f_type
	mount    *mount // nil when the mount could not be found
	readOnly bool   // statfs ST_RDONLY

	// ext4Options are the options from /proc/fs/ext4/DEV/options, which
	// list every option including defaults; nil when unreadable.
	ext4Options     []string
	ext4OptionsPath string

	flags    uint32 // FS_IOC_GETFLAGS
	flagsErr error

	extents    extentSummary // FIEMAP
	extentsErr error

	swaps    []string // active swap areas, for memory filesystems
	swapsErr error
	// initOnFree says the kernel zeroes freed pages (init_on_free=1 on
	// the kernel command line).
	initOnFree bool

	overlay overlayFacts

	// device is the block device name under the filesystem, "" if none;
	// media are the findings from walking down to the physical device.
	device string
	media  []Finding
}

// extentSummary counts a file's extents by the FIEMAP flags that matter.
type extentSummary struct {
	Total   int
	Shared  int // FIEMAP_EXTENT_SHARED: reflinked or in a snapshot
	Inline  int // FIEMAP_EXTENT_DATA_INLINE: stored in metadata
	Encoded int // FIEMAP_EXTENT_ENCODED: compressed or otherwise transformed
	Unknown int // FIEMAP_EXTENT_UNKNOWN: location not known
}

// overlayFacts describe an overlay mount and where the file is in its
// layers.
type overlayFacts struct {
	rel    string   // path inside the overlay
	upper  string   // upperdir
	lowers []string // lowerdir, top first
	// found are the layer paths that hold the file, "upper: /x" or
	// "lower: /y"; upperPath is the upper-layer copy, "" if none.
	found     []string
	upperPath string
	// upperAssessment is the assessment of upperPath, when it was made.
	upperAssessment *Assessment
}

// File attribute flags (FS_IOC_GETFLAGS, include/uapi/linux/fs.h).
const (
	flagCompressed  = 0x00000004 // FS_COMPR_FL
	flagImmutable   = 0x00000010 // FS_IMMUTABLE_FL
	flagAppendOnly  = 0x00000020 // FS_APPEND_FL
	flagJournalData = 0x00004000 // FS_JOURNAL_DATA_FL
	flagNoCOW       = 0x00800000 // FS_NOCOW_FL
)
