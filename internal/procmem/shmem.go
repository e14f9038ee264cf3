package procmem

import "github.com/ckpt-dev/ckpt/proc"

// VMA status bits (CRIU's VMA_ANON_SHARED, VMA_AREA_SYSVIPC) of memory
// dumped apart from the processes that map it.
const (
	vmaAnonShared = 1 << 8
	vmaSysVIPC    = 1 << 10
)

// shmMap is a process's mapping of an anonymous shared memory segment,
// whose pages CRIU dumps once, in pagemap-shmem-<shmid>.img, addressed by
// offset in the segment.
type shmMap struct {
	shmid      uint32
	start, end uint64
	pgoff      uint64
}

func shmMaps(p *proc.Process) []shmMap {
	var out []shmMap
	if p.MM == nil {
		return nil
	}
	for _, v := range p.MM.GetVmas() {
		if v.GetStatus()&vmaAnonShared != 0 {
			out = append(out, shmMap{shmid: uint32(v.GetShmid()), start: v.GetStart(), end: v.GetEnd(), pgoff: v.GetPgoff()})
		}
	}
	return out
}
