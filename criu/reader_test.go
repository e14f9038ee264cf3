package criu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	ghost_file "github.com/checkpoint-restore/go-criu/v8/crit/images/ghost-file"
	ipc_desc "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-desc"
	ipc_msg "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-msg"
	ipc_sem "github.com/checkpoint-restore/go-criu/v8/crit/images/ipc-sem"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	pipe_data "github.com/checkpoint-restore/go-criu/v8/crit/images/pipe-data"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"
	"google.golang.org/protobuf/proto"
)

func mustMagic(t testing.TB, name string) Magic {
	m, ok := MagicByName(name)
	if !ok {
		t.Fatalf("no magic %s", name)
	}
	return m
}

// image builds an image from (entry, payload) pairs.
func image(t testing.TB, magic string, pairs ...any) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(&b, mustMagic(t, magic))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pairs); i += 2 {
		var payload []byte
		if pairs[i+1] != nil {
			payload = pairs[i+1].([]byte)
		}
		if err := w.Write(pairs[i].(proto.Message), payload); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func readAll(data []byte, size int64) ([]proto.Message, [][]byte, error) {
	rd, err := NewReader(bytes.NewReader(data), Options{Size: size})
	if err != nil {
		return nil, nil, err
	}
	var msgs []proto.Message
	var payloads [][]byte
	for {
		m, err := rd.Next()
		if err == io.EOF {
			return msgs, payloads, nil
		}
		if err != nil {
			return msgs, payloads, err
		}
		msgs = append(msgs, m)
		if p, _ := rd.Payload(); p != nil {
			b, err := io.ReadAll(p)
			if err != nil {
				return msgs, payloads, err
			}
			payloads = append(payloads, b)
		}
	}
}

func TestPayloadsReadAndSkipped(t *testing.T) {
	data := image(t, "PIPES_DATA",
		&pipe_data.PipeDataEntry{PipeId: proto.Uint32(1), Bytes: proto.Uint32(5)}, []byte("hello"),
		&pipe_data.PipeDataEntry{PipeId: proto.Uint32(2), Bytes: proto.Uint32(3)}, []byte("abc"))
	for _, size := range []int64{0, int64(len(data))} {
		msgs, payloads, err := readAll(data, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || string(payloads[0]) != "hello" || string(payloads[1]) != "abc" {
			t.Fatalf("size %d: got %v %q", size, msgs, payloads)
		}
	}
	// Skipping: call Next without reading the payload.
	rd, _ := NewReader(bytes.NewReader(data), Options{})
	rd.Next()
	m, err := rd.Next()
	if err != nil || m.(*pipe_data.PipeDataEntry).GetPipeId() != 2 {
		t.Fatalf("skip failed: %v %v", m, err)
	}
}

func TestHeadedImages(t *testing.T) {
	data := image(t, "PAGEMAP",
		&pagemap.PagemapHead{PagesId: proto.Uint32(7)}, nil,
		&pagemap.PagemapEntry{Vaddr: proto.Uint64(0x1000), CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(3)}, nil)
	msgs, _, err := readAll(data, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].(*pagemap.PagemapHead).GetPagesId() != 7 || msgs[1].(*pagemap.PagemapEntry).GetNrPages() != 3 {
		t.Fatalf("got %v", msgs)
	}
}

func TestGhostFileContentRunsToEnd(t *testing.T) {
	g := &ghost_file.GhostFileEntry{Uid: proto.Uint32(0), Gid: proto.Uint32(0), Mode: proto.Uint32(0o100600)}
	data := image(t, "GHOST_FILE", g, []byte("deleted but open"))
	for _, size := range []int64{0, int64(len(data))} {
		msgs, payloads, err := readAll(data, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || string(payloads[0]) != "deleted but open" {
			t.Fatalf("size %d: %v %q", size, msgs, payloads)
		}
	}
	chunked := image(t, "GHOST_FILE",
		&ghost_file.GhostFileEntry{Uid: proto.Uint32(0), Gid: proto.Uint32(0), Mode: proto.Uint32(0o100600), Chunks: proto.Bool(true)}, nil,
		&ghost_file.GhostChunkEntry{Len: proto.Uint64(4), Off: proto.Uint64(0)}, []byte("abcd"),
		&ghost_file.GhostChunkEntry{Len: proto.Uint64(2), Off: proto.Uint64(8192)}, []byte("ef"))
	msgs, payloads, err := readAll(chunked, int64(len(chunked)))
	if err != nil || len(msgs) != 3 || string(bytes.Join(payloads, nil)) != "abcdef" {
		t.Fatalf("chunked: %v %q %v", msgs, payloads, err)
	}
}

func TestIPCPadding(t *testing.T) {
	desc := &ipc_desc.IpcDescEntry{Key: proto.Uint32(1), Uid: proto.Uint32(0), Gid: proto.Uint32(0), Cuid: proto.Uint32(0), Cgid: proto.Uint32(0), Mode: proto.Uint32(0o600), Id: proto.Uint32(1)}
	// 3 semaphores = 6 bytes, padded to 8.
	sem := image(t, "IPCNS_SEM",
		&ipc_sem.IpcSemEntry{Desc: desc, Nsems: proto.Uint32(3)}, []byte{1, 0, 2, 0, 3, 0, 0, 0},
		&ipc_sem.IpcSemEntry{Desc: desc, Nsems: proto.Uint32(4)}, []byte{4, 0, 5, 0, 6, 0, 7, 0})
	var out bytes.Buffer
	if err := WriteJSON(&out, bytes.NewReader(sem), JSONOptions{Options: Options{Size: int64(len(sem))}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\"extra\": [\n                1,\n                2,\n                3\n") ||
		!strings.Contains(out.String(), "7\n") {
		t.Fatalf("semaphores: %s", out.String())
	}
	// A message queue with two messages of 3 and 8 bytes.
	var q []byte
	q = append(q, image(t, "IPCNS_MSG", &ipc_msg.IpcMsgEntry{Desc: desc, Qbytes: proto.Uint32(16384), Qnum: proto.Uint32(2)}, nil)...)
	for _, m := range []string{"abc", "12345678"} {
		b, _ := proto.Marshal(&ipc_msg.IpcMsg{Mtype: proto.Uint64(1), Msize: proto.Uint32(uint32(len(m)))})
		q = binary.LittleEndian.AppendUint32(q, uint32(len(b)))
		q = append(q, b...)
		q = append(q, m...)
		q = append(q, make([]byte, roundUp(int64(len(m)), 8)-int64(len(m)))...)
	}
	rd, err := NewReader(bytes.NewReader(q), Options{Size: int64(len(q))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	msgs := rd.QueueMessages()
	if len(msgs) != 2 || string(msgs[0].Data) != "abc" || string(msgs[1].Data) != "12345678" {
		t.Fatalf("queue: %+v", msgs)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after queue: %v", err)
	}
}

func TestBadImages(t *testing.T) {
	good := image(t, "PSTREE", &pstree.PstreeEntry{Pid: proto.Uint32(1), Ppid: proto.Uint32(0), Pgid: proto.Uint32(1), Sid: proto.Uint32(1)}, nil)
	oversized := append([]byte{}, good[:8]...)
	oversized = binary.LittleEndian.AppendUint32(oversized, 0xffffffff)
	pastEnd := append([]byte{}, good[:8]...)
	pastEnd = binary.LittleEndian.AppendUint32(pastEnd, 1000)
	pastEnd = append(pastEnd, make([]byte, 100)...)
	pipes := image(t, "PIPES_DATA", &pipe_data.PipeDataEntry{PipeId: proto.Uint32(1), Bytes: proto.Uint32(100)}, []byte("short"))
	for name, tc := range map[string]struct {
		data []byte
		size int64
		want string
	}{
		"empty":                  {nil, 0, "reading magic"},
		"unknown magic":          {[]byte{1, 2, 3, 4, 5, 6, 7, 8}, 8, "unknown image magic 0x04030201"},
		"4 GiB length prefix":    {oversized, 0, "length prefix 4294967295 exceeds"},
		"length past end":        {pastEnd, int64(len(pastEnd)), "runs past the end of the image"},
		"truncated entry":        {good[:len(good)-2], 0, "unexpected EOF"},
		"truncated length":       {good[:10], 0, "length prefix: unexpected EOF"},
		"payload past end":       {pipes, int64(len(pipes)), "payload of 100 bytes runs past the end"},
		"payload truncated":      {pipes, 0, "unexpected EOF"},
		"garbage protobuf entry": {append(good[:8:8], 3, 0, 0, 0, 0xff, 0xff, 0xff), 0, "PSTREE entry 0"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := readAll(tc.data, tc.size)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnknownMagic) {
				t.Fatalf("error %v is neither ErrFormat nor ErrUnknownMagic", err)
			}
		})
	}
}

func TestRawNames(t *testing.T) {
	for name, raw := range map[string]bool{
		"pages-1.img": true, "checkpoint/pages-12.img": true, "tmpfs-dev-43.tar.gz.img": true,
		"pagemap-1.img": false, "pstree.img": false, "core-1.img": false,
	} {
		if IsRaw(name) != raw {
			t.Errorf("IsRaw(%q) = %v", name, !raw)
		}
	}
}

// FuzzReader feeds arbitrary bytes to the decoder: it must return entries
// or an error, never panic, and never allocate past its limits.
func FuzzReader(f *testing.F) {
	f.Add(image(f, "PSTREE", &pstree.PstreeEntry{Pid: proto.Uint32(1), Ppid: proto.Uint32(0), Pgid: proto.Uint32(1), Sid: proto.Uint32(1), Threads: []uint32{1, 2}}, nil))
	f.Add(image(f, "PIPES_DATA", &pipe_data.PipeDataEntry{PipeId: proto.Uint32(1), Bytes: proto.Uint32(5)}, []byte("hello")))
	f.Add(image(f, "PAGEMAP", &pagemap.PagemapHead{PagesId: proto.Uint32(7)}, nil,
		&pagemap.PagemapEntry{Vaddr: proto.Uint64(0x1000), CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(3)}, nil))
	f.Add(image(f, "GHOST_FILE", &ghost_file.GhostFileEntry{Uid: proto.Uint32(0), Gid: proto.Uint32(0), Mode: proto.Uint32(0o100600), Chunks: proto.Bool(true)}, nil,
		&ghost_file.GhostChunkEntry{Len: proto.Uint64(4), Off: proto.Uint64(0)}, []byte("abcd")))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, size := range []int64{0, int64(len(data))} {
			rd, err := NewReader(bytes.NewReader(data), Options{Size: size, MaxEntry: 1 << 20})
			if err != nil {
				continue
			}
			for i := 0; i < 10000; i++ {
				if _, err := rd.Next(); err != nil {
					break
				}
				if p, _ := rd.Payload(); p != nil && i%2 == 0 {
					io.Copy(io.Discard, p)
				}
			}
			var out bytes.Buffer
			WriteJSON(&out, bytes.NewReader(data), JSONOptions{Options: Options{Size: size, MaxEntry: 1 << 20}, MaxPayload: 1 << 20})
		}
	})
}
