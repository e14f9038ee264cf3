package shred

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo (proc(5)).
type mount struct {
	ID           int
	Major, Minor uint32
	Root         string   // the directory of the filesystem mounted here
	Point        string   // where it is mounted
	Options      []string // per-mount options: rw, noatime, ...
	FSType       string   // "ext4", "fuse.sshfs", ...
	Source       string   // "/dev/vda1", "overlay", "tmpfs", ...
	Super        []string // per-superblock options: data=journal, lowerdir=...
}

// hasOption reports whether the per-mount or superblock options hold opt.
func (m mount) hasOption(opt string) bool {
	for _, o := range m.Options {
		if o == opt {
			return true
		}
	}
	for _, o := range m.Super {
		if o == opt {
			return true
		}
	}
	return false
}

// superValue returns the value of key=value among the superblock options.
func (m mount) superValue(key string) (string, bool) {
	for _, o := range m.Super {
		if v, ok := strings.CutPrefix(o, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// parseMountinfo reads every line of a mountinfo file.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var ms []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		m, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

// parseMountinfoLine parses
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// where any number of optional fields precede the "-".
func parseMountinfoLine(line string) (mount, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 6 || sep < 0 || len(f) < sep+3 {
		return mount{}, fmt.Errorf("malformed line %q", line)
	}
	var m mount
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return mount{}, fmt.Errorf("mount id %q: %w", f[0], err)
	}
	maj, min, ok := strings.Cut(f[2], ":")
	if !ok {
		return mount{}, fmt.Errorf("device %q is not major:minor", f[2])
	}
	ma, err1 := strconv.ParseUint(maj, 10, 32)
	mi, err2 := strconv.ParseUint(min, 10, 32)
	if err1 != nil || err2 != nil {
		return mount{}, fmt.Errorf("device %q is not major:minor", f[2])
	}
	m.Major, m.Minor = uint32(ma), uint32(mi)
	m.Root = unescapeMount(f[3])
	m.Point = unescapeMount(f[4])
	m.Options = splitOptions(f[5])
	m.FSType = unescapeMount(f[sep+1])
	m.Source = unescapeMount(f[sep+2])
	if len(f) > sep+3 {
		m.Super = splitOptions(f[sep+3])
	}
	return m, nil
}

// splitOptions splits a comma-separated option list. The kernel escapes
// commas inside values as \054, so splitting before unescaping is safe.
func splitOptions(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o != "" {
			out = append(out, unescapeMount(o))
		}
	}
	return out
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space, \011,
// \012, \134, \054) in mountinfo fields.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// splitLowerdir splits overlay's colon-separated lowerdir, where a colon
// inside a path is escaped as "\:".
func splitLowerdir(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// underPath reports whether p is dir or inside it.
func underPath(p, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
