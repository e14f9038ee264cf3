package testgen

import (
	"encoding/binary"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/cgroup"
	core_x86 "github.com/checkpoint-restore/go-criu/v8/crit/images/core-x86"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/creds"
	criu_core "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	criu_sa "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-sa"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fs"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/inventory"
	ipc_var "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-var"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mnt"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/rlimit"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/rseq"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/seccomp"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/siginfo"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/stats"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/timens"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/timer"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/utsns"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/vma"
	"google.golang.org/protobuf/proto"
)

// CRIU's task states (core tc.task_state). A zombie is dumped as dead: CRIU
// turns compel's "zombie" into TASK_DEAD before writing it.
const (
	taskAlive = 1
	taskDead  = 2
)

// Container cgroup sets: CRIU's own is 1, the container's 2.
const (
	cgSetRoot      = 1
	cgSetContainer = 2
)

func ids(kid uint32) *criu_core.TaskKobjIdsEntry {
	return &criu_core.TaskKobjIdsEntry{
		VmId: proto.Uint32(kid), FilesId: proto.Uint32(kid), FsId: proto.Uint32(kid), SighandId: proto.Uint32(kid),
		PidNsId: proto.Uint32(nsPID), NetNsId: proto.Uint32(nsNet), IpcNsId: proto.Uint32(nsIPC), UtsNsId: proto.Uint32(nsUTS),
		MntNsId: proto.Uint32(nsMnt), UserNsId: proto.Uint32(nsUser), CgroupNsId: proto.Uint32(nsCgroup), TimeNsId: proto.Uint32(nsTime),
	}
}

func (p *plan) inventory() *inventory.InventoryEntry {
	lock := uint32(1) // iptables/nftables network lock, as runc asks
	if p.s.Engine == EnginePodman {
		lock = 0
	}
	return &inventory.InventoryEntry{
		ImgVersion: proto.Uint32(2), FdinfoPerId: proto.Bool(true),
		RootIds: &criu_core.TaskKobjIdsEntry{
			VmId: proto.Uint32(1), FilesId: proto.Uint32(1), FsId: proto.Uint32(1), SighandId: proto.Uint32(1),
			PidNsId: proto.Uint32(nsHostPID), NetNsId: proto.Uint32(nsHostNet), IpcNsId: proto.Uint32(nsHostIPC), UtsNsId: proto.Uint32(nsHostUTS),
			MntNsId: proto.Uint32(nsHostMnt), UserNsId: proto.Uint32(nsUser), CgroupNsId: proto.Uint32(nsCgroup), TimeNsId: proto.Uint32(nsTime),
		},
		NsPerId: proto.Bool(true), RootCgSet: proto.Uint32(cgSetRoot), Lsmtype: inventory.Lsmtype_NO_LSM.Enum(),
		NetworkLockMethod: proto.Uint32(lock), PluginsEntry: &inventory.PluginsEntry{},
		DumpCriuRunId: proto.String(uuidOf(p.s.Seed, "criu-run-id")),
	}
}

func (p *plan) pstree() []proto.Message {
	var out []proto.Message
	for _, pr := range p.order {
		threads := make([]uint32, len(pr.tids))
		for i, t := range pr.tids {
			threads[i] = uint32(t)
		}
		if pr.zombie {
			// CRIU's dump_zombies leaves a zombie's thread list as [0]:
			// there is no thread to seize. Its core is core-<pid>.img.
			threads = []uint32{0}
		}
		out = append(out, &pstree.PstreeEntry{Pid: proto.Uint32(uint32(pr.pid)), Ppid: proto.Uint32(uint32(pr.ppid)),
			Pgid: proto.Uint32(uint32(pr.pgid)), Sid: proto.Uint32(uint32(pr.sid)), Threads: threads})
	}
	return out
}

// capMask is the capability set the engine gives a container by default,
// as in spec.dump.
func (p *plan) capMask() uint64 {
	var m uint64
	for _, c := range p.capabilities() {
		m |= 1 << capNumbers[c]
	}
	return m
}

