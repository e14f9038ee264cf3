package proc

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
)

// Sock is a socket description.
type Sock struct {
	Family string `json:"family"` // unix, inet, inet6, packet, netlink
	Type   string `json:"type"`   // stream, dgram, seqpacket, raw
	Proto  string `json:"proto"`  // tcp, udp, ... for inet
	State  string `json:"state"`  // LISTEN, ESTABLISHED, ...
	Inode  uint32 `json:"inode"`
	Local  string `json:"local"` // address:port, or a unix path
	Remote string `json:"remote"`
	// LocalPort and RemotePort repeat the inet ports as numbers.
	LocalPort  uint32 `json:"local_port"`
	RemotePort uint32 `json:"remote_port"`
	Peer       uint32 `json:"peer_inode"` // unix peer
	// RecvQueue and SendQueue are the bytes saved in the checkpoint: data
	// that had arrived and not been read, or was not yet sent.
	RecvQueue   int64  `json:"recv_queue_bytes"`
	SendQueue   int64  `json:"send_queue_bytes"`
	SendBuffer  uint32 `json:"send_buffer"`
	RecvBuffer  uint32 `json:"recv_buffer"`
	Description string `json:"description"`
}

func socketOf(e *fdinfo.FileEntry, q queues) *Sock {
	var s *Sock
	switch {
	case e.GetIsk() != nil:
		k := e.GetIsk()
		s = &Sock{
			Family: lower(skFamily(k.GetFamily())), Type: lower(skType(k.GetType())), Proto: lower(skProto(k.GetProto())),
			State: skState(k.GetState()), Inode: k.GetIno(), LocalPort: k.GetSrcPort(), RemotePort: k.GetDstPort(),
			Local: hostPort(k.GetSrcAddr(), k.GetSrcPort()), Remote: hostPort(k.GetDstAddr(), k.GetDstPort()),
			SendBuffer: k.GetOpts().GetSoSndbuf(), RecvBuffer: k.GetOpts().GetSoRcvbuf(),
		}
		if t, ok := q.tcp[k.GetIno()]; ok {
			s.RecvQueue, s.SendQueue = t[0], t[1]
		}
		s.Description = fmt.Sprintf("%s %s", s.Proto, s.Local)
		if s.State == "LISTEN" {
			s.Description += " LISTEN"
		} else {
			s.Description += fmt.Sprintf(" -> %s %s", s.Remote, s.State)
		}
	case e.GetUsk() != nil:
		u := e.GetUsk()
		s = &Sock{Family: "unix", Type: lower(skType(u.GetType())), State: skState(u.GetState()), Inode: u.GetIno(), Peer: u.GetPeer(),
			Local: unixName(u.GetName()), RecvQueue: q.socket[u.GetId()],
			SendBuffer: u.GetOpts().GetSoSndbuf(), RecvBuffer: u.GetOpts().GetSoRcvbuf()}
		s.Description = fmt.Sprintf("unix %s %s [%d", s.Type, s.Local, s.Inode)
		if s.Peer != 0 {
			s.Description += fmt.Sprintf(" -> %d", s.Peer)
		}
		s.Description += "] " + s.State
	case e.GetPsk() != nil:
		p := e.GetPsk()
		s = &Sock{Family: "packet", Type: lower(skType(p.GetType())), Proto: fmt.Sprintf("0x%04x", p.GetProtocol()), RecvQueue: q.socket[p.GetId()]}
		s.Description = fmt.Sprintf("packet %s protocol %s ifindex %d", s.Type, s.Proto, p.GetIfindex())
	case e.GetNlsk() != nil:
		n := e.GetNlsk()
		s = &Sock{Family: "netlink", Proto: strconv.Itoa(int(n.GetProtocol())), Inode: n.GetIno(), Local: fmt.Sprintf("portid %d", n.GetPortid())}
		s.Description = fmt.Sprintf("netlink protocol %d portid %d", n.GetProtocol(), n.GetPortid())
	default:
		s = &Sock{Description: "socket"}
	}
	if s.RecvQueue > 0 || s.SendQueue > 0 {
		s.Description += fmt.Sprintf(" (queued: %d in, %d out)", s.RecvQueue, s.SendQueue)
	}
	return s
}

// hostPort renders an address CRIU stores as network-order words.
func hostPort(words []uint32, port uint32) string {
	var b []byte
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	addr, ok := netip.AddrFromSlice(b)
	if !ok {
		return fmt.Sprintf("?:%d", port)
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)).String()
}

// unixName shows abstract names with a leading @, as ss(8) does.
func unixName(b []byte) string {
	switch {
	case len(b) == 0:
		return "(unnamed)"
	case b[0] == 0:
		return "@" + string(b[1:])
	}
	return string(b)
}

func skFamily(v uint32) string {
	return codeName(v, "family %d", code{1, "UNIX"}, code{2, "INET"}, code{10, "INET6"}, code{16, "NETLINK"}, code{17, "PACKET"})
}

func skType(v uint32) string {
	return codeName(v, "type %d", code{1, "STREAM"}, code{2, "DGRAM"}, code{3, "RAW"}, code{5, "SEQPACKET"}, code{10, "PACKET"})
}

func skProto(v uint32) string {
	return codeName(v, "proto %d", code{0, "IP"}, code{6, "TCP"}, code{17, "UDP"}, code{136, "UDPLITE"})
}

// code names one value of a kernel enumeration (AF_*, SOCK_*, IPPROTO_*).
type code struct {
	v    uint32
	name string
}

// codeName is the name of v among codes, or unknown formatted with v.
func codeName(v uint32, unknown string, codes ...code) string {
	for _, c := range codes {
		if c.v == v {
			return c.name
		}
	}
	return fmt.Sprintf(unknown, v)
}

func skState(v uint32) string {
	states := [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"}
	if int(v) < len(states) && v > 0 {
		return states[v]
	}
	return fmt.Sprintf("state %d", v)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
