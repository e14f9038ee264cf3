package shred

import (
	"reflect"
	"strings"
	"testing"
)

const sampleMountinfo = `26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
36 35 98:0 /mnt1 /mnt\040two rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue,data=journal
412 26 0:98 / /var/lib/containers/overlay/merged rw,relatime - overlay overlay rw,lowerdir=/l/one:/l/two\134:x,upperdir=/u,workdir=/w
500 26 0:45 / /mnt/b rw - btrfs /dev/loop3 rw,space_cache=v2,subvolid=5
`

func TestParseMountinfo(t *testing.T) {
	ms, err := parseMountinfo(strings.NewReader(sampleMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("got %d mounts", len(ms))
	}
	m := ms[1]
	if m.ID != 36 || m.Major != 98 || m.Minor != 0 || m.Root != "/mnt1" || m.Point != "/mnt two" || m.FSType != "ext3" || m.Source != "/dev/root" {
		t.Errorf("line 2 parsed as %+v", m)
	}
	if !m.hasOption("noatime") || !m.hasOption("errors=continue") || m.hasOption("ro") {
		t.Errorf("options of line 2: %v %v", m.Options, m.Super)
	}
	if v, ok := m.superValue("data"); !ok || v != "journal" {
		t.Errorf("data= %q %v", v, ok)
	}
	o := ms[2]
	lower, _ := o.superValue("lowerdir")
	if got := splitLowerdir(lower); !reflect.DeepEqual(got, []string{"/l/one", "/l/two:x"}) {
		t.Errorf("lowerdir split as %q", got)
	}
	if o.Major != 0 {
		t.Errorf("overlay has a device: %+v", o)
	}
}

func TestParseMountinfoRejectsGarbage(t *testing.T) {
	for _, line := range []string{
		"", "1 2 3", "x 1 8:1 / / rw - ext4 /dev/sda rw", "1 1 81 / / rw - ext4 /dev/sda rw",
		"1 1 8:1 / / rw ext4 /dev/sda rw", "1 1 8:1 / / rw -",
	} {
		if _, err := parseMountinfoLine(line); err == nil {
			t.Errorf("accepted %q", line)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`: "/a b", `/tab\011x`: "/tab\tx", `/bs\134`: `/bs\`, `/short\04`: `/short\04`, `/no\999`: `/no\999`, "/plain": "/plain",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnderPath(t *testing.T) {
	for _, c := range []struct {
		p, dir string
		want   bool
	}{{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/x", "/", true}} {
		if got := underPath(c.p, c.dir); got != c.want {
			t.Errorf("underPath(%q, %q) = %v", c.p, c.dir, got)
		}
	}
}

func FuzzParseMountinfoLine(f *testing.F) {
	for _, l := range strings.Split(sampleMountinfo, "\n") {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m, err := parseMountinfoLine(line)
		if err != nil {
			return
		}
		if m.FSType == "" && !strings.Contains(line, " - ") {
			t.Errorf("parsed %q without a separator", line)
		}
		_ = m.hasOption("ro")
		if v, ok := m.superValue("lowerdir"); ok {
			_ = splitLowerdir(v)
		}
	})
}
