package criu

import (
	"google.golang.org/protobuf/proto"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/apparmor"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/autofs"
	binfmt_misc "github.com/checkpoint-restore/go-criu/v8/crit/images/binfmt-misc"
	bpfmap_data "github.com/checkpoint-restore/go-criu/v8/crit/images/bpfmap-data"
	bpfmap_file "github.com/checkpoint-restore/go-criu/v8/crit/images/bpfmap-file"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/cgroup"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/cpuinfo"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/creds"
	criu_core "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	criu_sa "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-sa"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/eventfd"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/eventpoll"
	ext_file "github.com/checkpoint-restore/go-criu/v8/crit/images/ext-file"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fh"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fifo"
	file_lock "github.com/checkpoint-restore/go-criu/v8/crit/images/file-lock"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fs"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fsnotify"
	ghost_file "github.com/checkpoint-restore/go-criu/v8/crit/images/ghost-file"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/inventory"
	ipc_msg "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-msg"
	ipc_sem "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-sem"
	ipc_shm "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-shm"
	ipc_var "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-var"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/memfd"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mnt"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/netdev"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/ns"
	packet_sock "github.com/checkpoint-restore/go-criu/v8/crit/images/packet-sock"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pidns"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pipe"
	pipe_data "github.com/checkpoint-restore/go-criu/v8/crit/images/pipe-data"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/regfile"
	remap_file_path "github.com/checkpoint-restore/go-criu/v8/crit/images/remap-file-path"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/rlimit"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/seccomp"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/siginfo"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/signalfd"
	sk_inet "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-inet"
	sk_netlink "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-netlink"
	sk_packet "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-packet"
	sk_unix "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-unix"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/stats"
	tcp_stream "github.com/checkpoint-restore/go-criu/v8/crit/images/tcp-stream"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/timens"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/timer"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/timerfd"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/tty"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/tun"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/userns"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/utsns"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/vma"
)

// layout says how the entries of an image follow one another.
type layout int

const (
	// plain: every entry has the same type.
	plain layout = iota
	// headed: the first entry has a type of its own (pagemap_head,
	// ghost_file_entry), the rest share another.
	headed
	// ipcMsgQueue: each entry is followed by qnum nested (message,
	// payload) pairs.
	ipcMsgQueue
)

// payloadRule gives the length of the raw data that follows an entry and
// the padding after it. ok is false when the entry carries none.
type payloadRule func(m proto.Message) (data, pad int64, ok bool)

// kind describes one image type.
type kind struct {
	newEntry func() proto.Message
	newHead  func() proto.Message // for headed images: the first entry
	layout   layout
	payload  payloadRule
	// toEnd: the payload of the (only) entry runs to the end of the image.
	toEnd func(m proto.Message) bool
}

func of[T any, P interface {
	*T
	proto.Message
}]() func() proto.Message {
	return func() proto.Message { return P(new(T)) }
}

