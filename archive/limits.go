package archive

// Limits bound what a hostile or broken archive can cost. The zero value
// of a field means its default.
type Limits struct {
	// MaxMetadata caps one metadata file held in memory (config.dump,
	// spec.dump, ...). Default 16 MiB; real ones are tens of KiB.
	MaxMetadata int64
	// MaxEntry caps one CRIU protobuf entry. Default 64 MiB.
	MaxEntry int64
	// MaxImage caps the bytes of one CRIU image (not pages) decoded into
	// memory. Default 256 MiB.
	MaxImage int64
	// MaxRatio caps decompressed bytes per compressed byte, once more than
	// 256 MiB came out, and what a tar header may claim against the size of
	// a compressed file. Default 10000. Real checkpoints compress 2 to 20
	// times; CRIU does not dump untouched zero pages, but memory a program
	// zeroed itself compresses to thousands to one with zstd, so the default
	// leaves room for it. Gzip never exceeds about 1032:1, so a gzip bomb is
	// caught by its header's claim (on a file) or a lower --max-ratio.
	MaxRatio int64
	// MaxPending caps the memory pages held while a stream (a pipe) is
	// read whose pages images come before their pagemaps, not in CRIU's
	// order. A file is read a second time instead. Default 256 MiB.
	MaxPending int64
	// MaxListing caps the files listed from a nested tar (rootfs diff).
	// Default 1,000,000.
	MaxListing int
	// MaxHeld caps the memory held for the whole pass over one archive:
	// member names and headers, nested listings (paths and link targets),
	// per-container records. Past it the archive is refused (ErrBudget).
	// Default 64 MiB.
	MaxHeld int64
	// MaxImages caps the bytes of CRIU entries (not pages, not payloads)
	// decoded and held for one archive, all images together. Decoded
	// entries take several times their encoded size in memory. Past it
	// the archive is refused (ErrBudget). Default 64 MiB: real checkpoints
	// hold tens of KiB to a few MiB, about 5 KiB a process, so the default
	// reads some 12,000 processes while a small hostile archive stays a
	// few hundred MiB of memory.
	MaxImages int64
}

// WithDefaults returns l with its zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxMetadata <= 0 {
		l.MaxMetadata = 16 << 20
	}
	if l.MaxEntry <= 0 {
		l.MaxEntry = 64 << 20
	}
	if l.MaxImage <= 0 {
		l.MaxImage = 256 << 20
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = 10000
	}
	if l.MaxPending <= 0 {
		l.MaxPending = 256 << 20
	}
	if l.MaxListing <= 0 {
		l.MaxListing = 1_000_000
	}
	if l.MaxHeld <= 0 {
		l.MaxHeld = 64 << 20
	}
	if l.MaxImages <= 0 {
		l.MaxImages = 64 << 20
	}
	return l
}

// ratioGrace is how much may come out of a decompressor before the ratio
// is enforced: small archives of mostly zeros are legitimate.
const ratioGrace = 256 << 20
