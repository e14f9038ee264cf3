//go:build !linux

package shred

import (
	"context"
	"fmt"
)

// File is implemented on Linux only: the checks that make its report
// honest (FIEMAP, FS_IOC_GETFLAGS, /proc, /sys) are Linux interfaces.
func File(ctx context.Context, path string, opt Options) (Result, error) {
	r := newResult(path)
	r.Status, r.Assurance, r.Error = StatusFailed, Refused, ErrUnsupported.Error()
	return r, fmt.Errorf("%s: %w", path, ErrUnsupported)
}

// Dir is implemented on Linux only.
func Dir(ctx context.Context, root string, opt Options) ([]Result, error) {
	r, err := File(ctx, root, opt)
	return []Result{r}, err
}

// Assess is implemented on Linux only.
func Assess(path string) (Assessment, error) {
	return Assessment{}, fmt.Errorf("%s: %w", path, ErrUnsupported)
}

// Writers is implemented on Linux only.
func Writers(path string) ([]string, error) {
	return nil, fmt.Errorf("%s: %w", path, ErrUnsupported)
}
