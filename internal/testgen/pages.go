package testgen

import (
	"io"
	"sort"
)

// pagesChunk is how much of a pages image is generated at a time.
const pagesChunk = 256 << 10

// writePages streams a process's pages image: the pages of its present
// pagemap entries in pagemap order, each filled and then overlaid with
// what was planted at its addresses. Nothing but one chunk is held.
func writePages(w io.Writer, f filler, pid int, m *mem, buf []byte) error {
	for _, e := range m.entries {
		if !e.present() {
			continue
		}
		for done := uint64(0); done < e.pages; {
			n := min(e.pages-done, uint64(len(buf)/pageSize))
			chunk := buf[:n*pageSize]
			va := e.vaddr + done*pageSize
			for k := uint64(0); k < n; k++ {
				f.page(chunk[k*pageSize:(k+1)*pageSize], uint32(pid), va+k*pageSize)
			}
			m.overlay(chunk, va)
			if _, err := w.Write(chunk); err != nil {
				return err
			}
			done += n
		}
	}
	return nil
}

// overlay copies into chunk, which holds memory from va on, the planted
// bytes that fall in it.
func (m *mem) overlay(chunk []byte, va uint64) {
	end := va + uint64(len(chunk))
	i := sort.Search(len(m.overlays), func(i int) bool {
		o := m.overlays[i]
		return o.vaddr+uint64(len(o.data)) > va
	})
	for ; i < len(m.overlays) && m.overlays[i].vaddr < end; i++ {
		o := m.overlays[i]
		src := o.data
		dst := uint64(0)
		if o.vaddr < va {
			src = src[va-o.vaddr:]
		} else {
			dst = o.vaddr - va
		}
		copy(chunk[dst:], src)
	}
}
