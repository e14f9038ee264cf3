package testgen

import (
	"fmt"
	"path"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
	file_lock "github.com/checkpoint-restore/go-criu/v8/crit/images/file-lock"
)

// proc is one process as planned.
type proc struct {
	idx                  int
	pid, ppid, pgid, sid int
	tids                 []int
	comm                 string
	threadComms          []string
	zombie               bool
	kid                  uint32 // vm, files, fs and sighand id
	pagesID              uint32
	mem                  *mem
	fds                  []fdRef
	cwdID, rootID        uint32
	children             []int
}

// fdRef is one descriptor of a process's fdinfo image.
type fdRef struct {
	fd     uint32
	id     uint32
	typ    fdinfo.FdTypes
	target string
}

// Namespace ids. CRIU numbers namespaces in one sequence: its own first
// (the root_ids of the inventory), then the container's, which a runtime
// always creates (pid, net, ipc, uts, mnt); the user, cgroup and time
// namespaces are the host's.
const (
	nsHostPID, nsHostNet, nsHostIPC, nsHostUTS, nsTime, nsHostMnt, nsUser, nsCgroup = 1, 2, 3, 4, 5, 6, 7, 8
	nsPID, nsNet, nsIPC, nsUTS, nsMnt                                               = 9, 10, 11, 12, 13
)

// plan is the whole dump, decided before a byte is written.
type plan struct {
	s      Spec
	b      bases
	procs  []*proc // by index
	order  []*proc // pstree (dump) order
	live   []*proc // order without zombies
	ids    fileIDs
	files  []*fdinfo.FileEntry // files.img, in id order
	nextID uint32
	ino    uint32
	mounts []mount

	pipeData []dataItem // pipes-data.img: pipe inode → data
	skQueues []dataItem // sk-queues.img: receiving socket id → data
	streams  []tcpStream
	locks    []*file_lock.FileLockEntry
	// descriptors is checkpoint/descriptors.json: what init's stdio are.
	descriptors []string
	markers     []PlacedMarker
}

type dataItem struct {
	id   uint32
	data []byte
}

// tcpStream is the queue image of one established socket.
type tcpStream struct {
	ino      uint32
	inq      []byte
	seq      uint32
	sndSeq   uint32
	clientSk bool
}

func buildPlan(s Spec) (*plan, error) {
	p := &plan{s: s, b: newBases(s.Seed), nextID: 1, ino: 100000 + uint32(hashOf(s.Seed, "ino")%50000)}
	p.procs = make([]*proc, s.Processes)
	pid := s.FirstPID
	for i := range p.procs {
		pr := &proc{idx: i, zombie: i >= s.Processes-s.Zombies}
		pr.pid = pid
		pr.tids = []int{pid}
		pid++
		if !pr.zombie {
			for range s.ThreadsPerProcess - 1 {
				pr.tids = append(pr.tids, pid)
				pid++
			}
		}
		pr.comm = p.comm(i)
		for j := range pr.tids {
			if j == 0 {
				pr.threadComms = append(pr.threadComms, pr.comm)
			} else {
				pr.threadComms = append(pr.threadComms, fmt.Sprintf("worker-%d", j))
			}
		}
		if i > 0 {
			parent := p.procs[(i-1)/2]
			parent.children = append(parent.children, i)
			pr.ppid = parent.pid
		}
		p.procs[i] = pr
	}
	root := p.procs[0]
	for _, pr := range p.procs {
		pr.pgid, pr.sid = root.pid, root.pid
	}
	var visit func(i int)
	visit = func(i int) {
		pr := p.procs[i]
		p.order = append(p.order, pr)
		if !pr.zombie {
			pr.kid = uint32(2 + len(p.live))
			p.live = append(p.live, pr)
			pr.pagesID = uint32(len(p.live))
		}
		for _, c := range pr.children {
			visit(c)
		}
	}
	visit(0)
	p.mounts = p.mountTable()
	p.planFiles()
	if err := p.planMemory(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *plan) comm(i int) string {
	if i < len(p.s.Comms) && p.s.Comms[i] != "" {
		return truncComm(p.s.Comms[i])
	}
	base := path.Base(p.s.Cmdline[0])
	if i == 0 {
		return truncComm(base)
	}
	suffix := fmt.Sprintf("-%d", i)
	return truncComm(base[:min(len(base), 15-len(suffix))] + suffix)
}

// truncComm cuts a name to the kernel's TASK_COMM_LEN-1 bytes.
func truncComm(s string) string { return s[:min(len(s), 15)] }

// planMemory lays out every live process's memory: the fixed mappings,
// then the bulk anonymous memory that brings the pages to PageBytes, then
// the markers.
func (p *plan) planMemory() error {
	byProc := map[int][]int{} // process index → marker indices
	for i, mk := range p.s.Markers {
		byProc[mk.Process] = append(byProc[mk.Process], i)
	}
	var fixed uint64
	for _, pr := range p.live {
		var heap uint64
		for _, i := range byProc[pr.idx] {
			if mk := p.s.Markers[i]; mk.Vaddr == 0 && mk.Region == RegionHeap {
				heap += heapNeed(mk)
			}
		}
		m, err := planFixed(&p.s, p.b, p.ids, len(pr.tids), heap)
		if err != nil {
			return err
		}
		for _, e := range m.entries {
			fixed += e.pages
		}
		pr.mem = m
	}
	target := (uint64(p.s.PageBytes) + pageSize - 1) / pageSize
	var bulk uint64
	if target > fixed {
		bulk = target - fixed
	}
	n := uint64(len(p.live))
	for k, pr := range p.live {
		share := bulk / n
		if k == 0 {
			share += bulk % n
		}
		pr.mem.planBulk(share, p.s.ParentEntries, p.s.MaxRunPages, uint64(p.s.MappingPages), newRand(p.s.Seed, fmt.Sprintf("bulk/%d", pr.idx)))
		pr.mem.finish()
	}
	p.markers = make([]PlacedMarker, len(p.s.Markers))
	for _, pr := range p.live {
		idx := byProc[pr.idx]
		if len(idx) == 0 {
			continue
		}
		mks := make([]Marker, len(idx))
		for k, i := range idx {
			mks[k] = p.s.Markers[i]
		}
		addrs, err := pr.mem.placeMarkers(mks, idx, pr.pid)
		if err != nil {
			return err
		}
		if err := pr.mem.addOverlays(mks, addrs, idx); err != nil {
			return err
		}
		for k, i := range idx {
			pm := PlacedMarker{Data: mks[k].Data, PID: pr.pid, Vaddr: addrs[k], PagesImage: pagesName(pr.pagesID)}
			lp := Process{Pages: rangesOf(pr.mem.entries)}
			pm.Offset, _ = lp.Offset(addrs[k])
			p.markers[i] = pm
		}
	}
	return nil
}

func pagesName(id uint32) string { return fmt.Sprintf("pages-%d.img", id) }

func rangesOf(entries []pmEntry) []PageRange {
	out := make([]PageRange, len(entries))
	for i, e := range entries {
		out[i] = PageRange{Vaddr: e.vaddr, Pages: e.pages, Flags: e.flags, Offset: e.off}
	}
	return out
}

// totalPages is the size of all pages images.
func (p *plan) totalPages() int64 {
	var n int64
	for _, pr := range p.live {
		n += int64(pr.mem.present) * pageSize
	}
	return n
}
