package shred

import (
	"reflect"
	"strings"
	"testing"
)

func TestFdinfoFlags(t *testing.T) {
	info := "pos:\t0\nflags:\t0100002\nmnt_id:\t26\nino:\t1234\n"
	flags, err := fdinfoFlags(info)
	if err != nil || flags != 0o100002 {
		t.Fatalf("flags %o, %v", flags, err)
	}
	if !openForWriting(flags) {
		t.Error("O_RDWR not seen as writing")
	}
	if !openForWriting(0o2001) { // O_WRONLY|O_APPEND
		t.Error("O_WRONLY|O_APPEND not seen as writing")
	}
	if openForWriting(0o100000) || openForWriting(0o10000000) { // O_RDONLY|O_LARGEFILE, O_PATH
		t.Error("read-only or O_PATH seen as writing")
	}
	if _, err := fdinfoFlags("pos:\t0\n"); err == nil {
		t.Error("missing flags line accepted")
	}
}

func TestSharedWritableMappings(t *testing.T) {
	maps := strings.Join([]string{
		"55d0c0a00000-55d0c0a21000 r--p 00000000 fd:01 131 /usr/bin/x",
		"7f2c4a000000-7f2c4a021000 rw-s 00000000 07:03 12 /mnt/f",
		"7f2c4b000000-7f2c4b021000 r--s 00000000 07:03 13 /mnt/g",
		"7f2c4c000000-7f2c4c021000 rw-p 00000000 07:03 14 /mnt/h",
		"7ffd0d000000-7ffd0d021000 rw-p 00000000 00:00 0 [stack]",
		"garbage",
	}, "\n")
	got := sharedWritableMappings(maps)
	want := []mapping{{Major: 7, Minor: 3, Inode: 12, Writable: true, Shared: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestSwapAreas(t *testing.T) {
	s := "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2                               partition\t8388604\t\t0\t\t-2\n/swap\\040file file 1 0 -3\n"
	if got := swapAreas(s); !reflect.DeepEqual(got, []string{"/dev/sda2", "/swap file"}) {
		t.Errorf("got %q", got)
	}
	if got := swapAreas("Filename\tType\tSize\tUsed\tPriority\n"); len(got) != 0 {
		t.Errorf("header only: %q", got)
	}
}

func FuzzParseMapsLine(f *testing.F) {
	f.Add("7f2c4a000000-7f2c4a021000 rw-s 00000000 07:03 12 /mnt/f")
	f.Add("7ffd0d000000-7ffd0d021000 rw-p 00000000 00:00 0 [stack]")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := parseMapsLine(line)
		if err != nil {
			return
		}
		fields := strings.Fields(line)
		if m.Shared != (fields[1][3] == 's') || m.Writable != (fields[1][1] == 'w') {
			t.Errorf("%q parsed as %+v", line, m)
		}
	})
}

func FuzzFdinfoFlags(f *testing.F) {
	f.Add("pos:\t0\nflags:\t0100002\n")
	f.Fuzz(func(t *testing.T, s string) {
		flags, err := fdinfoFlags(s)
		if err == nil && openForWriting(flags) != (flags&3 == 1 || flags&3 == 2) {
			t.Errorf("flags %o", flags)
		}
	})
}
