package proc

import (
	"slices"
	"strings"
	"testing"
)

// TestRichFacts checks what the fixture README says about the rich
// programs, in both the kubelet-style and the Podman archive.
func TestRichFacts(t *testing.T) {
	for _, glob := range []string{"checkpoint-rich-*.tar", "podman-rich.tar.zst"} {
		t.Run(glob, func(t *testing.T) {
			images, tree, _ := load(t, glob)
			if len(tree.Roots) != 1 {
				t.Fatalf("roots: %d", len(tree.Roots))
			}
			parent := tree.Roots[0]
			if parent.Comm != "rich-parent" || len(parent.Children) != 1 || parent.Children[0].Comm != "rich-child" ||
				len(parent.Children[0].Children) != 1 || parent.Children[0].Children[0].Comm != "rich-grandchild" {
				t.Fatalf("tree shape wrong: %+v", parent)
			}
			if parent.PGID != parent.PID || parent.SID != parent.PID {
				t.Errorf("parent is not group and session leader: %+v", parent)
			}
			var comms []string
			for _, th := range parent.Threads {
				comms = append(comms, th.Comm)
				if th.State != "alive" || th.IP == 0 || th.SP == 0 {
					t.Errorf("thread %+v", th)
				}
			}
			if !slices.Equal(comms, []string{"rich-parent", "rich-worker-1", "rich-worker-2"}) {
				t.Errorf("thread names %v", comms)
			}
			if c := parent.Creds; c == nil || c.UID != 0 || c.CapEffective == 0 {
				t.Errorf("creds %+v", c)
			}

			byFD := map[uint32]*File{}
			for _, fd := range parent.FDs {
				byFD[fd.FD] = fd.File
			}
			if f := byFD[3]; f == nil || !strings.HasSuffix(f.Path, "/data.txt") || f.Pos != 10 || f.Size != 63 || f.Flags != "O_RDWR | O_LARGEFILE" {
				t.Errorf("fd 3: %+v", f)
			}
			if f := byFD[4]; f == nil || f.Pipe == nil || f.Pipe.End != "read" || f.Pipe.Queued != int64(len("PIPE-DATA-5e1d0b\n")) {
				t.Errorf("fd 4: %+v", f)
			}
			if f := byFD[6]; f == nil || f.Socket == nil || f.Socket.Family != "unix" || f.Socket.RecvQueue != int64(len("UNIX-SK-CHILD-TO-PARENT-2b7e\n")) {
				t.Errorf("fd 6: %+v", f.Socket)
			}
			if f := byFD[8]; f == nil || f.Socket == nil || f.Socket.State != "LISTEN" || f.Socket.LocalPort != 47011 || f.Socket.Local != "127.0.0.1:47011" {
				t.Errorf("fd 8: %+v", f.Socket)
			}
			if f := byFD[9]; f == nil || f.Socket == nil || f.Socket.State != "ESTABLISHED" || f.Socket.LocalPort != 47011 || f.Socket.RecvQueue != 26 || f.Socket.Proto != "tcp" {
				t.Errorf("fd 9: %+v", f.Socket)
			}
			if len(parent.Locks) != 1 || parent.Locks[0].Kind != "flock" || parent.Locks[0].Type != "write" || parent.Locks[0].FD != 3 || !strings.HasSuffix(parent.Locks[0].Path, "/data.txt") {
				t.Errorf("locks %+v", parent.Locks)
			}
			child := parent.Children[0]
			var client *Sock
			for _, fd := range child.FDs {
				if fd.FD == 9 {
					client = fd.File.Socket
				}
			}
			if client == nil || client.RemotePort != 47011 || client.RecvQueue != int64(len("TCP-SERVER-TO-CLIENT-91c4\n")) {
				t.Errorf("child fd 9: %+v", client)
			}

			maps, err := tree.Maps(images, parent)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]bool{}
			for _, m := range maps {
				kinds[m.Kind] = true
			}
			for _, k := range []string{"heap", "stack", "vdso", "anonymous"} {
				if !kinds[k] {
					t.Errorf("no %s mapping in %v", k, kinds)
				}
			}
			s := Summary(maps)
			if s.Resident <= 0 || s.Virtual <= s.Resident || s.Mappings != len(maps) {
				t.Errorf("summary %+v", s)
			}
		})
	}
}

func TestPodmanMounts(t *testing.T) {
	images, _, _ := load(t, "podman-rich.tar")
	mounts := Mounts(images)
	if len(mounts) != 29 {
		t.Fatalf("%d mounts, want 29", len(mounts))
	}
	var root, keys bool
	for _, m := range mounts {
		root = root || m.Mountpoint == "/" && m.FSType == "overlayfs"
		keys = keys || m.Mountpoint == "/proc/keys" && m.External == "/dev/null"
	}
	if !root || !keys {
		t.Errorf("expected overlay root and /proc/keys masked by /dev/null: %+v", mounts)
	}
}

func TestMissingPid(t *testing.T) {
	_, tree, _ := load(t, "checkpoint-simple-*.tar")
	if _, err := tree.Find(99999); err == nil || !strings.Contains(err.Error(), "pid 99999: no such process") {
		t.Fatalf("Find(99999) = %v", err)
	}
}

func TestCapSummary(t *testing.T) {
	for set, want := range map[uint64]string{
		0:                  "none",
		1<<41 - 1:          "all (41, incl. CAP_SYS_ADMIN)",
		1<<10 | 1<<0:       "CAP_CHOWN, CAP_NET_BIND_SERVICE",
		0xa80425fb:         "14 capabilities",
		0xa80425fb | 1<<21: "15 capabilities incl. CAP_SYS_ADMIN",
	} {
		if got := CapSummary(set); got != want {
			t.Errorf("CapSummary(%#x) = %q, want %q", set, got, want)
		}
	}
}

// TestCodeNames: socket and lock codes read as ss(8) and /proc/locks name
// them, and an unknown code keeps its number.
func TestCodeNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{skFamily(10), "INET6"},
		{skFamily(42), "family 42"},
		{skType(5), "SEQPACKET"},
		{skType(4), "type 4"},
		{skProto(0), "IP"},
		{skProto(136), "UDPLITE"},
		{skProto(132), "proto 132"},
		{lockType(1), "write"},
		{lockType(9), "type 9"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestFindMapping(t *testing.T) {
	maps := []Mapping{{Start: 0x1000, End: 0x3000}, {Start: 0x3000, End: 0x4000}, {Start: 0x8000, End: 0x9000}}
	at := func(i int) *Mapping { return &maps[i] }
	for _, c := range []struct {
		addr uint64
		i    int
		ok   bool
	}{
		{0x0fff, 0, false}, {0x1000, 0, true}, {0x2fff, 0, true}, {0x3000, 1, true},
		{0x4000, 0, false}, {0x7fff, 0, false}, {0x8000, 2, true}, {0x8fff, 2, true}, {0x9000, 0, false},
	} {
		if i, ok := FindMapping(len(maps), at, c.addr); i != c.i || ok != c.ok {
			t.Errorf("FindMapping(%#x) = %d, %v; want %d, %v", c.addr, i, ok, c.i, c.ok)
		}
	}
	if _, ok := FindMapping(0, at, 0x1000); ok {
		t.Error("found a mapping in an empty list")
	}
}
