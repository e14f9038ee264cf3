package procmem

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/vma"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
	"github.com/ckpt-dev/ckpt/proc"
)

// DefaultMaxHits is how many matches Search keeps when not told.
const DefaultMaxHits = 1000

// maxKept is the most of one match a [ProcessHit] keeps; Length says how long it was.
const maxKept = 4096

// SearchOptions say what to look for, where.
type SearchOptions struct {
	// Select narrows the search to one process (PID) or container; the
	// zero value searches every process and shared memory segment.
	Select
	Pattern mem.Pattern
	// Context is how many bytes around each match to keep.
	Context int
	// MaxHits caps the matches kept (DefaultMaxHits when 0); the rest are
	// only counted, so that memory stays bounded.
	MaxHits int
	Limits  archive.Limits
	// Progress, when set, is told how many bytes of pages were read.
	Progress func(n int64)
}

// MapInfo says which mapping a [ProcessHit] is in: the fields of its
// [NumberedMapping] that a search reports.
type MapInfo struct {
	Index int    `json:"index"`
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
	Perms string `json:"perms"`
	Kind  string `json:"kind"`
	File  string `json:"file"`
}

// ProcessHit is a [mem.Hit] placed in its process (or shared memory
// segment) and mapping, with its bytes kept and shown as text: one match
// of [Search].
type ProcessHit struct {
	Container string `json:"container"`
	PID       uint32 `json:"pid"`
	Comm      string `json:"comm"`
	Address   uint64 `json:"address"`
	Length    int    `json:"length"`
	// Mapping is nil for memory outside every mapping (a damaged dump)
	// and for a shared memory segment no process maps.
	Mapping *MapInfo `json:"mapping"`
	// Match, Before and After are the bytes; MatchText and the context
	// fields show them as text with \xNN for other bytes.
	Match         []byte `json:"-"`
	Before        []byte `json:"-"`
	After         []byte `json:"-"`
	MatchText     string `json:"match"`
	MatchHex      string `json:"match_hex"`
	ContextBefore string `json:"context_before"`
	ContextAfter  string `json:"context_after"`
	// Truncated says the match was longer than the bytes kept.
	Truncated bool `json:"truncated"`

	shmid uint32 // for hits in a shared memory segment, before mapping
	shmem bool
}

// SearchResult is what Search found.
type SearchResult struct {
	Hits []ProcessHit `json:"hits"`
	// Total counts every match, kept or not.
	Total int `json:"total"`
	// Processes and shared memory segments searched, and their bytes.
	Processes int   `json:"processes"`
	Segments  int   `json:"shmem_segments"`
	Bytes     int64 `json:"bytes_searched"`
	// Complete is false when MaxHits cut the list short.
	Complete bool     `json:"complete"`
	Warnings []string `json:"warnings"`
}

// Search looks for a pattern in the memory of the selected processes, in
// one pass over the archive.
func Search(ctx context.Context, a *archive.Archive, opt SearchOptions) (*SearchResult, error) {
	maxHits := opt.MaxHits
	if maxHits == 0 {
		maxHits = DefaultMaxHits
	}
	res := &SearchResult{Hits: []ProcessHit{}, Warnings: []string{}, Complete: true}
	pg := newPages(ctx, a, opt.Progress,
		func(c *archive.Checkpoint, pid, shmid uint32, shmem bool) bool {
			switch {
			case !opt.Select.matches(c):
				return false
			case opt.PID == 0:
				return true
			case shmem:
				// A segment the process maps (its mm has been read).
				m := mmOf(c, opt.PID)
				return m != nil && slices.ContainsFunc(m.GetVmas(), func(v *vma.VmaEntry) bool {
					return v.GetStatus()&vmaAnonShared != 0 && uint32(v.GetShmid()) == shmid
				})
			}
			return pid == opt.PID
		},
		func(c *archive.Checkpoint, pid, shmid uint32, ix *criu.PageIndex, r io.Reader) error {
			if shmid != 0 || pid == 0 {
				res.Segments++
			} else {
				res.Processes++
			}
			res.Bytes += int64(mem.PresentBytes(ix))
			return mem.Search(ix, r, opt.Pattern, mem.SearchOptions{Context: opt.Context}, func(h mem.Hit) error {
				res.Total++
				if len(res.Hits) >= maxHits {
					res.Complete = false
					return nil
				}
				res.Hits = append(res.Hits, keep(c, pid, shmid, h))
				return nil
			})
		})
	pg.mmOf = opt.PID // shared memory is searched when opt.PID maps it
	contents, err := load(a, opt.Limits, pg, nil)
	if err != nil {
		return nil, err
	}
	if err := check(a, contents, opt.Select, pg, res); err != nil {
		return nil, err
	}
	annotate(a, contents, opt.Select, res)
	slices.SortStableFunc(res.Hits, func(x, y ProcessHit) int {
		return cmp.Or(cmp.Compare(x.Container, y.Container), cmp.Compare(x.PID, y.PID), cmp.Compare(x.Address, y.Address))
	})
	return res, nil
}

