package diff

import (
	"testing"

	"github.com/ckpt-dev/ckpt/proc"
)

func mapping(start, end uint64, perms, kind, file string) proc.Mapping {
	return proc.Mapping{Start: start, End: end, Perms: perms, Kind: kind, File: file}
}

func TestCompareMaps(t *testing.T) {
	exe := mapping(0x400000, 0x401000, "r-xp", "file", "/app")
	for _, tc := range []struct {
		name string
		a, b []proc.Mapping
		want []MapChange
		sum  Counts
	}{
		{
			name: "unchanged",
			a:    []proc.Mapping{exe}, b: []proc.Mapping{exe},
			want: []MapChange{}, sum: Counts{Unchanged: 1},
		},
		{
			name: "heap grows with brk",
			a:    []proc.Mapping{exe, mapping(0x1000000, 0x1021000, "rw-p", "heap", "[heap]")},
			b:    []proc.Mapping{exe, mapping(0x1000000, 0x1042000, "rw-p", "heap", "[heap]")},
			want: []MapChange{{Change: Resized, Start: 0x1000000, End: 0x1042000, Perms: "rw-p", Kind: "heap", File: "[heap]",
				Fields: []FieldChange{{Field: "end", Old: uint64(0x1021000), New: uint64(0x1042000)}}}},
			sum: Counts{Unchanged: 1, Changed: 1},
		},
		{
			name: "stack grows down",
			a:    []proc.Mapping{mapping(0x7ffe0000, 0x7fff0000, "rw-p", "stack", "[stack]")},
			b:    []proc.Mapping{mapping(0x7ffd0000, 0x7fff0000, "rw-p", "stack", "[stack]")},
			want: []MapChange{{Change: Resized, Start: 0x7ffd0000, End: 0x7fff0000, Perms: "rw-p", Kind: "stack", File: "[stack]",
				Fields: []FieldChange{{Field: "start", Old: uint64(0x7ffe0000), New: uint64(0x7ffd0000)}}}},
			sum: Counts{Changed: 1},
		},
		{
			name: "mprotect splits a mapping",
			a:    []proc.Mapping{mapping(0x10000, 0x20000, "rw-p", "anonymous", "")},
			b:    []proc.Mapping{mapping(0x10000, 0x18000, "rw-p", "anonymous", ""), mapping(0x18000, 0x20000, "r--p", "anonymous", "")},
			want: []MapChange{
				{Change: Resized, Start: 0x10000, End: 0x18000, Perms: "rw-p", Kind: "anonymous", Fields: []FieldChange{{Field: "end", Old: uint64(0x20000), New: uint64(0x18000)}}},
				{Change: Added, Start: 0x18000, End: 0x20000, Perms: "r--p", Kind: "anonymous", Fields: []FieldChange{}},
			},
			sum: Counts{Changed: 1, Added: 1},
		},
		{
			name: "permissions change in place",
			a:    []proc.Mapping{exe}, b: []proc.Mapping{mapping(0x400000, 0x401000, "rwxp", "file", "/app")},
			want: []MapChange{{Change: Changed, Start: 0x400000, End: 0x401000, Perms: "rwxp", Kind: "file", File: "/app",
				Fields: []FieldChange{{Field: "perms", Old: "r-xp", New: "rwxp"}}}},
			sum: Counts{Changed: 1},
		},
		{
			name: "another file at the same place is removed and added",
			a:    []proc.Mapping{mapping(0x7f0000, 0x7f8000, "r--p", "file", "/lib/a.so")},
			b:    []proc.Mapping{mapping(0x7f0000, 0x7f9000, "r--p", "file", "/lib/b.so")},
			want: []MapChange{
				{Change: Removed, Start: 0x7f0000, End: 0x7f8000, Perms: "r--p", Kind: "file", File: "/lib/a.so", Fields: []FieldChange{}},
				{Change: Added, Start: 0x7f0000, End: 0x7f9000, Perms: "r--p", Kind: "file", File: "/lib/b.so", Fields: []FieldChange{}},
			},
			sum: Counts{Removed: 1, Added: 1},
		},
		{
			name: "munmap and mmap elsewhere",
			a:    []proc.Mapping{mapping(0x50000, 0x60000, "rw-p", "anonymous", "")},
			b:    []proc.Mapping{mapping(0x90000, 0xa0000, "rw-p", "anonymous", "")},
			want: []MapChange{
				{Change: Removed, Start: 0x50000, End: 0x60000, Perms: "rw-p", Kind: "anonymous", Fields: []FieldChange{}},
				{Change: Added, Start: 0x90000, End: 0xa0000, Perms: "rw-p", Kind: "anonymous", Fields: []FieldChange{}},
			},
			sum: Counts{Removed: 1, Added: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sum Counts
			got := compareMaps(tc.a, tc.b, &sum)
			if !equalJSON(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if sum != tc.sum {
				t.Errorf("counts %+v, want %+v", sum, tc.sum)
			}
		})
	}
}
