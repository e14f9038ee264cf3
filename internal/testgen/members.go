package testgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	pipe_data "github.com/checkpoint-restore/go-criu/v8/crit/images/pipe-data"
	sk_packet "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-packet"
	tcp_stream "github.com/checkpoint-restore/go-criu/v8/crit/images/tcp-stream"
	"google.golang.org/protobuf/proto"

	"github.com/ckpt-dev/ckpt/criu"
)

// member is one tar member to write: small ones are held, the pages and
// pagemaps are streamed.
type member struct {
	Member
	data  []byte
	write func(io.Writer) error
	// headerLen is where the first entry's length prefix starts (after one
	// magic for inventory, two for the others); 0 for non-images.
	headerLen int
}

func magic(name string) criu.Magic {
	m, ok := criu.MagicByName(name)
	if !ok {
		panic("testgen: no CRIU magic " + name)
	}
	return m
}

// image encodes a small image.
func image(name, magicName string, entries ...proto.Message) (member, error) {
	b, err := criu.EncodeImage(magic(magicName), entries...)
	if err != nil {
		return member{}, fmt.Errorf("testgen: %s: %w", name, err)
	}
	return member{Member: Member{Name: "checkpoint/" + name, Size: int64(len(b))}, data: b, headerLen: headerLen(magicName)}, nil
}

func headerLen(magicName string) int {
	if magicName == "INVENTORY" {
		return 4
	}
	return 8
}

// payloadImage encodes an image whose entries carry data after them.
func payloadImage(name, magicName string, entries []proto.Message, payloads [][]byte) (member, error) {
	var b bytes.Buffer
	w, err := criu.NewWriter(&b, magic(magicName))
	if err == nil {
		for i, e := range entries {
			if err = w.Write(e, payloads[i]); err != nil {
				break
			}
		}
	}
	if err != nil {
		return member{}, fmt.Errorf("testgen: %s: %w", name, err)
	}
	return member{Member: Member{Name: "checkpoint/" + name, Size: int64(b.Len())}, data: b.Bytes(), headerLen: 8}, nil
}

// claimedEntries is the pagemap of a process as its image says it, with
// the damage Break asks for.
func (p *plan) claimedEntries(pr *proc) []pmEntry {
	es := pr.mem.entries
	if pr.idx != 0 || !(p.s.Break.PagemapPastEnd || p.s.Break.OverlapPagemap) {
		return es
	}
	es = slices.Clone(es)
	if p.s.Break.PagemapPastEnd {
		for i := len(es) - 1; i >= 0; i-- {
			if es[i].present() {
				es[i].pages += 16
				break
			}
		}
	}
	if p.s.Break.OverlapPagemap && len(es) > 1 {
		k := len(es) / 2
		es[k].vaddr = es[k-1].end() - pageSize
	}
	return es
}

