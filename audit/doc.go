// Package audit keeps a tamper-evident log of what is done to checkpoint
// archives and of who opens them.
//
// A log at PATH is three files, all created with mode 0600:
//
//	PATH              one JSON record per line, appended, never rewritten
//	PATH.hashes       the stored hashes of the Merkle tree over the lines
//	                  (golang.org/x/mod/sumdb/tlog), 32 bytes each, in
//	                  tlog's stored-hash order: a cache that makes an append
//	                  cost O(log n) and that verify checks against the lines
//	PATH.checkpoints  signed tree heads, one C2SP tlog-checkpoint signed
//	                  note after another
//
// The tree is the one Go's checksum database and Certificate Transparency
// use: a record's leaf is tlog.RecordHash of its line without the newline.
// A signed checkpoint fixes the first N records; any later change, removal,
// reordering or insertion among them changes the root hash. Checkpoints
// copied off the node are what make the log trustworthy against root on
// the node, who holds the signing key: see docs/audit.md.
//
// Log is the one writer, used by the CLI and the agent alike; Verify
// checks a log; Monitor reports opens of checkpoint files by other
// processes (fanotify).
package audit