func (p *plan) creds() *creds.CredsEntry {
	s := &p.s
	bnd := p.capMask()
	prm := bnd
	if s.UID != 0 {
		prm = 0
	}
	split := func(v uint64) []uint32 { return []uint32{uint32(v), uint32(v >> 32)} }
	return &creds.CredsEntry{
		Uid: proto.Uint32(s.UID), Gid: proto.Uint32(s.GID), Euid: proto.Uint32(s.UID), Egid: proto.Uint32(s.GID),
		Suid: proto.Uint32(s.UID), Sgid: proto.Uint32(s.GID), Fsuid: proto.Uint32(s.UID), Fsgid: proto.Uint32(s.GID),
		CapInh: split(0), CapPrm: split(prm), CapEff: split(prm), CapBnd: split(bnd), Secbits: proto.Uint32(0),
		CapAmb: split(0),
	}
}

// threadRegs are the registers that differ between threads.
type threadRegs struct{ ip, sp, fsBase uint64 }

func (pr *proc) regs(j int) threadRegs {
	m := pr.mem
	// Every thread sleeps in the same libc system call.
	ip := m.libcText + 0xec545
	if j == 0 {
		return threadRegs{ip: ip, sp: m.mainSP(), fsBase: m.tls + 0x740}
	}
	top := m.threadStackTops[j-1]
	return threadRegs{ip: ip, sp: top - 0x1240, fsBase: top - 0x940}
}

func u32s(n int) []uint32 { return make([]uint32, n) }

