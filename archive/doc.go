// Package archive reads container checkpoint archives in one streaming
// pass, without extracting anything to disk.
//
// An archive is a tar stream under optional layers: an age encryption layer
// and one compression layer (gzip, zstd, bzip2 or xz), detected from magic
// bytes, never from the file name. Open peels the layers; Walk visits the
// tar entries once, hardened against hostile archives (traversal names,
// links, devices, duplicates, oversized entries, decompression bombs);
// Load builds a Checkpoint from the entries: identity, metadata, decoded
// CRIU images and the rootfs diff listing.
//
// When the tar is reachable at random (a plain file, or a sealed file
// through age's DecryptReaderAt) Walk skips entry data with Seek, so the
// cost of reading metadata does not grow with the memory pages. Otherwise
// the pass is sequential and consumers of large entries register before it.
package archive
