package proc

import (
	"fmt"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/creds"
	criu_core "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"

	"github.com/ckpt-dev/ckpt/criu"
)

// Creds are a process's credentials.
type Creds struct {
	UID    uint32   `json:"uid"`
	EUID   uint32   `json:"euid"`
	SUID   uint32   `json:"suid"`
	FSUID  uint32   `json:"fsuid"`
	GID    uint32   `json:"gid"`
	EGID   uint32   `json:"egid"`
	SGID   uint32   `json:"sgid"`
	FSGID  uint32   `json:"fsgid"`
	Groups []uint32 `json:"groups"`
	// Capability sets as bit masks (bit n = capability n).
	CapEffective   uint64 `json:"cap_effective"`
	CapPermitted   uint64 `json:"cap_permitted"`
	CapInheritable uint64 `json:"cap_inheritable"`
	CapBounding    uint64 `json:"cap_bounding"`
	CapAmbient     uint64 `json:"cap_ambient"`
	Secbits        uint32 `json:"secbits"`
	NoNewPrivs     bool   `json:"no_new_privs"`
	LSMProfile     string `json:"lsm_profile"`
}

// credsOf reads the credentials of a thread from its core image (CRIU 2.0
// and later) or from the old creds-<pid>.img.
func credsOf(images *criu.ImageSet, core *criu_core.CoreEntry, pid uint32) *Creds {
	c := core.GetThreadCore().GetCreds()
	if c == nil {
		c = criu.First[*creds.CredsEntry](images, fmt.Sprintf("creds-%d.img", pid))
	}
	if c == nil {
		return nil
	}
	return &Creds{
		UID: c.GetUid(), EUID: c.GetEuid(), SUID: c.GetSuid(), FSUID: c.GetFsuid(),
		GID: c.GetGid(), EGID: c.GetEgid(), SGID: c.GetSgid(), FSGID: c.GetFsgid(),
		Groups:       append([]uint32{}, c.GetGroups()...),
		CapEffective: capSet(c.GetCapEff()), CapPermitted: capSet(c.GetCapPrm()),
		CapInheritable: capSet(c.GetCapInh()), CapBounding: capSet(c.GetCapBnd()),
		CapAmbient: capSet(c.GetCapAmb()), Secbits: c.GetSecbits(),
		NoNewPrivs: c.GetNoNewPrivs() != 0, LSMProfile: c.GetLsmProfile(),
	}
}

// capSet joins CRIU's 32-bit words, low word first.
func capSet(words []uint32) uint64 {
	var s uint64
	for i, w := range words {
		if i < 2 {
			s |= uint64(w) << (32 * i)
		}
	}
	return s
}

// capNames are the Linux capabilities by number (capability.h).
func capName(n int) string {
	names := [...]string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
		"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
		"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
		"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
		"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
		"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
		"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
		"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
		"CAP_CHECKPOINT_RESTORE",
	}
	if n < len(names) {
		return names[n]
	}
	return fmt.Sprintf("CAP_%d", n)
}

// CapNames lists the capabilities in a set.
func CapNames(set uint64) []string {
	names := []string{}
	for n := range 64 {
		if set&(1<<n) != 0 {
			names = append(names, capName(n))
		}
	}
	return names
}

// dangerousCaps are the capabilities that amount to root on the node when
// a container holds them.
const dangerousCaps = 1<<21 | 1<<19 | 1<<16 | 1<<17 | 1<<12 | 1<<39 | 1<<38 // SYS_ADMIN, SYS_PTRACE, SYS_MODULE, SYS_RAWIO, NET_ADMIN, BPF, PERFMON

// CapSummary describes an effective set in a few words: "none", "all (41)",
// or the names when there are few, flagging the dangerous ones.
func CapSummary(set uint64) string {
	names := CapNames(set)
	switch {
	case len(names) == 0:
		return "none"
	case set&(1<<41-1) == 1<<41-1:
		return fmt.Sprintf("all (%d, incl. CAP_SYS_ADMIN)", len(names))
	case len(names) > 8:
		s := fmt.Sprintf("%d capabilities", len(names))
		if d := CapNames(set & dangerousCaps); len(d) > 0 {
			s += " incl. " + strings.Join(d, ", ")
		}
		return s
	}
	return strings.Join(names, ", ")
}
