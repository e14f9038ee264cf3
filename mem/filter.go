package mem

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// mapKinds are the kinds of mapping a memory map names (see
// [github.com/ckpt-dev/ckpt/proc.Mapping]).
var mapKinds = []string{"aio", "anonymous", "file", "heap", "memfd", "shmem", "socket", "stack", "sysvipc", "vdso", "vsyscall", "vvar"}

// MapKinds returns the mapping kinds a [MapFilter] accepts, sorted. (They
// are kinds of memory mapping, not the kinds of secret of package scan.)
func MapKinds() []string { return slices.Clone(mapKinds) }

// MapFilter selects mappings. The zero value selects every mapping.
type MapFilter struct {
	// Ranges keeps mappings that overlap any of them.
	Ranges []Range
	// Perms is a pattern of the permission string: see [ParsePerms].
	Perms string
	// Kinds keeps mappings of these kinds (see [MapKinds]).
	Kinds []string
}

// Match reports whether a mapping passes the filter.
func (f MapFilter) Match(start, end uint64, perms, kind string) bool {
	if len(f.Ranges) > 0 && !slices.ContainsFunc(f.Ranges, func(r Range) bool { return r.Start < end && start < r.End }) {
		return false
	}
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, kind) {
		return false
	}
	for i := range len(f.Perms) {
		if i >= len(perms) {
			return false
		}
		switch c := f.Perms[i]; c {
		case '?':
		case '-':
			if perms[i] != '-' {
				return false
			}
		default:
			if perms[i] != c {
				return false
			}
		}
	}
	return true
}

// ParsePerms checks a permission pattern: up to four positions of
// /proc/PID/maps' "rwxp", each the letter (set), '-' (clear) or '?'
// (either); the fourth is p (private) or s (shared). "r-x" is readable and
// executable and not writable; "?w" is writable.
func ParsePerms(s string) (string, error) {
	if len(s) == 0 || len(s) > 4 {
		return "", fmt.Errorf("permissions %q: want up to four of rwx and p or s, - or ? (like r-x or rw?p)", s)
	}
	for i := range len(s) {
		c := s[i]
		ok := c == '-' || c == '?' || c == "rwxp"[i] || i == 3 && c == 's'
		if !ok {
			return "", fmt.Errorf("permissions %q: %q cannot be at position %d (want %c, - or ?)", s, c, i+1, "rwxp"[i])
		}
	}
	return s, nil
}

// ParseMapKinds checks a comma-separated list of mapping kinds.
func ParseMapKinds(s string) ([]string, error) {
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(strings.ToLower(k))
		if k == "" {
			continue
		}
		if !slices.Contains(mapKinds, k) {
			return nil, fmt.Errorf("unknown mapping kind %q (want %s)", k, strings.Join(mapKinds, ", "))
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no mapping kind in %q", s)
	}
	return out, nil
}

// ParseRange reads an address range: "START-END" (end exclusive, as in
// /proc/PID/maps) or a single address, in hex with or without 0x.
func ParseRange(s string) (Range, error) {
	if a, b, ok := strings.Cut(s, "-"); ok {
		start, err := ParseAddr(a)
		if err != nil {
			return Range{}, err
		}
		end, err := ParseAddr(b)
		if err != nil {
			return Range{}, err
		}
		if end <= start {
			return Range{}, fmt.Errorf("range %q: end is not after start", s)
		}
		return Range{start, end}, nil
	}
	a, err := ParseAddr(s)
	if err != nil {
		return Range{}, err
	}
	if a == 1<<64-1 {
		return Range{a, a}, fmt.Errorf("range %q: past the end of the address space", s)
	}
	return Range{a, a + 1}, nil
}

// ParseAddr reads an address in hex, with or without 0x, as /proc/PID/maps
// and hexdump print them.
func ParseAddr(s string) (uint64, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	v, err := strconv.ParseUint(t, 16, 64)
	if err != nil || t == "" {
		return 0, fmt.Errorf("address %q: want hex, like 0x7ffe2633afc3 or 55d5dcbb1000", s)
	}
	return v, nil
}
