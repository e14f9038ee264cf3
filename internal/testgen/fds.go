package testgen

import (
	"fmt"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/eventfd"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/eventpoll"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
	file_lock "github.com/checkpoint-restore/go-criu/v8/crit/images/file-lock"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fown"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pipe"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/regfile"
	sk_inet "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-inet"
	sk_opts "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-opts"
	sk_unix "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-unix"
	tcp_stream "github.com/checkpoint-restore/go-criu/v8/crit/images/tcp-stream"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/timerfd"
	"google.golang.org/protobuf/proto"
)

// Open flags and file modes as the kernel reports them.
const (
	oWronly    = 0o1
	oRdwr      = 0o2
	oNonblock  = 0o4000
	oLargefile = 0o100000
	oCloexec   = 0o2000000

	modeDir  = 0o40755
	modeExe  = 0o100755
	modeFile = 0o100644
	modeNull = 0o20666 // character device 1:3

	afInet      = 2
	sockStream  = 1
	ipprotoTCP  = 6
	tcpEstab    = 1
	tcpListen   = 10
	loopback    = 0x0100007f // 127.0.0.1 as CRIU stores it: network order in a little-endian word
	sockBufSize = 212992
)

// mount is one entry of mountpoints-<mnt ns>.img.
type mount struct {
	id, parent uint32
	fstype     uint32
	dev        uint32 // major<<20 | minor
	flags      uint32
	sbFlags    uint32
	root       string
	mountpoint string
	source     string
	options    string
	extKey     string
}

// mountTable is the container's mounts as a runtime sets them up; bind
// mounts of host files are external (ext_key), as runc declares them.
func (p *plan) mountTable() []mount {
	const root = 72
	ms := []mount{
		{id: root, parent: 47, fstype: 17, dev: 39, flags: 0x200000, root: "/", mountpoint: "/", source: "overlay",
			options: "lowerdir=/var/lib/containers/storage/overlay/l/TESTGEN,upperdir=/var/lib/containers/storage/overlay/" + p.s.ContainerID + "/diff,workdir=/var/lib/containers/storage/overlay/" + p.s.ContainerID + "/work"},
		{id: 73, parent: root, fstype: 1, dev: 42, flags: 0x20000e, root: "/", mountpoint: "/proc", source: "proc"},
		{id: 74, parent: root, fstype: 5, dev: 43, flags: 0x100000a, root: "/", mountpoint: "/dev", source: "tmpfs", options: "size=65536k,mode=755"},
		{id: 75, parent: root, fstype: 2, dev: 44, flags: 0x20000f, sbFlags: 1, root: "/", mountpoint: "/sys", source: "sysfs"},
		{id: 76, parent: 74, fstype: 6, dev: 45, flags: 0x20000a, root: "/", mountpoint: "/dev/pts", source: "devpts", options: "gid=5,mode=620,ptmxmode=666,newinstance"},
		{id: 77, parent: 74, fstype: 14, dev: 41, flags: 0x20000e, root: "/", mountpoint: "/dev/mqueue", source: "mqueue"},
		{id: 78, parent: root, fstype: 0, dev: 254 << 20, flags: 0x200000, root: "/userdata/hostname", mountpoint: "/etc/hostname", source: "/dev/vda", extKey: "/etc/hostname"},
		{id: 79, parent: root, fstype: 0, dev: 254 << 20, flags: 0x200000, root: "/userdata/hosts", mountpoint: "/etc/hosts", source: "/dev/vda", extKey: "/etc/hosts"},
		{id: 80, parent: 74, fstype: 5, dev: 38, flags: 0x20000e, root: "/", mountpoint: "/dev/shm", source: "shm", options: "size=64000k", extKey: "/dev/shm"},
		{id: 81, parent: root, fstype: 0, dev: 254 << 20, flags: 0x200000, root: "/userdata/resolv.conf", mountpoint: "/etc/resolv.conf", source: "/dev/vda", extKey: "/etc/resolv.conf"},
	}
	if p.s.Engine != EnginePodman {
		ms = append(ms,
			mount{id: 82, parent: root, fstype: 5, dev: 50, flags: 0x200001, root: "/", mountpoint: "/var/run/secrets/kubernetes.io/serviceaccount", source: "tmpfs", options: "size=65536k", extKey: "/var/run/secrets/kubernetes.io/serviceaccount"},
			mount{id: 83, parent: root, fstype: 0, dev: 254 << 20, flags: 0x200000, root: "/pods/" + p.s.PodUID + "/termination-log", mountpoint: "/dev/termination-log", source: "/dev/vda", extKey: "/dev/termination-log"})
	}
	return ms
}

