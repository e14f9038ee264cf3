// Package procmem builds the reports of `ckpt mem`: it applies package
// [github.com/ckpt-dev/ckpt/mem] to the processes of a checkpoint archive
// (their memory maps, reading a range, searching every process, writing a
// core file). It is internal because its types, and their JSON tags, are
// the command's output contract, not an API: a Go program reads memory
// with mem and criu directly.
//
// Each operation reads the archive once. On a plain tar (or a sealed
// uncompressed one) pages images are read with ReadAt after the images
// they depend on; on a compressed stream they are consumed as they go by,
// which works because CRIU's sorted member order puts mm-N.img and
// pagemap-N.img before pages-N.img. Pages never touch the disk unless the
// caller writes them to a file it asked for.
package procmem