func (p *plan) core(pr *proc, j int) *criu_core.CoreEntry {
	if pr.zombie {
		// CRIU writes a zombie's core with its task state and exit code
		// only: no registers, no thread core.
		return &criu_core.CoreEntry{Mtype: criu_core.CoreEntry_X86_64.Enum(), Tc: &criu_core.TaskCoreEntry{
			TaskState: proto.Uint32(taskDead), ExitCode: proto.Uint32(0), Personality: proto.Uint32(0), Flags: proto.Uint32(0),
			BlkSigset: proto.Uint64(0), Comm: proto.String(pr.comm)}}
	}
	r := pr.regs(j)
	ti := &core_x86.ThreadInfoX86{
		ClearTidAddr: proto.Uint64(r.fsBase + 0x2d0),
		Gpregs: &core_x86.UserX86RegsEntry{
			R15: proto.Uint64(0), R14: proto.Uint64(pr.mem.startData + 8), R13: proto.Uint64(r.sp + 0x220), R12: proto.Uint64(0),
			Bp: proto.Uint64(0), Bx: proto.Uint64(0xffffffffffffff80), R11: proto.Uint64(0x293), R10: proto.Uint64(r.sp + 0x40),
			R9: proto.Uint64(0), R8: proto.Uint64(0), Ax: proto.Uint64(0xfffffffffffffffc), Cx: proto.Uint64(r.ip),
			Dx: proto.Uint64(r.sp + 0x40), Si: proto.Uint64(0), Di: proto.Uint64(0), OrigAx: proto.Uint64(0xe6), // clock_nanosleep
			Ip: proto.Uint64(r.ip), Cs: proto.Uint64(0x33), Flags: proto.Uint64(0x293), Sp: proto.Uint64(r.sp), Ss: proto.Uint64(0x2b),
			FsBase: proto.Uint64(r.fsBase), GsBase: proto.Uint64(0), Ds: proto.Uint64(0), Es: proto.Uint64(0), Fs: proto.Uint64(0), Gs: proto.Uint64(0),
			Mode: core_x86.UserX86RegsMode_NATIVE.Enum(),
		},
		Fpregs: &core_x86.UserX86FpregsEntry{
			Cwd: proto.Uint32(0x37f), Swd: proto.Uint32(0), Twd: proto.Uint32(0), Fop: proto.Uint32(0), Rip: proto.Uint64(0), Rdp: proto.Uint64(0),
			Mxcsr: proto.Uint32(0x1f80), MxcsrMask: proto.Uint32(0x2ffff), StSpace: u32s(32), XmmSpace: u32s(64),
			Xsave: &core_x86.UserX86XsaveEntry{XstateBv: proto.Uint64(0xa2), YmmhSpace: u32s(64),
				OpmaskReg: make([]uint64, 8), ZmmUpper: make([]uint64, 64), Hi16Zmm: make([]uint64, 128)},
		},
	}
	for n := uint32(12); n <= 14; n++ {
		ti.Tls = append(ti.Tls, &core_x86.UserDescT{EntryNumber: proto.Uint32(n), BaseAddr: proto.Uint32(0), Limit: proto.Uint32(0),
			Seg_32Bit: proto.Bool(false), ContentsH: proto.Bool(false), ContentsL: proto.Bool(false), ReadExecOnly: proto.Bool(true),
			LimitInPages: proto.Bool(false), SegNotPresent: proto.Bool(true), Usable: proto.Bool(false)})
	}
	tc := &criu_core.ThreadCoreEntry{
		FutexRla: proto.Uint64(r.fsBase + 0x2e0), FutexRlaLen: proto.Uint32(24), SchedNice: proto.Int32(0), SchedPolicy: proto.Uint32(0),
		Sas:      &criu_core.ThreadSasEntry{SsSp: proto.Uint64(0), SsSize: proto.Uint64(0), SsFlags: proto.Uint32(2)},
		SignalsP: &siginfo.SignalQueueEntry{}, Creds: p.creds(), Comm: proto.String(pr.threadComms[j]),
		// The runtime's seccomp profile, the only filter in seccomp.img.
		SeccompMode: criu_core.SeccompMode_filter.Enum(), SeccompFilter: proto.Uint32(0),
		RseqEntry: &rseq.RseqEntry{RseqAbiPointer: proto.Uint64(r.fsBase + 0x920), RseqAbiSize: proto.Uint32(32), Signature: proto.Uint32(0x53053053)},
		CgSet:     proto.Uint32(cgSetContainer),
	}
	c := &criu_core.CoreEntry{Mtype: criu_core.CoreEntry_X86_64.Enum(), ThreadInfo: ti, ThreadCore: tc}
	if j > 0 {
		// Only the leader carries the task core; a worker's name is in
		// its thread core.
		tc.BlkSigset = proto.Uint64(0)
		return c
	}
	oom := int32(1000)
	if p.s.Engine == EnginePodman {
		oom = 0
	}
	itimer := func() *timer.ItimerEntry {
		return &timer.ItimerEntry{Isec: proto.Uint64(0), Iusec: proto.Uint64(0), Vsec: proto.Uint64(0), Vusec: proto.Uint64(0)}
	}
	c.Tc = &criu_core.TaskCoreEntry{
		TaskState: proto.Uint32(taskAlive), ExitCode: proto.Uint32(0), Personality: proto.Uint32(0), Flags: proto.Uint32(0x400000),
		BlkSigset: proto.Uint64(0), Comm: proto.String(pr.comm),
		Timers:   &timer.TaskTimersEntry{Real: itimer(), Virt: itimer(), Prof: itimer()},
		Rlimits:  &criu_core.TaskRlimitsEntry{Rlimits: rlimits()},
		SignalsS: &siginfo.SignalQueueEntry{}, Loginuid: proto.Uint32(0xffffffff), OomScoreAdj: proto.Int32(oom),
		ChildSubreaper: proto.Bool(false),
	}
	// Every signal but SIGKILL and SIGSTOP.
	for range 62 {
		c.Tc.Sigactions = append(c.Tc.Sigactions, &criu_sa.SaEntry{Sigaction: proto.Uint64(0), Flags: proto.Uint64(0),
			Restorer: proto.Uint64(0), Mask: proto.Uint64(0), CompatSigaction: proto.Bool(false)})
	}
	return c
}

// rlimits are a container's: unlimited but the stack (8 MiB), open files
// (1048576) and a few others, in RLIMIT_* order.
func rlimits() []*rlimit.RlimitEntry {
	const inf = ^uint64(0)
	vals := [][2]uint64{{inf, inf}, {inf, inf}, {inf, inf}, {8 << 20, inf}, {0, inf}, {inf, inf}, {inf, inf},
		{1048576, 1048576}, {8 << 20, 8 << 20}, {inf, inf}, {inf, inf}, {inf, inf}, {819200, 819200}, {0, 0}, {0, 0}, {inf, inf}}
	out := make([]*rlimit.RlimitEntry, len(vals))
	for i, v := range vals {
		out[i] = &rlimit.RlimitEntry{Cur: proto.Uint64(v[0]), Max: proto.Uint64(v[1])}
	}
	return out
}

