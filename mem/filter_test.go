package mem

import "testing"

func TestMapFilter(t *testing.T) {
	f := MapFilter{Perms: "r-x"}
	for perms, want := range map[string]bool{"r-xp": true, "r-xs": true, "rwxp": false, "r--p": false} {
		if f.Match(0, 1, perms, "file") != want {
			t.Errorf("r-x on %s: %v", perms, !want)
		}
	}
	f = MapFilter{Perms: "?w?s"}
	if !f.Match(0, 1, "rw-s", "shmem") || f.Match(0, 1, "rw-p", "heap") {
		t.Error("?w?s")
	}
	f = MapFilter{Kinds: []string{"heap", "stack"}, Ranges: []Range{{0x1000, 0x2000}}}
	if !f.Match(0x1fff, 0x3000, "rw-p", "heap") || f.Match(0x2000, 0x3000, "rw-p", "heap") || f.Match(0x1000, 0x2000, "rw-p", "file") {
		t.Error("kinds and ranges")
	}
	for _, bad := range []string{"", "rwxpq", "x", "rwxx", "w"} {
		if _, err := ParsePerms(bad); err == nil {
			t.Errorf("ParsePerms(%q) accepted", bad)
		}
	}
	if _, err := ParseMapKinds("heap,bogus"); err == nil {
		t.Error("unknown kind accepted")
	}
	for in, want := range map[string]Range{"55d5dcbb1000-55d5dcbd2000": {0x55d5dcbb1000, 0x55d5dcbd2000}, "0x10-0x20": {0x10, 0x20}, "0x10": {0x10, 0x11}} {
		if got, err := ParseRange(in); err != nil || got != want {
			t.Errorf("ParseRange(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"20-10", "x-y", "", "0xffffffffffffffff"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) accepted", bad)
		}
	}
}
