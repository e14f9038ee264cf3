package criu

import (
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"google.golang.org/protobuf/proto"
)

func TestPageCountPrefersField5(t *testing.T) {
	for _, tc := range []struct {
		e    *pagemap.PagemapEntry
		want uint64
	}{
		{&pagemap.PagemapEntry{CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(6)}, 6}, // CRIU 4.2
		{&pagemap.PagemapEntry{CompatNrPages: proto.Uint32(9)}, 9},                           // CRIU < 4.2
		{&pagemap.PagemapEntry{CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(1 << 33)}, 1 << 33},
	} {
		if got := PageCount(tc.e); got != tc.want {
			t.Errorf("PageCount(%v) = %d, want %d", tc.e, got, tc.want)
		}
	}
}

func TestPageFlagsOfOldImages(t *testing.T) {
	if f := PageFlags(&pagemap.PagemapEntry{InParent: proto.Bool(true)}); f != PageParent {
		t.Errorf("in_parent: %d", f)
	}
	if f := PageFlags(&pagemap.PagemapEntry{}); f != PagePresent {
		t.Errorf("no flags: %d", f)
	}
	if f := PageFlags(&pagemap.PagemapEntry{Flags: proto.Uint32(PageLazy | PagePresent)}); f != PageLazy|PagePresent {
		t.Errorf("flags: %d", f)
	}
}
