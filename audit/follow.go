package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Follow calls fn with each record appended to the log at path, polling
// every interval, until ctx ends or fn fails. With fromStart the records
// already there come first. A torn last line is waited on, not reported:
// its writer's successor completes or removes it.
func Follow(ctx context.Context, path string, fromStart bool, interval time.Duration, fn func(Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var off int64
	if !fromStart {
		// Start after the last complete line.
		st, err := f.Stat()
		if err != nil {
			return err
		}
		off = st.Size()
		if off > 0 {
			n := min(off, 2*MaxRecord)
			buf := make([]byte, n)
			if _, err := f.ReadAt(buf, off-n); err != nil && err != io.EOF {
				return err
			}
			off -= n - int64(bytes.LastIndexByte(buf, '\n')+1)
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	buf := make([]byte, 1<<20)
	var pending []byte
	for {
		n, err := f.ReadAt(buf, off+int64(len(pending)))
		if err != nil && err != io.EOF {
			return err
		}
		if n > 0 {
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				rec, err := ParseRecord(pending[:i])
				if err != nil {
					return fmt.Errorf("%s: at offset %d: %w", path, off, err)
				}
				if err := fn(rec); err != nil {
					return err
				}
				off += int64(i + 1)
				pending = pending[i+1:]
			}
			if n == len(buf) {
				continue
			}
		}
		if st, err := f.Stat(); err == nil && st.Size() < off+int64(len(pending)) {
			// A torn line was removed by a repair: read it again.
			pending = pending[:0]
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
