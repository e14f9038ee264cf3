package procmem

import (
	"fmt"
	"path"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
	"github.com/ckpt-dev/ckpt/proc"
)

// NumberedMapping is a [proc.Mapping] with its number in the process's
// map, counted from 1 in address order whatever the filter: the number a
// [MapRef] takes.
type NumberedMapping struct {
	Index int `json:"index"`
	proc.Mapping
}

// ProcessMaps is one process's memory map.
type ProcessMaps struct {
	// Container is the container's name in a pod archive, else empty.
	Container string            `json:"container"`
	PID       uint32            `json:"pid"`
	Comm      string            `json:"comm"`
	State     string            `json:"state"`
	Mappings  []NumberedMapping `json:"mappings"`
	// MissingImages names the memory images of the process the dump lacks
	// (mm-N.img: the mappings are unknown; pages-N.img: the bytes counted
	// present are not in the archive).
	MissingImages []string `json:"missing_images"`
}

// MapsOptions choose the processes and mappings Maps lists.
type MapsOptions struct {
	Select
	Filter mem.MapFilter
	Limits archive.Limits
}

// Maps lists the memory maps of the selected processes, in container and
// pid order. A zombie is listed with no mappings, unless it was asked for
// by pid, which is an error (ErrNoMemory). It holds every mapping of
// every process; EachMaps holds one process's.
func Maps(a *archive.Archive, opt MapsOptions) ([]ProcessMaps, error) {
	out := []ProcessMaps{}
	err := EachMaps(a, opt, func(pm *ProcessMaps) error {
		out = append(out, *pm)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachMaps calls fn with the memory map of each process Maps would list,
// in the same order, building one process's mappings at a time so that a
// caller that writes them out holds no more than one process's: about
// 200 bytes per mapping of the largest process, on top of the archive's
// metadata. pm is valid only until fn returns. Every process's page index
// is checked before fn is first called, so an archive that fails, fails
// before anything is written. An error from fn stops the walk and is
// returned.
func EachMaps(a *archive.Archive, opt MapsOptions, fn func(pm *ProcessMaps) error) error {
	contents, err := load(a, opt.Limits, nil, proc.ImageFields())
	if err != nil {
		return err
	}
	var targets []*target
	if opt.PID != 0 {
		t, err := find(a, contents, opt.Select)
		if err != nil {
			return err
		}
		targets = []*target{t}
	} else if targets, err = all(a, contents, opt.Select); err != nil {
		return err
	}
	// Every process's page index is checked before the first process is
	// handed over, so that a bad image fails the walk before anything is
	// written (no partial output).
	for _, t := range targets {
		if err := checkMemory(a, t); err != nil {
			return err
		}
	}
	// The pages images each checkpoint holds, by base name: looked up once
	// per process, which a scan of c.Pages made quadratic in processes.
	pages := map[*archive.Checkpoint]map[string]bool{}
	for _, t := range targets {
		if pages[t.c] == nil {
			names := make(map[string]bool, len(t.c.Pages))
			for _, e := range t.c.Pages {
				names[path.Base(e.Name)] = true
			}
			pages[t.c] = names
		}
		maps, err := mappings(a, t)
		if err != nil {
			return err
		}
		// Filtered in place: maps is this process's own.
		kept := maps[:0]
		for _, m := range maps {
			if opt.Filter.Match(m.Start, m.End, m.Perms, m.Kind) {
				kept = append(kept, m)
			}
		}
		if kept == nil {
			kept = []NumberedMapping{}
		}
		pm := ProcessMaps{Container: strings.TrimSuffix(t.c.Prefix, "/"), PID: t.p.PID, Comm: t.p.Comm, State: t.p.State, Mappings: kept, MissingImages: missingMemory(t, pages[t.c])}
		if err := fn(&pm); err != nil {
			return err
		}
	}
	return nil
}

// checkMemory fails as mappings fails for t, without building the
// mappings: the page index is the only part of them that can fail.
func checkMemory(a *archive.Archive, t *target) error {
	if t.p.MM == nil {
		return nil
	}
	if err := imageError(t.c, fmt.Sprintf("pagemap-%d.img", t.p.PID)); err != nil {
		return err
	}
	if _, err := criu.PageIndexFor(t.c.Images, t.p.PID); err != nil {
		return failf(a, t.c, "", fmt.Errorf("pid %d: %w", t.p.PID, err))
	}
	return nil
}

// mappings numbers a process's mappings.
func mappings(a *archive.Archive, t *target) ([]NumberedMapping, error) {
	if t.p.MM == nil {
		return nil, nil
	}
	if err := imageError(t.c, fmt.Sprintf("pagemap-%d.img", t.p.PID)); err != nil {
		return nil, err
	}
	maps, err := t.tree.Maps(t.c.Images, t.p)
	if err != nil {
		return nil, failf(a, t.c, "", fmt.Errorf("pid %d: %w", t.p.PID, err))
	}
	out := make([]NumberedMapping, len(maps))
	for i, m := range maps {
		out[i] = NumberedMapping{Index: i + 1, Mapping: m}
	}
	return out, nil
}

// missingMemory lists the memory images of t's process the dump lacks;
// pages holds the base names of its checkpoint's pages images.
func missingMemory(t *target, pages map[string]bool) []string {
	out := []string{}
	for _, m := range t.p.Missing {
		if strings.HasPrefix(m, "mm-") || strings.HasPrefix(m, "pagemap-") {
			out = append(out, m)
		}
	}
	if h := criu.First[*pagemap.PagemapHead](t.c.Images, fmt.Sprintf("pagemap-%d.img", t.p.PID)); h != nil && t.p.MM != nil {
		name := fmt.Sprintf("pages-%d.img", h.GetPagesId())
		if !pages[name] {
			out = append(out, name)
		}
	}
	return out
}
