package audit

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startMonitor watches dir and collects its records; stop ends it and
// returns them. Without the privilege the test is skipped, with the
// reason.
func startMonitor(t testing.TB, dir string, window time.Duration) (stop func() []Record) {
	t.Helper()
	m, err := NewMonitor(dir, MonitorOptions{Window: window, Node: "node1"})
	if errors.Is(err, ErrMonitoringOff) {
		t.Skipf("access monitoring needs root (CAP_SYS_ADMIN): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var recs []Record
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, func(r Record) {
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
		})
	}()
	return func() []Record {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return recs
	}
}

// Opens of a checkpoint by cat, cp and a Go process each give one record
// with the opener's pid, executable and uid; five opens by one process
// within the window are one record with a count of five; the monitoring
// process's own reads give none.
func TestMonitor(t *testing.T) {
	if os.Getenv("CKPT_AUDIT_TEST_OPENER") != "" {
		return
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "checkpoint-web_default-app-2025-01-02T03:04:05Z.tar")
	if err := os.WriteFile(name, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "checkpoint-web.tar.age.json"), []byte("{}"), 0o600)
	stop := startMonitor(t, dir, 300*time.Millisecond)

	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return cmd
	}
	cat := run("cat", name)
	cp := run("cp", name, t.TempDir())
	run("cat", filepath.Join(dir, "checkpoint-web.tar.age.json")) // a sidecar: not reported
	exe, _ := os.Executable()
	gocmd := exec.Command(exe, "-test.run=^TestMonitorOpener$")
	gocmd.Env = append(os.Environ(), "CKPT_AUDIT_TEST_OPENER="+name)
	if out, err := gocmd.CombinedOutput(); err != nil {
		t.Fatalf("opener: %v\n%s", err, out)
	}
	// This process's own reads.
	for range 3 {
		if _, err := os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	recs := stop()

	byPID := map[int]Record{}
	for _, r := range recs {
		if _, dup := byPID[r.Actor.PID]; dup {
			t.Errorf("two records for pid %d", r.Actor.PID)
		}
		byPID[r.Actor.PID] = r
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(recs), recs)
	}
	want := []struct {
		cmd   *exec.Cmd
		exe   string
		count int
	}{{cat, "cat", 1}, {cp, "cp", 1}, {gocmd, filepath.Base(exe), 5}}
	for _, w := range want {
		r, ok := byPID[w.cmd.Process.Pid]
		if !ok {
			t.Fatalf("no record for %s (pid %d): %+v", w.exe, w.cmd.Process.Pid, recs)
		}
		if filepath.Base(r.Actor.Exe) != w.exe || r.Actor.UID != os.Getuid() || r.Actor.GID != os.Getgid() || r.Count != w.count {
			t.Errorf("%s: record %+v", w.exe, r)
		}
		if r.Action != ActionAccess || r.File != name || len(r.Actor.Cmdline) == 0 || r.Actor.Cmdline[0] != w.cmd.Args[0] {
			t.Errorf("%s: record %+v", w.exe, r)
		}
	}
}

// TestMonitorOpener is the Go process of TestMonitor: it opens the file
// five times.
func TestMonitorOpener(t *testing.T) {
	name := os.Getenv("CKPT_AUDIT_TEST_OPENER")
	if name == "" {
		t.Skip("run by TestMonitor")
	}
	for range 5 {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkMonitorCat1GiB reads a 1 GiB checkpoint (from the page cache)
// with cat, with and without access monitoring on its directory.
func BenchmarkMonitorCat1GiB(b *testing.B) {
	dir := b.TempDir()
	name := filepath.Join(dir, "checkpoint-big.tar")
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 8<<20)
	for range 128 {
		f.Write(chunk)
	}
	f.Close()
	exec.Command("cat", name).Run() // warm the cache
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	cat := func(b *testing.B) {
		b.SetBytes(1 << 30)
		for b.Loop() {
			cmd := exec.Command("cat", name)
			cmd.Stdout = null
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("off", cat)
	b.Run("on", func(b *testing.B) {
		stop := startMonitor(b, dir, time.Second)
		cat(b)
		if n := len(stop()); n == 0 {
			b.Fatal("no access record")
		}
		b.Log(strconv.Itoa(b.N) + " cat runs recorded")
	})
}

// BenchmarkMonitorOpen is the cost monitoring adds to one open: the
// kernel's round trip to the monitor (this process's own opens are
// answered, not recorded).
func BenchmarkMonitorOpen(b *testing.B) {
	dir := b.TempDir()
	name := filepath.Join(dir, "checkpoint-small.tar")
	os.WriteFile(name, []byte("x"), 0o600)
	open := func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open(name)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
	b.Run("off", open)
	b.Run("on", func(b *testing.B) {
		stop := startMonitor(b, dir, time.Second)
		open(b)
		stop()
	})
}

// Without CAP_SYS_ADMIN, NewMonitor says monitoring is off. As root the
// test runs itself again without the capability (setpriv drops it from
// the bounding set, so the new program never has it).
func TestMonitorOff(t *testing.T) {
	if os.Getenv("CKPT_AUDIT_TEST_NOCAP") == "" && os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("setpriv (util-linux) is needed to drop CAP_SYS_ADMIN")
		}
		exe, _ := os.Executable()
		cmd := exec.Command(setpriv, "--bounding-set", "-sys_admin", exe, "-test.run=^TestMonitorOff$", "-test.v")
		cmd.Env = append(os.Environ(), "CKPT_AUDIT_TEST_NOCAP=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestMonitorOff") {
			t.Fatalf("without CAP_SYS_ADMIN: %v\n%s", err, out)
		}
		return
	}
	_, err := NewMonitor(t.TempDir(), MonitorOptions{})
	if !errors.Is(err, ErrMonitoringOff) {
		t.Fatalf("got %v, want ErrMonitoringOff", err)
	}
	t.Log(err)
}
