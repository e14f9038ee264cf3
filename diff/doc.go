// Package diff compares two checkpoints of one container: which processes
// came and went, and for those in both, their threads, open files,
// sockets, memory mappings, memory pages, command line and environment;
// and what changed in the container's root filesystem.
//
// Each archive is read once, in one pass (plain, compressed or sealed),
// into a Snapshot that keeps the process model, never the pages.
// [Differ.ReadBoth] reads the two archives at the same time and compares
// the pages of compressed or piped ones in address order while both
// stream, holding nothing per page; random-access archives are read again
// at Compare. Only pages with no counterpart streaming at the same time (a
// process in one archive only, another member order) are held, as a
// 64-bit hash each, within a limit. Compare then works on the two
// snapshots.
//
// Every list in a Report is sorted, so the same two archives always give
// the same report.
package diff
