// Package mem maps a dumped process's virtual memory onto its pages image
// and reads it, without ever writing pages to disk.
//
// CRIU stores a process's memory as a pagemap (virtual ranges and flags)
// and a raw pages image holding the present pages back to back, in
// pagemap order. A [criu.PageIndex] turns that into sorted runs looked up in
// O(log n) and reads through it from a random-access pages image; [Pages]
// hands each process's index and pages image to a reader of [archive.Load],
// an [Extractor] collects chosen ranges from a pages image that streams by,
// and [Search] finds a [Pattern] in it.
package mem
