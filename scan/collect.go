package scan

import (
	"cmp"
	"crypto/sha256"
	"slices"
)

// collector deduplicates findings: one per kind, detail and value.
type collector struct {
	reveal       bool
	maxLocations int
	maxFindings  int
	// byKey indexes findings by a hash of kind, detail and value, so that
	// values are held only when they are to be revealed.
	byKey    map[[sha256.Size]byte]*Finding
	findings []*Finding
	counts   map[Kind]*KindSummary
	unlisted int
}

func newCollector(reveal bool, maxLocations, maxFindings int) *collector {
	return &collector{
		reveal: reveal, maxLocations: maxLocations, maxFindings: maxFindings,
		byKey: map[[sha256.Size]byte]*Finding{}, counts: map[Kind]*KindSummary{},
	}
}

func (c *collector) add(kind Kind, value []byte, detail string, loc Location) {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(detail))
	h.Write([]byte{0})
	h.Write(value)
	var key [sha256.Size]byte
	h.Sum(key[:0])

	ks := c.counts[kind]
	if ks == nil {
		ks = &KindSummary{Kind: kind}
		c.counts[kind] = ks
	}
	f := c.byKey[key]
	i, same := 0, false
	if f != nil {
		i, same = slices.BinarySearchFunc(f.Locations, &loc, func(a Location, b *Location) int { return compareLocations(&a, b) })
		if same {
			return // the same place, seen twice (a command line option, read whole and as bytes)
		}
	}
	ks.Occurrences++
	if f == nil {
		if len(c.findings) >= c.maxFindings {
			c.unlisted++
			return
		}
		ks.Findings++
		f = &Finding{Kind: kind, Preview: Preview(value), Length: len(value), Detail: detail, Locations: []Location{}}
		if c.reveal {
			f.Value = string(value)
		}
		c.byKey[key] = f
		c.findings = append(c.findings, f)
	}
	f.Count++
	switch {
	case len(f.Locations) < c.maxLocations:
		f.Locations = slices.Insert(f.Locations, i, loc)
	case i < len(f.Locations):
		f.Locations = slices.Insert(f.Locations[:len(f.Locations)-1], i, loc)
		f.LocationsOmitted++
	default:
		f.LocationsOmitted++
	}
}

// report returns the findings in kind order, then by first location.
func (c *collector) report() ([]KindSummary, []Finding) {
	summary := make([]KindSummary, 0, len(kinds))
	for _, k := range Kinds() {
		if s := c.counts[k]; s != nil {
			summary = append(summary, *s)
		} else {
			summary = append(summary, KindSummary{Kind: k})
		}
	}
	out := make([]Finding, 0, len(c.findings))
	for _, f := range c.findings {
		out = append(out, *f)
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.Kind != b.Kind {
			return a.Kind.index() - b.Kind.index()
		}
		if c := compareLocations(&a.Locations[0], &b.Locations[0]); c != 0 {
			return c
		}
		if a.Detail != b.Detail {
			return cmp.Compare(a.Detail, b.Detail)
		}
		return cmp.Compare(a.Preview, b.Preview)
	})
	return summary, out
}
