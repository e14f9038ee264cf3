// Package diff compares two checkpoints of one container: which processes
// came and went, and for those in both, their threads, open files,
// sockets, memory mappings, memory pages, command line and environment;
// and what changed in the container's root filesystem.
//
// Each archive is read once, in one pass (plain, compressed or sealed),
// into a Snapshot that keeps the process model and a 64-bit hash of every
// memory page, never the pages: comparing two archives with a GiB of
// memory each holds 2 MiB of hashes per side. Compare then works on the
// two snapshots alone.
//
// Every list in a Report is sorted, so the same two archives always give
// the same report.
package diff
