// Package criu decodes and encodes CRIU image files as streams.
//
// A CRIU image is a magic number followed by length-prefixed protobuf
// entries, some of which carry a raw payload (pipe data, socket queues, TCP
// streams, ghost files, IPC objects, BPF maps). The message types come from
// go-criu's generated code; the reading is ours, because a checkpoint is
// untrusted input: every length is checked against a limit and against what
// is left of the image before anything is allocated, payloads are streamed
// or skipped rather than held, and any io.Reader will do, so images can be
// decoded straight out of a compressed or encrypted archive.
package criu
