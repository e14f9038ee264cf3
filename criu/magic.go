package criu

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/checkpoint-restore/go-criu/v8/magic"
)

// Magic is the number that identifies an image type.
type Magic uint32

// The two "first" magics of image format v1.1: every image but inventory
// starts with one of them, then its own magic.
const (
	magicCommon  Magic = 0x54564319
	magicService Magic = 0x55105940
)

// magicTable is go-criu's generated name table, built once: it is constant
// data, and LoadMagic allocates two maps on every call.
var magicTable = sync.OnceValue(magic.LoadMagic)

// String returns CRIU's name for the magic ("PSTREE", "CORE", ...) or its
// value in hex when the magic is unknown.
func (m Magic) String() string {
	if name, ok := magicTable().ByValue[uint64(m)]; ok {
		return name
	}
	return fmt.Sprintf("0x%08x", uint32(m))
}

// MagicByName returns the magic CRIU calls name.
func MagicByName(name string) (Magic, bool) {
	v, ok := magicTable().ByName[name]
	return Magic(v), ok
}

// rawPrefixes name the images CRIU writes without a magic: memory pages
// and blobs produced by other tools (tar, ip, iptables, nft).
var rawPrefixes = []string{
	"pages-", "amdgpu-pages-", "tmpfs-", "ifaddr-", "route-", "route6-",
	"rule-", "iptables-", "ip6tables-", "nftables-", "netns-ct-", "netns-exp-",
}

// IsRaw reports whether the image named name (a base name such as
// "pages-1.img") is raw data with no magic and no entries.
func IsRaw(name string) bool {
	base := path.Base(name)
	for _, p := range rawPrefixes {
		if strings.HasPrefix(base, p) {
			return true
		}
	}
	return false
}

// rawKinds say what each kind of raw image holds, for messages.
var rawKinds = []struct{ prefix, kind string }{
	{"pages-", "memory pages"},
	{"amdgpu-pages-", "AMD GPU memory pages"},
	{"tmpfs-", "a tar archive of a tmpfs mount"},
	{"ifaddr-", "a raw netlink dump of interface addresses (ip addr save)"},
	{"route-", "a raw netlink dump of IPv4 routes (ip route save)"},
	{"route6-", "a raw netlink dump of IPv6 routes (ip -6 route save)"},
	{"rule-", "a raw netlink dump of routing rules (ip rule save)"},
	{"iptables-", "iptables-save output"},
	{"ip6tables-", "ip6tables-save output"},
	{"nftables-", "an nft ruleset"},
	{"netns-ct-", "a raw netlink dump of conntrack entries"},
	{"netns-exp-", "a raw netlink dump of conntrack expectations"},
}

// RawKind says what the raw image named name holds ("memory pages",
// "iptables-save output", ...), or "" when it is not a raw image.
func RawKind(name string) string {
	base := path.Base(name)
	kind, n := "", 0
	for _, k := range rawKinds {
		// The longest prefix wins: amdgpu-pages- over pages-.
		if strings.HasPrefix(base, k.prefix) && len(k.prefix) > n {
			kind, n = k.kind, len(k.prefix)
		}
	}
	return kind
}
