// Package elfcore writes ELF64 core files, the format gdb, lldb, Volatility
// and every other memory tool opens.
//
// A core file is an ELF header, a program header table with one PT_NOTE
// (registers, process identity, mapped files, auxiliary vector) and one
// PT_LOAD per piece of memory, then the bytes. Memory a core does not hold
// is a PT_LOAD with no file bytes (p_filesz 0), as the kernel writes for
// mappings it did not dump: readers then report the address as not
// available instead of reading zeros that were never there.
//
// The layout is fixed before any memory is written (Plan), so the bytes can
// arrive from a stream in one pass and be written in place with WriteAt;
// the notes, which may depend on things learnt during that pass, go last.
package elfcore
