// Package proc builds the process model of a checkpoint from its decoded
// CRIU images: the tree, threads, credentials, working directories, open
// files and sockets, locks, mounts and memory maps.
//
// It reads images only through a [criu.ImageSet], so it works the same for
// images that came out of a plain, compressed or sealed archive. Memory
// contents (command lines, environments) come from package mem.
package proc
