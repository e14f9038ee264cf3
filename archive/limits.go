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
	// 64 MiB came out. Default 1000: gzip cannot exceed about 1032, and
	// real checkpoints compress 2 to 20 times.
	MaxRatio int64
	// MaxListing caps the files listed from a nested tar (rootfs diff).
	// Default 1,000,000.
	MaxListing int
}

func (l Limits) withDefaults() Limits {
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
		l.MaxRatio = 1000
	}
	if l.MaxListing <= 0 {
		l.MaxListing = 1_000_000
	}
	return l
}

// ratioGrace is how much may come out of a decompressor before the ratio
// is enforced: small archives of mostly zeros are legitimate.
const ratioGrace = 64 << 20
