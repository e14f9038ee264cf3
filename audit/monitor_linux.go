package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrMonitoringOff is returned by NewMonitor when the kernel refuses
// fanotify: it needs CAP_SYS_ADMIN (and a kernel with permission events).
// Everything else works without it.
var ErrMonitoringOff = errors.New("access monitoring is off: fanotify needs CAP_SYS_ADMIN")

// MonitorOptions configure a Monitor.
type MonitorOptions struct {
	// Window coalesces repeated opens of one file by one process: they
	// become one record with a count, emitted when the window after the
	// first open ends (default 2s).
	Window time.Duration
	// Match says which file names in the directory are reported (default
	// IsCheckpointFile).
	Match func(name string) bool
	// Ignore says which processes are not reported besides this one, e.g.
	// the agent's helpers.
	Ignore func(pid int) bool
	// Node fills in Record.Node.
	Node string
}

// IsCheckpointFile reports whether a file name is a checkpoint archive or
// a sealed one, not a sidecar or a temporary file.
func IsCheckpointFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	for _, s := range []string{".sha256", ".json", ".sig"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return strings.HasSuffix(name, ".age") || strings.Contains(name, ".tar")
}

// Monitor reports every open of a checkpoint file in one directory by any
// process but this one. It uses fanotify permission events: the opener
// waits, for the time it takes to read its pid's /proc entries, before its
// open proceeds. That is what makes the record exact (a short-lived cat is
// gone by the time an asynchronous event is read), and it costs one round
// trip per open, never per read. Access is always allowed: the monitor
// watches, it does not enforce.
type Monitor struct {
	fd   int
	dir  string
	opts MonitorOptions
	self int
	once sync.Once
}

// Close releases a monitor that will not Run (Run closes it itself).
func (m *Monitor) Close() error {
	var err error
	m.once.Do(func() { err = unix.Close(m.fd) })
	return err
}

// NewMonitor starts watching dir (not its subdirectories). It fails with
// ErrMonitoringOff without the privilege. From its return on, opens in dir
// wait for an answer: call Run at once (or Close).
func NewMonitor(dir string, opts MonitorOptions) (*Monitor, error) {
	if opts.Window <= 0 {
		opts.Window = 2 * time.Second
	}
	if opts.Match == nil {
		opts.Match = IsCheckpointFile
	}
	if opts.Node == "" {
		opts.Node, _ = os.Hostname()
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return nil, fmt.Errorf("%w (%v)", ErrMonitoringOff, err)
		}
		return nil, fmt.Errorf("fanotify: %w", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM|unix.FAN_EVENT_ON_CHILD, unix.AT_FDCWD, dir); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("%w (%s: %v)", ErrMonitoringOff, dir, err)
		}
		return nil, fmt.Errorf("fanotify: %s: %w", dir, err)
	}
	return &Monitor{fd: fd, dir: dir, opts: opts, self: os.Getpid()}, nil
}

// opened is a coalesced access: the first open's record and a deadline.
type opened struct {
	rec      Record
	deadline time.Time
}

// Run watches until ctx ends, calling emit (from another goroutine than
// the one answering the kernel, so a slow emit never holds up an opener)
// with one access record per process and file per window. It closes the
// monitor when it returns; records still in their window are emitted
// first.
func (m *Monitor) Run(ctx context.Context, emit func(Record)) error {
	defer m.Close()
	out := make(chan Record, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range out {
			emit(r)
		}
	}()
	defer func() { close(out); <-done }()

	pending := map[string]*opened{}
	dropped := 0
	flush := func(all bool) {
		now := time.Now()
		for k, o := range pending {
			if all || now.After(o.deadline) {
				select {
				case out <- o.rec:
				default:
					dropped++
				}
				delete(pending, k)
			}
		}
		if dropped > 0 {
			select {
			case out <- Record{Action: ActionAccess, Result: "dropped", Node: m.opts.Node, Time: now.UTC(), Detail: fmt.Sprintf("%d access records were dropped: the log could not keep up", dropped), Actor: Self()}:
				dropped = 0
			default:
			}
		}
	}
	buf := make([]byte, 64<<10)
	tick := max(m.opts.Window/4, 20*time.Millisecond)
	fds := []unix.PollFd{{Fd: int32(m.fd), Events: unix.POLLIN}}
	for {
		if ctx.Err() != nil {
			flush(true)
			return nil
		}
		n, err := unix.Poll(fds, int(tick/time.Millisecond))
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("fanotify: poll: %w", err)
		}
		if n > 0 {
			if err := m.read(buf, pending); err != nil {
				return err
			}
		}
		flush(false)
	}
}

