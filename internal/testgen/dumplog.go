package testgen

import (
	"bytes"
	"fmt"
)

// dumpLog is a CRIU 4.2 "-v4" dump log, abridged: the lines that say which
// CRIU ran where, the per-task progress, the harmless error and warning a
// successful dump of a container usually has, and the final line.
func (p *plan) dumpLog() []byte {
	var b bytes.Buffer
	t := 0.0
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, "(%09.6f) ", t)
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
		t += 0.000213
	}
	s := &p.s
	line("CRIU run id = %s", uuidOf(s.Seed, "criu-run-id"))
	line("Version: 4.2 (gitid v4.2)")
	line("Running on %s Linux %s #1 SMP PREEMPT_DYNAMIC @0 x86_64", s.Host, s.Kernel)
	line("File /run/criu.kdat does not exist")
	line("sockets: Probing sock diag modules")
	line("sockets: Done probing")
	line("PAGEMAP_SCAN is supported")
	line("Pagemap is fully functional")
	line("Found task size of 7ffffffff000")
	line("Warn  (criu/kerndat.c:1799): Hardware breakpoints don't seem to work (status=137f)")
	line("Found mmap_min_addr 0x10000")
	line("files stat: fs/nr_open 1048576")
	if len(s.TCP) > 0 {
		line("Will dump/restore TCP connections")
	}
	line("========================================")
	root := p.procs[0]
	line("Dumping processes (pid: %d comm: %s)", 40000+hashOf(s.Seed, "host-pid")%20000, root.comm)
	line("========================================")
	line("Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted")
	line("Running pre-dump scripts")
	line("irmap: No irmap cache")
	for _, pr := range p.live {
		line("")
		line("Collecting mappings (pid: %d)", pr.pid)
		line("----------------------------------------")
		line("")
		line("Dumping task (pid: %d)", pr.pid)
		line("========================================")
		for j, tid := range pr.tids {
			line("Dumping core (pid: %d)", tid)
			if j > 0 {
				line("Dumping thread (pid: %d, comm: %s)", tid, pr.threadComms[j])
			}
		}
		line("Dumping opened files (pid: %d)", pr.pid)
		line("----------------------------------------")
		line("Dumping path for %d fd via self %d [%s]", 0, 0, "/dev/null")
		line("Dumping %d(%d) pages", pr.mem.present, pr.pagesID)
		line("----------------------------------------")
	}
	for _, pr := range p.order {
		if pr.zombie {
			line("Obtaining zombie stat ... ")
		}
	}
	line("")
	line("Dumping pstree (pid: %d)", root.pid)
	line("----------------------------------------")
	for _, pr := range p.order {
		line("Process: %d(%d)", pr.pid, 40000+uint64(pr.pid))
	}
	line("----------------------------------------")
	line("Writing image inventory (version 1)")
	line("Running post-dump scripts")
	line("Unfreezing tasks into 1")
	line("Writing stats")
	line("Dumping finished successfully")
	return b.Bytes()
}