func (p *plan) mm(pr *proc) *mm.MmEntry {
	m := pr.mem
	e := &mm.MmEntry{
		MmStartCode: proto.Uint64(m.startCode), MmEndCode: proto.Uint64(m.endCode), MmStartData: proto.Uint64(m.startData),
		MmEndData: proto.Uint64(m.endData), MmStartStack: proto.Uint64(m.startStack), MmStartBrk: proto.Uint64(m.startBrk),
		MmBrk: proto.Uint64(m.brk), MmArgStart: proto.Uint64(m.argStart), MmArgEnd: proto.Uint64(m.argEnd),
		MmEnvStart: proto.Uint64(m.envStart), MmEnvEnd: proto.Uint64(m.envEnd), ExeFileId: proto.Uint32(p.ids.exe),
		MmSavedAuxv: m.auxv, Dumpable: proto.Int32(1), ThpDisabled: proto.Bool(false),
	}
	for _, v := range m.vmas {
		ve := &vma.VmaEntry{Start: proto.Uint64(v.Start), End: proto.Uint64(v.End), Pgoff: proto.Uint64(v.pgoff),
			Shmid: proto.Uint64(uint64(v.shmid)), Prot: proto.Uint32(v.Prot), Flags: proto.Uint32(v.Flags),
			Status: proto.Uint32(v.Status), Fd: proto.Int64(-1)}
		if v.isFile {
			ve.Fdflags = proto.Uint32(0)
		}
		if v.madv != 0 {
			ve.Madv = proto.Uint64(v.madv)
		}
		e.Vmas = append(e.Vmas, ve)
	}
	return e
}

func pagemapEntry(e pmEntry) *pagemap.PagemapEntry {
	// CRIU 4.2 writes the count in nr_pages and 0 in compat_nr_pages.
	return &pagemap.PagemapEntry{Vaddr: proto.Uint64(e.vaddr), CompatNrPages: proto.Uint32(0),
		Flags: proto.Uint32(e.flags), NrPages: proto.Uint64(e.pages)}
}

func fsEntry(pr *proc) *fs.FsEntry {
	return &fs.FsEntry{CwdId: proto.Uint32(pr.cwdID), RootId: proto.Uint32(pr.rootID), Umask: proto.Uint32(0o22)}
}

func fdinfos(pr *proc) []proto.Message {
	out := make([]proto.Message, len(pr.fds))
	for i, f := range pr.fds {
		out[i] = &fdinfo.FdinfoEntry{Id: proto.Uint32(f.id), Flags: proto.Uint32(0), Type: f.typ.Enum(), Fd: proto.Uint32(f.fd)}
	}
	return out
}

func (p *plan) mountpoints() []proto.Message {
	var out []proto.Message
	// CRIU lists children before their parents.
	for i := len(p.mounts) - 1; i >= 0; i-- {
		m := p.mounts[i]
		e := &mnt.MntEntry{Fstype: proto.Uint32(m.fstype), MntId: proto.Uint32(m.id), RootDev: proto.Uint32(m.dev),
			ParentMntId: proto.Uint32(m.parent), Flags: proto.Uint32(m.flags), Root: proto.String(m.root),
			Mountpoint: proto.String(m.mountpoint), Source: proto.String(m.source), Options: proto.String(m.options),
			SharedId: proto.Uint32(0), MasterId: proto.Uint32(0), SbFlags: proto.Uint32(m.sbFlags)}
		if m.extKey != "" {
			e.ExtKey = proto.String(m.extKey)
		}
		out = append(out, e)
	}
	return out
}

func (p *plan) utsns() *utsns.UtsnsEntry {
	return &utsns.UtsnsEntry{Nodename: proto.String(p.s.hostname()), Domainname: proto.String("(none)")}
}

