package shred

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// fdinfoFlags returns the open flags from /proc/PID/fdinfo/FD, an octal
// number on the "flags:" line.
func fdinfoFlags(fdinfo string) (uint64, error) {
	for line := range strings.Lines(fdinfo) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 8, 64)
		}
	}
	return 0, fmt.Errorf("no flags line")
}

// openForWriting reports whether open flags allow writing: the access
// mode (the low two bits) is O_WRONLY or O_RDWR.
func openForWriting(flags uint64) bool {
	mode := flags & 3
	return mode == 1 || mode == 2
}

// mapping is a file mapping from /proc/PID/maps.
type mapping struct {
	Major, Minor uint32
	Inode        uint64
	Writable     bool // the mapping allows writes
	Shared       bool // writes reach the file (MAP_SHARED)
}

// parseMapsLine parses one line of /proc/PID/maps:
//
//	7f2c4a000000-7f2c4a021000 rw-s 00000000 fd:01 1234567 /path
//
// Anonymous mappings have inode 0.
func parseMapsLine(line string) (mapping, error) {
	f := strings.Fields(line)
	if len(f) < 5 || len(f[1]) != 4 {
		return mapping{}, fmt.Errorf("malformed maps line %q", line)
	}
	maj, min, ok := strings.Cut(f[3], ":")
	if !ok {
		return mapping{}, fmt.Errorf("malformed device in maps line %q", line)
	}
	ma, err1 := strconv.ParseUint(maj, 16, 32)
	mi, err2 := strconv.ParseUint(min, 16, 32)
	ino, err3 := strconv.ParseUint(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return mapping{}, fmt.Errorf("malformed maps line %q", line)
	}
	return mapping{
		Major: uint32(ma), Minor: uint32(mi), Inode: ino,
		Writable: f[1][1] == 'w',
		Shared:   f[1][3] == 's',
	}, nil
}

// sharedWritableMappings returns the mappings through which a process
// can still change a file after closing its descriptor.
func sharedWritableMappings(maps string) []mapping {
	var out []mapping
	sc := bufio.NewScanner(strings.NewReader(maps))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		m, err := parseMapsLine(sc.Text())
		if err != nil || m.Inode == 0 || !m.Writable || !m.Shared {
			continue
		}
		out = append(out, m)
	}
	return out
}

// swapAreas returns the active swap areas listed in /proc/swaps.
func swapAreas(swaps string) []string {
	var out []string
	for i, line := range strings.Split(swaps, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) == 0 {
			continue // header
		}
		out = append(out, unescapeMount(f[0]))
	}
	return out
}
