package agent

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	ioprioClassBE   = 2
	ioprioClassIdle = 3
	ioprioWhoProc   = 1
	ioprioClassBits = 13
)

// setIOPriority lowers the I/O priority of every thread of this process,
// so that sealing yields the disk to the node's workloads. Threads started
// later inherit it from the thread that starts them. "idle" only gets the
// disk when nobody else wants it; "best-effort" is the lowest best-effort
// level.
func setIOPriority(class string) error {
	var prio int
	switch class {
	case "normal":
		return nil
	case "idle":
		prio = ioprioClassIdle << ioprioClassBits
	default:
		prio = ioprioClassBE<<ioprioClassBits | 7
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProc, uintptr(tid), uintptr(prio)); e != 0 {
			return fmt.Errorf("ioprio_set: %w", e)
		}
	}
	return nil
}
