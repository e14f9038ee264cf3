package shred

import "errors"

var (
	// ErrRefused means a file was left untouched because shredding it
	// would be wrong or ineffective: not a regular file, still being
	// written, locked, immutable, on a read-only or overlay mount. The
	// Result's reasons say which.
	ErrRefused = errors.New("refused")
	// ErrVerify means the data read back after the last pass differed
	// from what was written. The file is not removed.
	ErrVerify = errors.New("verification failed")
	// ErrUnsupported means shredding is not implemented on this platform.
	ErrUnsupported = errors.New("shred is supported on Linux only")
)
