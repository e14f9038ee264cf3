package diff

import (
	"cmp"
	"slices"

	"github.com/ckpt-dev/ckpt/archive"
)

// The rootfs diff (rootfs-diff.tar) holds the files the container changed
// in its image; deleted.files the paths it deleted. Files are compared by
// path: type, size, mode, owner, link target, modification time and, for
// regular files, a hash of the content taken as the archive streams by.

// rootfsFiles returns the files of a listing by path, sorted; of a path
// listed twice the last entry counts, as when the tar is extracted.
func rootfsFiles(l *archive.Listing) []archive.ListedFile {
	if l == nil {
		return nil
	}
	byPath := make(map[string]int, len(l.Files))
	var out []archive.ListedFile
	for _, f := range l.Files {
		if i, ok := byPath[f.Path]; ok {
			out[i] = f
			continue
		}
		byPath[f.Path] = len(out)
		out = append(out, f)
	}
	slices.SortFunc(out, func(x, y archive.ListedFile) int { return cmp.Compare(x.Path, y.Path) })
	return out
}

// compareRootFS compares the rootfs diffs of two checkpoints. contentA and
// contentB hold the content hashes by path.
func compareRootFS(a, b *archive.Listing, contentA, contentB map[string]uint64, sum *Counts) []RootFSChange {
	out := []RootFSChange{}
	fa, fb := rootfsFiles(a), rootfsFiles(b)
	one := func(f archive.ListedFile, change string, fc []FieldChange) {
		out = append(out, RootFSChange{Path: f.Path, Change: change, Type: f.Type, Size: f.Size, Mode: f.Mode, Fields: fc})
		sum.add(change)
	}
	i, j := 0, 0
	for i < len(fa) || j < len(fb) {
		switch {
		case j == len(fb) || (i < len(fa) && fa[i].Path < fb[j].Path):
			one(fa[i], Removed, []FieldChange{})
			i++
		case i == len(fa) || fb[j].Path < fa[i].Path:
			one(fb[j], Added, []FieldChange{})
			j++
		default:
			x, y := fa[i], fb[j]
			var f fields
			f.cmp("type", x.Type, y.Type)
			f.cmp("size", x.Size, y.Size)
			f.cmp("mode", x.Mode, y.Mode)
			f.cmp("uid", x.UID, y.UID)
			f.cmp("gid", x.GID, y.GID)
			f.cmp("link_name", x.LinkName, y.LinkName)
			f.cmp("mod_time", x.ModTime.UTC(), y.ModTime.UTC())
			ha, okA := contentA[x.Path]
			hb, okB := contentB[y.Path]
			if okA && okB && ha != hb && x.Size == y.Size {
				// Hashes are keyed per run, so they are not output: the
				// field says only that the bytes differ.
				f = append(f, FieldChange{Field: "content"})
			}
			if len(f) == 0 {
				sum.add(Unchanged)
			} else {
				one(y, Changed, f)
			}
			i++
			j++
		}
	}
	return out
}

// compareDeleted compares two deleted.files lists.
func compareDeleted(a, b []string, sum *Counts) []PathChange {
	out := []PathChange{}
	sa, sb := sortedUnique(a), sortedUnique(b)
	i, j := 0, 0
	for i < len(sa) || j < len(sb) {
		switch {
		case j == len(sb) || (i < len(sa) && sa[i] < sb[j]):
			out = append(out, PathChange{Path: sa[i], Change: Removed})
			sum.add(Removed)
			i++
		case i == len(sa) || sb[j] < sa[i]:
			out = append(out, PathChange{Path: sb[j], Change: Added})
			sum.add(Added)
			j++
		default:
			i++
			j++
		}
	}
	return out
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
