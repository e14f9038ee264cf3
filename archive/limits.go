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
	// MaxHeld caps the memory pages held while a stream (a pipe) is read
	// whose pages images come before their pagemaps, not in CRIU's order.
	// A file is read a second time instead. Default 256 MiB.
	MaxHeld int64
	// MaxListing caps the files listed from a nested tar (rootfs diff).
	// Default 1,000,000.
	MaxListing int
	// MaxDecoded is the memory budget of one archive's process model: it
	// caps the bytes of CRIU entries (images without their payloads; pages
	// are never held) decoded and kept across all images. Default 512 MiB,
	// about 100,000 processes; what ckpt holds in memory for them is
	// roughly twice this. Past it, Load fails with ErrBudget rather than
	// growing until the kernel kills the process.
	MaxDecoded int64
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
	if l.MaxHeld <= 0 {
		l.MaxHeld = 256 << 20
	}
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = 512 << 20
	}
	if l.MaxListing <= 0 {
		l.MaxListing = 1_000_000
	}
	return l
}

// ratioGrace is how much may come out of a decompressor before the ratio
// is enforced: small archives of mostly zeros are legitimate.
const ratioGrace = 256 << 20
