// Package inspect builds the report `ckpt inspect` prints: who the
// checkpoint is of, what it holds and what the processes in it were doing,
// from one pass over the archive.
package inspect