// mountOf returns the id of the mount that holds the path.
func (p *plan) mountOf(path string) uint32 {
	best, id := -1, p.mounts[0].id
	for _, m := range p.mounts {
		mp := m.mountpoint
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > best {
			best, id = len(mp), m.id
		}
	}
	return id
}

func (p *plan) newID() uint32 {
	id := p.nextID
	p.nextID++
	return id
}

func (p *plan) newIno() uint32 {
	p.ino++
	return p.ino
}

func noOwner() *fown.FownEntry {
	return &fown.FownEntry{Uid: proto.Uint32(0), Euid: proto.Uint32(0), Signum: proto.Uint32(0), PidType: proto.Uint32(0), Pid: proto.Uint32(0)}
}

// reg adds a regular file (or directory, or device) to files.img.
func (p *plan) reg(name string, flags uint32, pos, size uint64, mode uint32) uint32 {
	id := p.newID()
	r := &regfile.RegFileEntry{
		Id: proto.Uint32(id), Flags: proto.Uint32(flags), Pos: proto.Uint64(pos), Fown: noOwner(),
		Name: proto.String(name), MntId: proto.Int32(int32(p.mountOf(name))), Mode: proto.Uint32(mode),
	}
	if mode&0o170000 == 0o100000 {
		r.Size = proto.Uint64(size)
	}
	if mode == modeExe {
		// Executables and libraries carry their ELF build id.
		for i := range 5 {
			r.BuildId = append(r.BuildId, uint32(hashOf(p.s.Seed, fmt.Sprintf("build-id/%s/%d", name, i))))
		}
	}
	p.files = append(p.files, &fdinfo.FileEntry{Type: fdinfo.FdTypes_REG.Enum(), Id: proto.Uint32(id), Reg: r})
	return id
}

func (p *plan) pipeEnd(ino uint32, flags uint32) uint32 {
	id := p.newID()
	p.files = append(p.files, &fdinfo.FileEntry{Type: fdinfo.FdTypes_PIPE.Enum(), Id: proto.Uint32(id),
		Pipe: &pipe.PipeEntry{Id: proto.Uint32(id), PipeId: proto.Uint32(ino), Flags: proto.Uint32(flags), Fown: noOwner()}})
	return id
}

func sockOpts(sndbuf, rcvbuf uint32, reuse bool) *sk_opts.SkOptsEntry {
	return &sk_opts.SkOptsEntry{
		SoSndbuf: proto.Uint32(sndbuf), SoRcvbuf: proto.Uint32(rcvbuf),
		SoSndTmoSec: proto.Uint64(0), SoSndTmoUsec: proto.Uint64(0), SoRcvTmoSec: proto.Uint64(0), SoRcvTmoUsec: proto.Uint64(0),
		Reuseaddr: proto.Bool(reuse), SoPriority: proto.Uint32(0), SoRcvlowat: proto.Uint32(1),
		SoDontroute: proto.Bool(false), SoNoCheck: proto.Bool(false), SoReuseport: proto.Bool(false),
		SoBroadcast: proto.Bool(false), SoKeepalive: proto.Bool(false), SoOobinline: proto.Uint32(0), SoBufLock: proto.Uint32(0),
	}
}

func unixOpts() *sk_opts.SkOptsEntry {
	o := sockOpts(sockBufSize, sockBufSize, false)
	o.SoPasscred, o.SoPasssec = proto.Bool(false), proto.Bool(false)
	return o
}

func (p *plan) unixEnd(ino, peer uint32) uint32 {
	id := p.newID()
	p.files = append(p.files, &fdinfo.FileEntry{Type: fdinfo.FdTypes_UNIXSK.Enum(), Id: proto.Uint32(id),
		Usk: &sk_unix.UnixSkEntry{
			Id: proto.Uint32(id), Ino: proto.Uint32(ino), Type: proto.Uint32(sockStream), State: proto.Uint32(tcpEstab),
			Flags: proto.Uint32(oRdwr), Uflags: proto.Uint32(0), Backlog: proto.Uint32(768), Peer: proto.Uint32(peer),
			Fown: noOwner(), Opts: unixOpts(), Name: []byte{}, NsId: proto.Uint32(nsNet),
		}})
	return id
}