// read answers and records the queued events.
func (m *Monitor) read(buf []byte, pending map[string]*opened) error {
	n, err := unix.Read(m.fd, buf)
	if err == unix.EAGAIN || err == unix.EINTR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fanotify: read: %w", err)
	}
	const metaSize = int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))
	for off := 0; off+metaSize <= n; {
		var ev unix.FanotifyEventMetadata
		if _, err := binary.Decode(buf[off:off+metaSize], binary.NativeEndian, &ev); err != nil {
			return err
		}
		if ev.Event_len < uint32(metaSize) || ev.Vers != unix.FANOTIFY_METADATA_VERSION {
			return fmt.Errorf("fanotify: unexpected event (version %d, length %d)", ev.Vers, ev.Event_len)
		}
		off += int(ev.Event_len)
		if ev.Fd < 0 {
			continue // queue overflow: nothing to answer
		}
		m.handle(ev, pending)
	}
	return nil
}

// handle reads what the event says about the opener, allows the open,
// and adds it to the pending records.
func (m *Monitor) handle(ev unix.FanotifyEventMetadata, pending map[string]*opened) {
	pid := int(ev.Pid)
	now := time.Now()
	var actor Actor
	var path string
	report := pid != m.self && (m.opts.Ignore == nil || !m.opts.Ignore(pid))
	if report {
		path, _ = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(ev.Fd)))
		report = m.opts.Match(filepath.Base(path))
	}
	if report {
		actor = processActor(pid)
	}
	resp := unix.FanotifyResponse{Fd: ev.Fd, Response: unix.FAN_ALLOW}
	b, _ := binary.Append(nil, binary.NativeEndian, resp)
	unix.Write(m.fd, b)
	unix.Close(int(ev.Fd))
	if !report {
		return
	}
	key := strconv.Itoa(pid) + "\x00" + path
	if o, ok := pending[key]; ok {
		o.rec.Count++
		return
	}
	pending[key] = &opened{
		rec: Record{
			Time: now.UTC(), Node: m.opts.Node, Action: ActionAccess, Result: "opened", File: path,
			Archive: &Archive{Name: filepath.Base(path)}, Count: 1, Actor: actor,
		},
		deadline: now.Add(m.opts.Window),
	}
}

// processActor reads a process's identity from /proc while it waits for
// its open to be answered.
func processActor(pid int) Actor {
	p := "/proc/" + strconv.Itoa(pid)
	a := Actor{PID: pid, UID: -1, GID: -1}
	a.Exe, _ = os.Readlink(p + "/exe")
	if data, err := os.ReadFile(p + "/cmdline"); err == nil {
		for arg := range bytes.SplitSeq(bytes.TrimSuffix(data, []byte{0}), []byte{0}) {
			a.Cmdline = append(a.Cmdline, string(arg))
		}
	}
	if data, err := os.ReadFile(p + "/status"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			// The real IDs: who the process runs for.
			switch k {
			case "Uid":
				a.UID, _ = strconv.Atoi(f[0])
			case "Gid":
				a.GID, _ = strconv.Atoi(f[0])
			}
		}
	}
	a.ContainerID, a.PodUID = cgroupOf(pid)
	return a
}