func ipcVar() *ipc_var.IpcVarEntry {
	return &ipc_var.IpcVarEntry{SemCtls: []uint32{32000, 1024000000, 500, 32000}, MsgCtlmax: proto.Uint32(8192),
		MsgCtlmnb: proto.Uint32(16384), MsgCtlmni: proto.Uint32(32000), AutoMsgmni: proto.Uint32(0),
		ShmCtlmax: proto.Uint64(18446744073692774399), ShmCtlall: proto.Uint64(18446744073692774399), ShmCtlmni: proto.Uint32(4096),
		ShmRmidForced: proto.Uint32(0), MqQueuesMax: proto.Uint32(256), MqMsgMax: proto.Uint32(10), MqMsgsizeMax: proto.Uint32(8192),
		MqMsgDefault: proto.Uint32(10), MqMsgsizeDefault: proto.Uint32(8192)}
}

func (p *plan) cgroupPath() string {
	switch p.s.Engine {
	case EnginePodman:
		return "/libpod_parent/libpod-" + p.s.ContainerID
	case EngineContainerd:
		return "/kubepods/besteffort/pod" + p.s.PodUID + "/" + p.s.ContainerID
	}
	return "/kubepods.slice/kubepods-besteffort.slice/crio-" + p.s.ContainerID + ".scope"
}

func (p *plan) cgroup() *cgroup.CgroupEntry {
	return &cgroup.CgroupEntry{Sets: []*cgroup.CgSetEntry{
		{Id: proto.Uint32(cgSetRoot), Ctls: []*cgroup.CgMemberEntry{{Name: proto.String(""), Path: proto.String("/")}}},
		{Id: proto.Uint32(cgSetContainer), Ctls: []*cgroup.CgMemberEntry{{Name: proto.String(""), Path: proto.String(p.cgroupPath())}}},
	}}
}

// seccompFilter is a container's seccomp filter: a classic BPF program
// that kills foreign architectures and allows the rest (runtime profiles
// are longer, not different in kind).
func seccompFilter() *seccomp.SeccompEntry {
	insn := func(code uint16, jt, jf uint8, k uint32) []byte {
		b := binary.LittleEndian.AppendUint16(nil, code)
		b = append(b, jt, jf)
		return binary.LittleEndian.AppendUint32(b, k)
	}
	var prog []byte
	prog = append(prog, insn(0x20, 0, 0, 4)...)          // ld [4]: arch
	prog = append(prog, insn(0x15, 1, 0, 0xc000003e)...) // jeq AUDIT_ARCH_X86_64
	prog = append(prog, insn(0x06, 0, 0, 0)...)          // ret KILL
	prog = append(prog, insn(0x06, 0, 0, 0x7fff0000)...) // ret ALLOW
	return &seccomp.SeccompEntry{SeccompFilters: []*seccomp.SeccompFilter{{Filter: prog, Flags: proto.Uint32(0)}}}
}

func (p *plan) timens() *timens.TimensEntry {
	up := uint64(2000 + hashOf(p.s.Seed, "uptime")%100000)
	return &timens.TimensEntry{
		Monotonic: &timens.Timespec{TvSec: proto.Uint64(up), TvNsec: proto.Uint64(399414914)},
		Boottime:  &timens.Timespec{TvSec: proto.Uint64(up), TvNsec: proto.Uint64(399414983)},
	}
}

func (p *plan) stats() *stats.StatsEntry {
	var written, parent, entries uint64
	for _, pr := range p.live {
		for _, e := range pr.mem.entries {
			entries++
			if e.present() {
				written += e.pages
			} else {
				parent += e.pages
			}
		}
	}
	return &stats.StatsEntry{Dump: &stats.DumpStatsEntry{
		FreezingTime: proto.Uint32(1141), FrozenTime: proto.Uint32(30691 + uint32(written/64)), MemdumpTime: proto.Uint32(2575),
		MemwriteTime: proto.Uint32(430 + uint32(written/256)), PagesScanned: proto.Uint64(written + parent + 46),
		PagesSkippedParent: proto.Uint64(parent), PagesWritten: proto.Uint64(written), IrmapResolve: proto.Uint32(0),
		PagesLazy: proto.Uint64(0), PagePipes: proto.Uint64(entries), PagePipeBufs: proto.Uint64(entries),
		ShpagesScanned: proto.Uint64(0), ShpagesSkippedParent: proto.Uint64(0), ShpagesWritten: proto.Uint64(0),
	}}
}