func (p *plan) inet(ino uint32, state uint32, src, dst uint16, backlog uint32, reuse bool) uint32 {
	id := p.newID()
	dstAddr := uint32(loopback)
	sndbuf := uint32(3939840)
	if state == tcpListen {
		dstAddr, sndbuf = 0, 16384
	}
	p.files = append(p.files, &fdinfo.FileEntry{Type: fdinfo.FdTypes_INETSK.Enum(), Id: proto.Uint32(id),
		Isk: &sk_inet.InetSkEntry{
			Id: proto.Uint32(id), Ino: proto.Uint32(ino), Family: proto.Uint32(afInet), Type: proto.Uint32(sockStream),
			Proto: proto.Uint32(ipprotoTCP), State: proto.Uint32(state), SrcPort: proto.Uint32(uint32(src)), DstPort: proto.Uint32(uint32(dst)),
			Flags: proto.Uint32(oRdwr), Backlog: proto.Uint32(backlog), SrcAddr: []uint32{loopback}, DstAddr: []uint32{dstAddr},
			Fown: noOwner(), Opts: sockOpts(sndbuf, 131072, reuse), IpOpts: &sk_inet.IpOptsEntry{Ttl: proto.Uint32(64)},
			NsId: proto.Uint32(nsNet), TcpOpts: &tcp_stream.TcpOptsEntry{Keepcnt: proto.Uint32(9), Keepidle: proto.Uint32(7200), Keepintvl: proto.Uint32(75)},
		}})
	return id
}

