package agent

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// copyIn copies src into dir under a hidden name, then renames it to name:
// the archive arrives whole at the instant returned, as after the
// kubelet's close.
func copyIn(b *testing.B, src, dir, name string) time.Time {
	b.Helper()
	in, err := os.Open(src)
	must(b, err)
	defer in.Close()
	tmp := filepath.Join(dir, ".copy-"+name)
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	must(b, err)
	_, err = io.Copy(out, in)
	must(b, err)
	must(b, out.Sync())
	must(b, out.Close())
	must(b, os.Rename(tmp, filepath.Join(dir, name)))
	return time.Now()
}

// Plaintext dwell time of a 1 GiB archive: from its arrival to its shred,
// with the agent running (settle 250ms), against `ckpt seal --shred-source`
// on the same file (from its start to its exit).
//
//	go test -run '^$' -bench Dwell1GiB -benchtime 3x ./agent/
func BenchmarkDwell1GiB(b *testing.B) {
	size := benchutil.Size(b, "CKPT_BENCH_SIZE", 1<<30)
	src := benchutil.Archive(b, fmt.Sprintf("agent-dwell-%d.tar", size), testgen.Spec{PageBytes: size}, testgen.None)
	e := newEnvAt(b, b.TempDir(), filepath.Join(benchutil.Dir(b), "agent-dwell"), "")
	defer os.RemoveAll(e.dir)
	e.writeConfigSettle("250ms")
	name := kubeletName("bench", "big-0", "app", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	path := filepath.Join(e.dir, name)
	var seal, agent time.Duration
	n := 0
	p := e.start()
	defer p.stop(b)
	for b.Loop() {
		// ckpt seal --shred-source.
		copyIn(b, src, e.dir, name)
		start := time.Now()
		// The agent must not take this one: seal it under another name.
		cmd := exec.Command(ckptBin, "seal", path+".manual", "-R", e.recipients, "--shred-source", "-o", filepath.Join(e.root, "manual.age"), "--force")
		must(b, os.Rename(path, path+".manual"))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ckpt seal: %v\n%s", err, out)
		}
		seal += time.Since(start)
		os.Remove(filepath.Join(e.root, "manual.age"))
		for _, s := range []string{".sha256", ".json"} {
			os.Remove(filepath.Join(e.root, "manual.age"+s))
		}

		// The agent.
		arrived := copyIn(b, src, e.dir, name)
		for exists(path) {
			time.Sleep(5 * time.Millisecond)
		}
		agent += time.Since(arrived)
		for _, f := range listDir(b, e.dir) {
			os.Remove(filepath.Join(e.dir, f))
		}
		n++
	}
	b.ReportMetric(agent.Seconds()/float64(n), "agent-dwell-s")
	b.ReportMetric(seal.Seconds()/float64(n), "seal-shred-s")
	b.ReportMetric(agent.Seconds()/seal.Seconds(), "ratio")
	b.ReportMetric(0, "ns/op")
}