// kindOf returns how to decode images with magic name, or false for magics
// that have no entry type (KDAT, the v1.1 first magics) or are unknown.
func kindOf(name string) (kind, bool) {
	switch name {
	case "APPARMOR":
		return kind{newEntry: of[apparmor.ApparmorEntry]()}, true
	case "AUTOFS":
		return kind{newEntry: of[autofs.AutofsEntry]()}, true
	case "BINFMT_MISC":
		return kind{newEntry: of[binfmt_misc.BinfmtMiscEntry]()}, true
	case "BPFMAP_DATA":
		return kind{newEntry: of[bpfmap_data.BpfmapDataEntry](), payload: func(m proto.Message) (int64, int64, bool) {
			e := m.(*bpfmap_data.BpfmapDataEntry)
			return int64(e.GetKeysBytes()) + int64(e.GetValuesBytes()), 0, true
		}}, true
	case "BPFMAP_FILE":
		return kind{newEntry: of[bpfmap_file.BpfmapFileEntry]()}, true
	case "CGROUP":
		return kind{newEntry: of[cgroup.CgroupEntry]()}, true
	case "CORE":
		return kind{newEntry: of[criu_core.CoreEntry]()}, true
	case "CPUINFO":
		return kind{newEntry: of[cpuinfo.CpuinfoEntry]()}, true
	case "CREDS":
		return kind{newEntry: of[creds.CredsEntry]()}, true
	case "EVENTFD_FILE":
		return kind{newEntry: of[eventfd.EventfdFileEntry]()}, true
	case "EVENTPOLL_FILE":
		return kind{newEntry: of[eventpoll.EventpollFileEntry]()}, true
	case "EVENTPOLL_TFD":
		return kind{newEntry: of[eventpoll.EventpollTfdEntry]()}, true
	case "EXT_FILES":
		return kind{newEntry: of[ext_file.ExtFileEntry]()}, true
	case "FANOTIFY_FILE":
		return kind{newEntry: of[fsnotify.FanotifyFileEntry]()}, true
	case "FANOTIFY_MARK":
		return kind{newEntry: of[fsnotify.FanotifyMarkEntry]()}, true
	case "FDINFO":
		return kind{newEntry: of[fdinfo.FdinfoEntry]()}, true
	case "FIFO":
		return kind{newEntry: of[fifo.FifoEntry]()}, true
	case "FIFO_DATA", "PIPES_DATA":
		return kind{newEntry: of[pipe_data.PipeDataEntry](), payload: func(m proto.Message) (int64, int64, bool) {
			return int64(m.(*pipe_data.PipeDataEntry).GetBytes()), 0, true
		}}, true
	case "FILES":
		return kind{newEntry: of[fdinfo.FileEntry]()}, true
	case "FILE_LOCKS":
		return kind{newEntry: of[file_lock.FileLockEntry]()}, true
	case "FS":
		return kind{newEntry: of[fs.FsEntry]()}, true
	case "GHOST_FILE":
		// A ghost file is its header followed either by the whole file
		// content or, when chunks is set, by (chunk entry, data) pairs.
		return kind{
			newHead:  of[ghost_file.GhostFileEntry](),
			newEntry: of[ghost_file.GhostChunkEntry](),
			layout:   headed,
			payload: func(m proto.Message) (int64, int64, bool) {
				if c, ok := m.(*ghost_file.GhostChunkEntry); ok {
					return int64(c.GetLen()), 0, true
				}
				return 0, 0, false
			},
			toEnd: func(m proto.Message) bool {
				g, ok := m.(*ghost_file.GhostFileEntry)
				return ok && !g.GetChunks()
			},
		}, true
	case "IDS":
		return kind{newEntry: of[criu_core.TaskKobjIdsEntry]()}, true
	case "INETSK":
		return kind{newEntry: of[sk_inet.InetSkEntry]()}, true
	case "INOTIFY_FILE":
		return kind{newEntry: of[fsnotify.InotifyFileEntry]()}, true
	case "INOTIFY_WD":
		return kind{newEntry: of[fsnotify.InotifyWdEntry]()}, true
	case "INVENTORY":
		return kind{newEntry: of[inventory.InventoryEntry]()}, true
	case "IPCNS_MSG":
		return kind{newEntry: of[ipc_msg.IpcMsgEntry](), layout: ipcMsgQueue}, true
	case "IPCNS_SEM":
		return kind{newEntry: of[ipc_sem.IpcSemEntry](), payload: func(m proto.Message) (int64, int64, bool) {
			n := 2 * int64(m.(*ipc_sem.IpcSemEntry).GetNsems())
			return n, roundUp(n, 8) - n, true
		}}, true
	case "IPCNS_SHM":
		return kind{newEntry: of[ipc_shm.IpcShmEntry](), payload: func(m proto.Message) (int64, int64, bool) {
			e := m.(*ipc_shm.IpcShmEntry)
			if e.GetInPagemaps() {
				// The segment's pages are in a pagemap/pages pair instead.
				return 0, 0, false
			}
			n := int64(e.GetSize())
			return n, roundUp(n, 4) - n, true
		}}, true
	case "IPC_VAR":
		return kind{newEntry: of[ipc_var.IpcVarEntry]()}, true
	case "IRMAP_CACHE":
		return kind{newEntry: of[fh.IrmapCacheEntry]()}, true
	case "ITIMERS":
		return kind{newEntry: of[timer.ItimerEntry]()}, true
	case "MEMFD_INODE":
		return kind{newEntry: of[memfd.MemfdInodeEntry]()}, true
	case "MM":
		return kind{newEntry: of[mm.MmEntry]()}, true
	case "MNTS":
		return kind{newEntry: of[mnt.MntEntry]()}, true
	case "NETDEV":
		return kind{newEntry: of[netdev.NetDeviceEntry]()}, true
	case "NETLINK_SK":
		return kind{newEntry: of[sk_netlink.NetlinkSkEntry]()}, true
	case "NETNS":
		return kind{newEntry: of[netdev.NetnsEntry]()}, true
	case "NS_FILES":
		return kind{newEntry: of[ns.NsFileEntry]()}, true
	case "PACKETSK":
		return kind{newEntry: of[packet_sock.PacketSockEntry]()}, true
	case "PAGEMAP":
		return kind{newHead: of[pagemap.PagemapHead](), newEntry: of[pagemap.PagemapEntry](), layout: headed}, true
	case "PIDNS":
		return kind{newEntry: of[pidns.PidnsEntry]()}, true
	case "PIPES":
		return kind{newEntry: of[pipe.PipeEntry]()}, true
	case "POSIX_TIMERS":
		return kind{newEntry: of[timer.PosixTimerEntry]()}, true
	case "PSTREE":
		return kind{newEntry: of[pstree.PstreeEntry]()}, true
	case "REG_FILES":
		return kind{newEntry: of[regfile.RegFileEntry]()}, true
	case "REMAP_FPATH":
		return kind{newEntry: of[remap_file_path.RemapFilePathEntry]()}, true
	case "RLIMIT":
		return kind{newEntry: of[rlimit.RlimitEntry]()}, true
	case "SECCOMP":
		return kind{newEntry: of[seccomp.SeccompEntry]()}, true
	case "SIGACT":
		return kind{newEntry: of[criu_sa.SaEntry]()}, true
	case "SIGNAL":
		return kind{newEntry: of[siginfo.SignalQueueEntry]()}, true
	case "SIGNALFD":
		return kind{newEntry: of[signalfd.SignalfdEntry]()}, true
	case "SK_QUEUES":
		return kind{newEntry: of[sk_packet.SkPacketEntry](), payload: func(m proto.Message) (int64, int64, bool) {
			return int64(m.(*sk_packet.SkPacketEntry).GetLength()), 0, true
		}}, true
	case "STATS":
		return kind{newEntry: of[stats.StatsEntry]()}, true
	case "TCP_STREAM":
		return kind{newEntry: of[tcp_stream.TcpStreamEntry](), payload: func(m proto.Message) (int64, int64, bool) {
			e := m.(*tcp_stream.TcpStreamEntry)
			return int64(e.GetInqLen()) + int64(e.GetOutqLen()), 0, true
		}}, true
	case "TIMENS":
		return kind{newEntry: of[timens.TimensEntry]()}, true
	case "TIMERFD":
		return kind{newEntry: of[timerfd.TimerfdEntry]()}, true
	case "TTY_DATA":
		return kind{newEntry: of[tty.TtyDataEntry]()}, true
	case "TTY_FILES":
		return kind{newEntry: of[tty.TtyFileEntry]()}, true
	case "TTY_INFO":
		return kind{newEntry: of[tty.TtyInfoEntry]()}, true
	case "TUNFILE":
		return kind{newEntry: of[tun.TunfileEntry]()}, true
	case "UNIXSK":
		return kind{newEntry: of[sk_unix.UnixSkEntry]()}, true
	case "USERNS":
		return kind{newEntry: of[userns.UsernsEntry]()}, true
	case "UTSNS":
		return kind{newEntry: of[utsns.UtsnsEntry]()}, true
	case "VMAS":
		return kind{newEntry: of[vma.VmaEntry]()}, true
	}
	return kind{}, false
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

func tcpInq(m proto.Message) uint32 {
	return m.(*tcp_stream.TcpStreamEntry).GetInqLen()
}