// keep copies a hit out of the search window.
func keep(c *archive.Checkpoint, pid, shmid uint32, h mem.Hit) ProcessHit {
	m := h.Match
	out := ProcessHit{Container: strings.TrimSuffix(c.Prefix, "/"), PID: pid, Address: h.Addr, Length: len(m), shmid: shmid, shmem: shmid != 0 || pid == 0}
	if len(m) > maxKept {
		m, out.Truncated = m[:maxKept], true
	}
	out.Match = slices.Clone(m)
	out.Before = slices.Clone(h.Before)
	out.After = slices.Clone(h.After)
	out.MatchText = Escape(out.Match)
	out.MatchHex = hex.EncodeToString(out.Match)
	out.ContextBefore = Escape(out.Before)
	out.ContextAfter = Escape(out.After)
	return out
}

// check makes sure every selected process with memory was searched.
//
// A process whose mm-N.img is missing but whose pagemap and pages are
// there is searched all the same, whether [Select] names it or not: its
// hits carry no mapping, and a warning says why.
func check(a *archive.Archive, contents *archive.Contents, sel Select, pg *pages, res *SearchResult) error {
	noMM := func(c *archive.Checkpoint, p *proc.Process) bool {
		if p.MM != nil || p.State == "zombie" || p.State == "dead" || c.Images.Get(fmt.Sprintf("pagemap-%d.img", p.PID)) == nil {
			return false
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("pid %d: mm-%d.img is missing: its memory was searched by its pagemap alone, so its hits have no mapping", p.PID, p.PID))
		return true
	}
	if sel.PID != 0 {
		t, err := findAny(a, contents, sel)
		if err != nil {
			return err
		}
		if !noMM(t.c, t.p) {
			if err := hasMemory(a, t.c, t.p); err != nil {
				return err
			}
		}
		return pg.missing(a, t.c, t.p.PID)
	}
	targets, err := all(a, contents, sel)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if p := t.p; p.MM == nil && !noMM(t.c, p) {
			if p.State != "zombie" && p.State != "dead" {
				res.Warnings = append(res.Warnings, fmt.Sprintf("pid %d: mm-%d.img and pagemap-%d.img are missing: its memory was not searched", p.PID, p.PID, p.PID))
			}
			continue // a zombie has no memory
		}
		if err := pg.missing(a, t.c, t.p.PID); err != nil {
			return err
		}
	}
	return nil
}

// annotate names the process and mapping of each hit. A hit in a shared
// memory segment is reported in every process that maps it.
func annotate(a *archive.Archive, contents *archive.Contents, sel Select, res *SearchResult) {
	type procMaps struct {
		comm string
		maps []NumberedMapping
		shm  []shmMap
	}
	cache := map[key]*procMaps{}
	var all []key
	for _, c := range contents.Checkpoints {
		t, err := tree(a, c)
		if err != nil {
			continue // check has reported it when it matters
		}
		for _, p := range t.Processes {
			k := key{c.Prefix, p.PID}
			pm := &procMaps{comm: p.Comm}
			pm.maps, _ = mappings(a, &target{c, t, p})
			pm.shm = shmMaps(p)
			cache[k] = pm
			all = append(all, k)
		}
	}
	var out []ProcessHit
	for _, h := range res.Hits {
		if !h.shmem {
			if pm := cache[key{prefixOf(h.Container), h.PID}]; pm != nil {
				h.Comm = pm.comm
				h.Mapping = mapInfo(pm.maps, h.Address)
			}
			out = append(out, h)
			continue
		}
		mapped := false
		for _, k := range all {
			pm := cache[k]
			if prefixOf(h.Container) != k.prefix {
				continue
			}
			if sel.PID != 0 && k.pid != sel.PID {
				continue
			}
			for _, s := range pm.shm {
				if s.shmid != h.shmid || h.Address < s.pgoff || h.Address-s.pgoff >= s.end-s.start {
					continue
				}
				hh := h
				hh.PID, hh.Comm = k.pid, pm.comm
				hh.Address = s.start + h.Address - s.pgoff
				hh.Mapping = mapInfo(pm.maps, hh.Address)
				out = append(out, hh)
				mapped = true
			}
		}
		if !mapped {
			h.Mapping = &MapInfo{Kind: "shmem", File: fmt.Sprintf("shared memory segment %d (address is the offset in it)", h.shmid)}
			out = append(out, h)
		}
	}
	if out == nil {
		out = []ProcessHit{}
	}
	res.Hits = out
}

func prefixOf(container string) string {
	if container == "" {
		return ""
	}
	return container + "/"
}

func mapInfo(maps []NumberedMapping, addr uint64) *MapInfo {
	i, ok := proc.FindMapping(len(maps), func(i int) *proc.Mapping { return &maps[i].Mapping }, addr)
	if !ok {
		return nil
	}
	m := maps[i]
	return &MapInfo{Index: m.Index, Start: m.Start, End: m.End, Perms: m.Perms, Kind: m.Kind, File: m.File}
}

// Escape shows bytes as text: printable ASCII as itself, backslash as \\,
// anything else as \xNN.
func Escape(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\\':
			sb.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}