// 200 small archives arriving at once: the time until every one is
// sealed and shredded by the running agent, against one
// `ckpt seal --shred-source` call over the same 200 files.
//
//	go test -run '^$' -bench Burst200 -benchtime 3x ./agent/
func BenchmarkBurst200(b *testing.B) {
	const count = 200
	srcDir := filepath.Join(benchutil.Dir(b), "agent-burst")
	must(b, os.MkdirAll(srcDir, 0o700))
	var names []string
	for i := range count {
		name := kubeletName("burst", fmt.Sprintf("job-%d", i), "main", time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC))
		names = append(names, name)
		if !exists(filepath.Join(srcDir, name)) {
			_, err := testgen.WriteFile(filepath.Join(srcDir, name), testgen.Spec{Seed: int64(i), PageBytes: 1 << 20}, testgen.None, false)
			must(b, err)
		}
	}
	var bytes int64
	for _, n := range names {
		st, _ := os.Stat(filepath.Join(srcDir, n))
		bytes += st.Size()
	}
	e := newEnv(b, "")
	e.writeConfigSettle("250ms")
	manual := filepath.Join(e.root, "manual")
	var seal, agent time.Duration
	runs := 0
	for b.Loop() {
		must(b, os.MkdirAll(manual, 0o700))
		var args []string
		for _, n := range names {
			copyFile(b, filepath.Join(srcDir, n), filepath.Join(manual, n))
			args = append(args, filepath.Join(manual, n))
		}
		start := time.Now()
		cmd := exec.Command(ckptBin, append([]string{"seal", "-R", e.recipients, "--shred-source"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ckpt seal: %v\n%s", err, out)
		}
		seal += time.Since(start)
		os.RemoveAll(manual)

		// Stage the copies beside the directory, then rename them all in.
		stage := filepath.Join(e.root, "stage")
		must(b, os.MkdirAll(stage, 0o700))
		for _, n := range names {
			copyFile(b, filepath.Join(srcDir, n), filepath.Join(stage, n))
		}
		p := e.start()
		waitFor(b, 10*time.Second, "agent up", func() bool { return strings.Contains(p.log(), `"msg":"watching"`) })
		start = time.Now()
		for _, n := range names {
			must(b, os.Rename(filepath.Join(stage, n), filepath.Join(e.dir, n)))
		}
		waitFor(b, 10*time.Minute, "all sealed and shredded", func() bool {
			for _, n := range names {
				if exists(filepath.Join(e.dir, n)) {
					return false
				}
			}
			return true
		})
		agent += time.Since(start)
		p.stop(b)
		for _, f := range listDir(b, e.dir) {
			os.Remove(filepath.Join(e.dir, f))
		}
		runs++
	}
	b.ReportMetric(float64(bytes)*float64(runs)/agent.Seconds()/1e6, "agent-MB/s")
	b.ReportMetric(float64(bytes)*float64(runs)/seal.Seconds()/1e6, "seal-MB/s")
	b.ReportMetric(seal.Seconds()/agent.Seconds(), "throughput-ratio")
	b.ReportMetric(0, "ns/op")
}

func copyFile(b *testing.B, src, dst string) {
	data, err := os.ReadFile(src)
	must(b, err)
	must(b, os.WriteFile(dst, data, 0o600))
}

// An idle agent over a directory with 10,000 sealed sets: CPU time used
// in a 30 s window with a rescan every 5 s (retention on), and peak RSS.
//
//	go test -run '^$' -bench Idle10k -benchtime 1x ./agent/
func BenchmarkIdle10k(b *testing.B) {
	const sets = 10000
	e := newEnv(b, "retention:\n  global: {max_age: 3650d}\n")
	e.replaceConfig("rescan: 2s", "rescan: 5s")
	// Seal one archive for real, then give its set 10,000 names.
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, _ := e.writeSettled("idle", "p", "c", at, 1, 16<<10)
	if code, log := e.once(); code != 0 {
		b.Fatalf("--once: %d\n%s", code, log)
	}
	src := setFiles(e.dir, first)
	for i := 1; i < sets; i++ {
		dst := setFiles(e.dir, kubeletName("idle", fmt.Sprintf("p-%d", i%100), "c", at.Add(time.Duration(i)*time.Second)))
		for _, pair := range [][2]string{{src.Sealed, dst.Sealed}, {src.Checksum, dst.Checksum}, {src.Manifest, dst.Manifest}, {src.Signature, dst.Signature}} {
			must(b, os.Link(pair[0], pair[1]))
		}
	}
	for b.Loop() {
		p := e.start()
		waitFor(b, 30*time.Second, "agent up", func() bool { return strings.Contains(p.log(), `"msg":"watching"`) })
		time.Sleep(10 * time.Second) // the start-up scan and inventory
		pid := p.cmd.Process.Pid
		cpu0 := procCPU(b, pid)
		time.Sleep(30 * time.Second)
		cpu := procCPU(b, pid) - cpu0
		rss := procStatus(b, pid, "VmHWM:")
		p.stop(b)
		b.ReportMetric(cpu.Seconds()/30*100, "idle-cpu-%")
		b.ReportMetric(float64(rss)/1024, "peak-RSS-MiB")
	}
	b.ReportMetric(0, "ns/op")
}

// procCPU is a process's user+system time from /proc/PID/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	must(b, err)
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// procStatus reads a kB field of /proc/PID/status.
func procStatus(b *testing.B, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(b, err)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	return 0
}
