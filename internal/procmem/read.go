package procmem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
)

// MapRef chooses a mapping: by its number in the map (Index, from 1) or
// as the one holding Addr.
type MapRef struct {
	Index  int
	Addr   uint64
	ByAddr bool
}

// ReadOptions say what to read and where it goes.
type ReadOptions struct {
	Select
	// Range is read when Map is zero.
	Range mem.Range
	Map   MapRef
	// Plan is called once, before any memory, with what will be read; an
	// error from it stops the read with nothing delivered.
	Plan func(*ReadPlan) error
	// Block receives the memory in address order.
	Block  func(mem.Block) error
	Limits archive.Limits
	// Progress, when set, is told how many bytes of pages were read.
	Progress func(n int64)
}

// ReadPlan is what a read will deliver.
type ReadPlan struct {
	Container string    `json:"container"`
	PID       uint32    `json:"pid"`
	Range     mem.Range `json:"-"`
	Start     uint64    `json:"start"`
	End       uint64    `json:"end"`
	// Mapping is the number of the mapping read by [MapRef], else 0.
	Mapping int `json:"mapping"`
	// Present and Absent count the bytes in the dump and not in it.
	Present uint64 `json:"present_bytes"`
	Absent  uint64 `json:"absent_bytes"`
	// Spans are the pieces, present or absent, in address order.
	Spans []criu.PageSpan `json:"-"`
}

// FirstAbsent returns the first absent span, if any.
func (p *ReadPlan) FirstAbsent() (criu.PageSpan, bool) {
	for _, s := range p.Spans {
		if s.Absent != nil {
			return s, true
		}
	}
	return criu.PageSpan{}, false
}

// Read reads a range of one process's memory in one pass over the archive.
func Read(ctx context.Context, a *archive.Archive, opt ReadOptions) (*ReadPlan, error) {
	if opt.PID == 0 {
		return nil, errors.New("read: a pid is required")
	}
	var plan *ReadPlan
	pg := processPages(ctx, a, opt.Progress, opt.PID, opt.Select,
		func(c *archive.Checkpoint, ix *criu.PageIndex, m *mm.MmEntry, r io.Reader) error {
			pid := opt.PID
			rng, idx, err := resolve(m, opt)
			if err != nil {
				return failf(a, c, fmt.Sprintf("mm-%d.img", pid), fmt.Errorf("pid %d: %w", pid, err))
			}
			plan = &ReadPlan{Container: strings.TrimSuffix(c.Prefix, "/"), PID: pid, Range: rng, Start: rng.Start, End: rng.End, Mapping: idx, Spans: ix.Spans(rng.Start, rng.Len())}
			for _, s := range plan.Spans {
				if s.Absent != nil {
					plan.Absent += s.Len
				} else {
					plan.Present += s.Len
				}
			}
			if opt.Plan != nil {
				if err := opt.Plan(plan); err != nil {
					return err
				}
			}
			return mem.Stream(ix, r, []mem.Range{rng}, nil, opt.Block)
		})
	if _, err := pg.loadProcess(a, opt.Limits, opt.Select); err != nil {
		return nil, err
	}
	return plan, nil
}

// resolve turns the options into a range, checked against the mappings.
func resolve(m *mm.MmEntry, opt ReadOptions) (mem.Range, int, error) {
	vmas := m.GetVmas()
	switch {
	case opt.Map.Index != 0:
		if opt.Map.Index < 1 || opt.Map.Index > len(vmas) {
			return mem.Range{}, 0, fmt.Errorf("mapping %d: %w (it has %d)", opt.Map.Index, ErrNoMapping, len(vmas))
		}
		v := vmas[opt.Map.Index-1]
		return mem.Range{Start: v.GetStart(), End: v.GetEnd()}, opt.Map.Index, nil
	case opt.Map.ByAddr:
		for i, v := range vmas {
			if v.GetStart() <= opt.Map.Addr && opt.Map.Addr < v.GetEnd() {
				return mem.Range{Start: v.GetStart(), End: v.GetEnd()}, i + 1, nil
			}
		}
		return mem.Range{}, 0, fmt.Errorf("%#x: %w", opt.Map.Addr, ErrOutside)
	}
	r := opt.Range
	if r.End <= r.Start {
		return mem.Range{}, 0, fmt.Errorf("empty range %s", r)
	}
	for _, v := range vmas {
		if v.GetStart() <= r.Start && r.Start < v.GetEnd() {
			return r, 0, nil
		}
	}
	return mem.Range{}, 0, fmt.Errorf("%#x: %w", r.Start, ErrOutside)
}