// planFiles gives ids to every file in the order CRIU dumps them: the
// mapped files of the first process's memory, then per process its open
// descriptors (inherited ones keep their id) and its cwd and root.
func (p *plan) planFiles() {
	s := &p.s
	if len(p.live) == 0 {
		return
	}
	p.ids.exe = p.reg(s.Cmdline[0], 0, 0, 1<<20+uint64(hashOf(s.Seed, "exe-size")%(1<<20)), modeExe)
	p.ids.libc = p.reg("/usr/lib/x86_64-linux-gnu/libc.so.6", 0, 0, 1926232, modeExe)
	p.ids.ld = p.reg("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0, 0, 215000, modeExe)

	// Init's stdio, inherited by every process: stdin on /dev/null,
	// stdout and stderr on pipes to the runtime's monitor (conmon, shim).
	devNull := p.reg("/dev/null", oRdwr|oLargefile, 0, 0, modeNull)
	outIno, errIno := p.newIno(), p.newIno()
	out, errp := p.pipeEnd(outIno, oWronly), p.pipeEnd(errIno, oWronly)
	stdio := []fdRef{
		{fd: 0, id: devNull, typ: fdinfo.FdTypes_REG, target: "/dev/null"},
		{fd: 1, id: out, typ: fdinfo.FdTypes_PIPE, target: fmt.Sprintf("pipe:[%d]", outIno)},
		{fd: 2, id: errp, typ: fdinfo.FdTypes_PIPE, target: fmt.Sprintf("pipe:[%d]", errIno)},
	}
	p.descriptors = []string{"/dev/null", stdio[1].target, stdio[2].target}

	partner := p.live[0]
	if len(p.live) > 1 {
		partner = p.live[1]
	}
	// What the partner gets once it is dumped: the far ends of the pipes,
	// socketpairs and connections init holds.
	var later []func(pr *proc)
	for _, pr := range p.live {
		pr.fds = append(pr.fds, stdio...)
		if pr.idx == 0 {
			later = p.initFiles(pr)
		}
		if pr == partner {
			for _, f := range later {
				f(pr)
			}
		}
		pr.cwdID = p.reg(s.Cwd, 0, 0, 0, modeDir)
		pr.rootID = p.reg("/", 0, 0, 0, modeDir)
	}
}

func (pr *proc) nextFD() uint32 { return pr.fds[len(pr.fds)-1].fd + 1 }

func (pr *proc) addFD(id uint32, typ fdinfo.FdTypes, target string) uint32 {
	fd := pr.nextFD()
	pr.fds = append(pr.fds, fdRef{fd: fd, id: id, typ: typ, target: target})
	return fd
}

// initFiles opens init's own descriptors and returns what its partner
// process will hold.
func (p *plan) initFiles(pr *proc) []func(*proc) {
	s := &p.s
	var later []func(*proc)
	for _, f := range s.Files {
		id := p.reg(f.Path, f.Flags|oLargefile, f.Pos, f.Size, modeFile)
		fd := pr.addFD(id, fdinfo.FdTypes_REG, f.Path)
		if f.Lock {
			// flock(LOCK_EX): FL_FLOCK, F_WRLCK, the whole file.
			p.locks = append(p.locks, &file_lock.FileLockEntry{Flag: proto.Uint32(2), Type: proto.Uint32(1),
				Pid: proto.Int32(int32(pr.pid)), Fd: proto.Int32(int32(fd)), Start: proto.Int64(0), Len: proto.Int64(0)})
		}
	}
	for _, pp := range s.Pipes {
		ino := p.newIno()
		target := fmt.Sprintf("pipe:[%d]", ino)
		pr.addFD(p.pipeEnd(ino, 0), fdinfo.FdTypes_PIPE, target)
		if len(pp.Data) > 0 {
			p.pipeData = append(p.pipeData, dataItem{id: ino, data: pp.Data})
		}
		later = append(later, func(q *proc) { q.addFD(p.pipeEnd(ino, oWronly), fdinfo.FdTypes_PIPE, target) })
	}
	for _, u := range s.UnixPairs {
		a, b := p.newIno(), p.newIno()
		idA := p.unixEnd(a, b)
		pr.addFD(idA, fdinfo.FdTypes_UNIXSK, fmt.Sprintf("socket:[%d]", a))
		if len(u.ToA) > 0 {
			p.skQueues = append(p.skQueues, dataItem{id: idA, data: u.ToA})
		}
		later = append(later, func(q *proc) {
			idB := p.unixEnd(b, a)
			q.addFD(idB, fdinfo.FdTypes_UNIXSK, fmt.Sprintf("socket:[%d]", b))
			if len(u.ToB) > 0 {
				p.skQueues = append(p.skQueues, dataItem{id: idB, data: u.ToB})
			}
		})
	}
	for i, c := range s.TCP {
		listen, server := p.newIno(), p.newIno()
		client := uint16(35564 + i)
		pr.addFD(p.inet(listen, tcpListen, c.Port, 0, 8, true), fdinfo.FdTypes_INETSK, fmt.Sprintf("socket:[%d]", listen))
		pr.addFD(p.inet(server, tcpEstab, c.Port, client, 0, true), fdinfo.FdTypes_INETSK, fmt.Sprintf("socket:[%d]", server))
		seq := uint32(hashOf(s.Seed, fmt.Sprintf("tcp/%d", i)))
		p.streams = append(p.streams, tcpStream{ino: server, inq: c.ToServer, seq: seq, sndSeq: seq ^ 0x5a5a5a5a})
		later = append(later, func(q *proc) {
			ino := p.newIno()
			q.addFD(p.inet(ino, tcpEstab, client, c.Port, 0, false), fdinfo.FdTypes_INETSK, fmt.Sprintf("socket:[%d]", ino))
			p.streams = append(p.streams, tcpStream{ino: ino, inq: c.ToClient, seq: seq ^ 0x5a5a5a5a, sndSeq: seq, clientSk: true})
		})
	}
	if s.SpecialFDs {
		efd := p.newID()
		p.files = append(p.files, &fdinfo.FileEntry{Type: fdinfo.FdTypes_EVENTFD.Enum(), Id: proto.Uint32(efd),
			Efd: &eventfd.EventfdFileEntry{Id: proto.Uint32(efd), Flags: proto.Uint32(oRdwr | oNonblock), Fown: noOwner(), Counter: proto.Uint64(3)}})
		efdNum := pr.addFD(efd, fdinfo.FdTypes_EVENTFD, "anon_inode:[eventfd]")
		ep := p.newID()
		p.files = append(p.files, &fdinfo.FileEntry{Type: fdinfo.FdTypes_EVENTPOLL.Enum(), Id: proto.Uint32(ep),
			Epfd: &eventpoll.EventpollFileEntry{Id: proto.Uint32(ep), Flags: proto.Uint32(oRdwr), Fown: noOwner(),
				Tfd: []*eventpoll.EventpollTfdEntry{{Id: proto.Uint32(ep), Tfd: proto.Uint32(efdNum), Events: proto.Uint32(0x19), Data: proto.Uint64(uint64(efdNum))}}}})
		pr.addFD(ep, fdinfo.FdTypes_EVENTPOLL, "anon_inode:[eventpoll]")
		tfd := p.newID()
		p.files = append(p.files, &fdinfo.FileEntry{Type: fdinfo.FdTypes_TIMERFD.Enum(), Id: proto.Uint32(tfd),
			Tfd: &timerfd.TimerfdEntry{Id: proto.Uint32(tfd), Flags: proto.Uint32(oRdwr | oCloexec), Fown: noOwner(), Clockid: proto.Uint32(1),
				Ticks: proto.Uint64(0), SettimeFlags: proto.Uint32(0), Vsec: proto.Uint64(4), Vnsec: proto.Uint64(250000000), Isec: proto.Uint64(5), Insec: proto.Uint64(0)}})
		pr.addFD(tfd, fdinfo.FdTypes_TIMERFD, "anon_inode:[timerfd]")
	}
	return later
}