// pagemapMember streams pagemap-<pid>.img; its size is computed first.
func (p *plan) pagemapMember(pr *proc) member {
	head := &pagemap.PagemapHead{PagesId: proto.Uint32(pr.pagesID)}
	es := p.claimedEntries(pr)
	size := int64(8 + 4 + proto.Size(head))
	for _, e := range es {
		size += int64(4 + proto.Size(pagemapEntry(e)))
	}
	return member{
		Member:    Member{Name: fmt.Sprintf("checkpoint/pagemap-%d.img", pr.pid), Size: size},
		headerLen: 8,
		write: func(w io.Writer) error {
			iw, err := criu.NewWriter(w, magic("PAGEMAP"))
			if err != nil {
				return err
			}
			if err := iw.Write(head, nil); err != nil {
				return err
			}
			for _, e := range es {
				if err := iw.Write(pagemapEntry(e), nil); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// pagesMember streams pages-<N>.img through buf, which the pages members
// share: they are written one after the other.
func (p *plan) pagesMember(pr *proc, f filler, buf []byte) member {
	return member{
		Member: Member{Name: "checkpoint/" + pagesName(pr.pagesID), Size: int64(pr.mem.present) * pageSize},
		write: func(w io.Writer) error {
			return writePages(w, f, pr.pid, pr.mem, buf)
		},
	}
}

// images returns every member under checkpoint/, sorted by name as CRIU's
// directory is when a runtime tars it.
func (p *plan) images() ([]member, error) {
	var ms []member
	var err error
	add := func(m member, e error) {
		if err == nil {
			err = e
		}
		ms = append(ms, m)
	}
	add(image("inventory.img", "INVENTORY", p.inventory()))
	add(image("pstree.img", "PSTREE", p.pstree()...))
	f := newFiller(p.s.Fill, p.s.Seed)
	buf := make([]byte, pagesChunk)
	for _, pr := range p.order {
		for j, tid := range pr.tids {
			add(image(fmt.Sprintf("core-%d.img", tid), "CORE", p.core(pr, j)))
		}
		if pr.zombie {
			continue
		}
		add(image(fmt.Sprintf("ids-%d.img", pr.pid), "IDS", ids(pr.kid)))
		add(image(fmt.Sprintf("mm-%d.img", pr.pid), "MM", p.mm(pr)))
		add(image(fmt.Sprintf("fs-%d.img", pr.pid), "FS", fsEntry(pr)))
		add(image(fmt.Sprintf("fdinfo-%d.img", pr.kid), "FDINFO", fdinfos(pr)...))
		ms = append(ms, p.pagemapMember(pr), p.pagesMember(pr, f, buf))
	}
	files := make([]proto.Message, len(p.files))
	for i, fe := range p.files {
		files[i] = fe
	}
	add(image("files.img", "FILES", files...))
	if len(p.pipeData) > 0 {
		var es []proto.Message
		var pl [][]byte
		for _, d := range p.pipeData {
			es = append(es, &pipe_data.PipeDataEntry{PipeId: proto.Uint32(d.id), Bytes: proto.Uint32(uint32(len(d.data))), Size: proto.Uint32(65536)})
			pl = append(pl, d.data)
		}
		add(payloadImage("pipes-data.img", "PIPES_DATA", es, pl))
	}
	if len(p.skQueues) > 0 {
		var es []proto.Message
		var pl [][]byte
		for _, d := range p.skQueues {
			es = append(es, &sk_packet.SkPacketEntry{IdFor: proto.Uint32(d.id), Length: proto.Uint32(uint32(len(d.data)))})
			pl = append(pl, d.data)
		}
		add(payloadImage("sk-queues.img", "SK_QUEUES", es, pl))
	}
	for _, st := range p.streams {
		e := &tcp_stream.TcpStreamEntry{
			InqLen: proto.Uint32(uint32(len(st.inq))), InqSeq: proto.Uint32(st.seq), OutqLen: proto.Uint32(0), OutqSeq: proto.Uint32(st.sndSeq),
			OptMask: proto.Uint32(7), SndWscale: proto.Uint32(10), MssClamp: proto.Uint32(65495), RcvWscale: proto.Uint32(10),
			Timestamp: proto.Uint32(uint32(hashOf(p.s.Seed, "tcp-ts"))), UnsqLen: proto.Uint32(0), SndWl1: proto.Uint32(st.seq),
			SndWnd: proto.Uint32(65536), MaxWindow: proto.Uint32(65536), RcvWnd: proto.Uint32(65536), RcvWup: proto.Uint32(st.seq),
		}
		add(payloadImage(fmt.Sprintf("tcp-stream-%x.img", st.ino), "TCP_STREAM", []proto.Message{e}, [][]byte{st.inq}))
	}
	if len(p.locks) > 0 {
		var es []proto.Message
		for _, l := range p.locks {
			es = append(es, l)
		}
		add(image("filelocks.img", "FILE_LOCKS", es...))
	}
	add(image("seccomp.img", "SECCOMP", seccompFilter()))
	add(image("timens-0.img", "TIMENS", p.timens()))
	add(image(fmt.Sprintf("utsns-%d.img", nsUTS), "UTSNS", p.utsns()))
	add(image(fmt.Sprintf("ipcns-var-%d.img", nsIPC), "IPC_VAR", ipcVar()))
	add(image(fmt.Sprintf("mountpoints-%d.img", nsMnt), "MNTS", p.mountpoints()...))
	add(image("cgroup.img", "CGROUP", p.cgroup()))
	tmpfs, e := p.tmpfsDev()
	add(member{Member: Member{Name: fmt.Sprintf("checkpoint/tmpfs-dev-%d.tar.gz.img", p.mountOf("/dev")), Size: int64(len(tmpfs))}, data: tmpfs}, e)
	desc, e := json.Marshal(p.descriptors)
	add(member{Member: Member{Name: "checkpoint/descriptors.json", Size: int64(len(desc)), Mode: 0o600}, data: desc}, e)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.Name, b.Name) })
	return ms, nil
}

func small(name string, data []byte, mode int64) member {
	return member{Member: Member{Name: name, Size: int64(len(data)), Mode: mode}, data: data}
}

func dir(name string, mode int64) member {
	return member{Member: Member{Name: name, Mode: mode, Dir: true}}
}

// members returns the archive's members in the order the engine writes
// them.
func (p *plan) members() ([]member, error) {
	imgs, err := p.images()
	if err != nil {
		return nil, err
	}
	config, err := p.configDump()
	if err != nil {
		return nil, err
	}
	specJSON, err := json.Marshal(p.ociSpec())
	if err != nil {
		return nil, err
	}
	statsImg, err := criu.EncodeImage(magic("STATS"), p.stats())
	if err != nil {
		return nil, err
	}
	rootfs, err := p.rootfsDiff()
	if err != nil {
		return nil, err
	}
	var deleted []byte
	if len(p.s.Deleted) > 0 && p.s.Engine != EngineContainerd {
		if deleted, err = json.MarshalIndent(p.s.Deleted, "", "  "); err != nil {
			return nil, err
		}
	}
	statsM := small("stats-dump", statsImg, 0o644)
	statsM.headerLen = 8
	var ms []member
	switch p.s.Engine {
	case EnginePodman:
		// Podman's tar headers carry the file type bits in the mode.
		const reg, dirBits = 0o100000, 0o40000
		shm, err := p.devShm()
		if err != nil {
			return nil, err
		}
		netStatus, err := p.networkStatus()
		if err != nil {
			return nil, err
		}
		statsM.Mode |= reg
		ms = append(ms, dir("artifacts", dirBits|0o755), small("devshm-checkpoint.tar", shm, reg|0o644),
			small("config.dump", config, reg|0o600), small("spec.dump", specJSON, reg|0o600),
			small("network.status", netStatus, reg|0o600), statsM, small("ctr.log", p.s.Logs, reg|0o600),
			dir("checkpoint", dirBits|0o600))
		for _, m := range imgs {
			if m.Mode == 0 {
				m.Mode = 0o644
			}
			m.Mode |= reg
			ms = append(ms, m)
		}
		if len(p.s.RootFS) > 0 {
			ms = append(ms, small("rootfs-diff.tar", rootfs, reg|0o644))
		}
		if deleted != nil {
			ms = append(ms, small("deleted.files", deleted, reg|0o600))
		}
	case EngineContainerd:
		// containerd tars its work directory, walked in lexical order.
		statsM.Mode = 0o600
		status, err := p.containerdStatus()
		if err != nil {
			return nil, err
		}
		statusDump, err := p.statusDump()
		if err != nil {
			return nil, err
		}
		ms = append(ms, dir("checkpoint", 0o700))
		for _, m := range imgs {
			m.Mode = 0o644
			ms = append(ms, m)
		}
		ms = append(ms, small("config.dump", config, 0o600))
		if p.s.Logs != nil {
			ms = append(ms, small("container.log", p.s.Logs, 0o600))
		}
		ms = append(ms, small("dump.log", p.dumpLog(), 0o600), small("rootfs-diff.tar", rootfs, 0o644),
			small("spec.dump", specJSON, 0o644), statsM, small("status", status, 0o600), small("status.dump", statusDump, 0o600))
	default:
		ms = append(ms, dir("checkpoint", 0o755))
		for _, m := range imgs {
			if m.Mode == 0 {
				m.Mode = 0o644
			}
			ms = append(ms, m)
		}
		ms = append(ms, small("config.dump", config, 0o600), small("spec.dump", specJSON, 0o600),
			small("dump.log", p.dumpLog(), 0o600), statsM)
		if len(p.s.RootFS) > 0 {
			ms = append(ms, small("rootfs-diff.tar", rootfs, 0o644))
		}
		if deleted != nil {
			ms = append(ms, small("deleted.files", deleted, 0o600))
		}
	}
	ms, err = p.damage(ms)
	if err != nil {
		return nil, err
	}
	switch p.s.Order {
	case OrderReverse:
		slices.Reverse(ms)
	case OrderShuffled:
		rng := newRand(p.s.Seed, "order")
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	}
	return ms, nil
}
