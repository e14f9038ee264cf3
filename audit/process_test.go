package audit

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests below run writers as separate processes: this test binary,
// re-executed with CKPT_AUDIT_TEST_WRITER set, appends records to the log
// named by CKPT_AUDIT_TEST_LOG and prints "ack ID" once each is durable.
func TestMain(m *testing.M) {
	if os.Getenv("CKPT_AUDIT_TEST_WRITER") != "" {
		os.Exit(writerMain())
	}
	os.Exit(m.Run())
}

func writerMain() int {
	id := os.Getenv("CKPT_AUDIT_TEST_WRITER")
	count, _ := strconv.Atoi(os.Getenv("CKPT_AUDIT_TEST_COUNT"))
	workers, _ := strconv.Atoi(os.Getenv("CKPT_AUDIT_TEST_WORKERS"))
	key := os.Getenv("CKPT_AUDIT_TEST_KEY")
	opts := Options{Node: "node1", CheckpointEvery: 100, Warn: func(msg string) { fmt.Fprintln(os.Stderr, "warn:", msg) }}
	if key != "" {
		s, err := LoadSigner(key)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		opts.Signer = s
	}
	l, err := Open(os.Getenv("CKPT_AUDIT_TEST_LOG"), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		for i := 0; count <= 0 || i < count; i++ {
			next <- i
		}
		close(next)
	}()
	failed := false
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				r := sampleRecord(i)
				r.Detail = fmt.Sprintf("%s-%d", id, i)
				if err := l.Append(context.Background(), r); err != nil {
					fmt.Fprintln(os.Stderr, err)
					mu.Lock()
					failed = true
					mu.Unlock()
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s\n", r.Detail)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil || failed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func writerCmd(t *testing.T, log, key, id string, count, workers int) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"CKPT_AUDIT_TEST_WRITER="+id, "CKPT_AUDIT_TEST_LOG="+log, "CKPT_AUDIT_TEST_KEY="+key,
		"CKPT_AUDIT_TEST_COUNT="+strconv.Itoa(count), "CKPT_AUDIT_TEST_WORKERS="+strconv.Itoa(workers))
	return cmd
}

func keyFiles(t *testing.T, dir string) (string, string) {
	skey, vkey, err := GenerateKey("node1/ckpt-audit")
	if err != nil {
		t.Fatal(err)
	}
	k, p := filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.key.pub")
	os.WriteFile(k, []byte(skey+"\n"), 0o600)
	os.WriteFile(p, []byte(vkey+"\n"), 0o600)
	return k, p
}

// details returns the Detail of every record in the log, and checks the
// records are numbered 0..n-1.
func details(t *testing.T, log string) map[string]int {
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	var n int64
	if _, err := ReadRecords(f, func(r Record) error {
		if r.Seq != n {
			return fmt.Errorf("record %d has seq %d", n, r.Seq)
		}
		n++
		seen[r.Detail]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return seen
}

// Eight processes append 1,000 records each to one log at once: all 8,000
// are there once, whole, numbered in order, and the log verifies.
func TestConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	key, pub := keyFiles(t, dir)
	const procs, each = 8, 1000
	var cmds []*exec.Cmd
	for p := range procs {
		// Four goroutines per process, so commits are batched within a
		// process as well as interleaved between processes.
		cmd := writerCmd(t, log, key, "w"+strconv.Itoa(p), each, 4)
		cmd.Stdout, cmd.Stderr = nil, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	seen := details(t, log)
	if len(seen) != procs*each {
		t.Fatalf("%d distinct records, want %d", len(seen), procs*each)
	}
	for p := range procs {
		for i := range each {
			if id := fmt.Sprintf("w%d-%d", p, i); seen[id] != 1 {
				t.Fatalf("record %s appears %d times", id, seen[id])
			}
		}
	}
	v, err := LoadVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(log, VerifyOptions{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != procs*each || rep.Uncovered != 0 || rep.Checkpoints < procs {
		t.Fatalf("report %+v", rep)
	}
}

// Writers killed with SIGKILL at random moments, 120 times (two at once
// every other round): after the next append the log verifies, and every
// record a writer acknowledged is in it.
func TestKillWriters(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	key, pub := keyFiles(t, dir)
	v, err := LoadVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	rounds := 120
	if testing.Short() {
		rounds = 20
	}
	acked := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	kills := 0
	repairs := map[string]int{} // by the warning's first word after the path
	for round := range rounds {
		n := 1 + round%2
		type proc struct {
			cmd  *exec.Cmd
			acks chan []string
		}
		var ps []proc
		for w := range n {
			cmd := writerCmd(t, log, key, fmt.Sprintf("r%d.%d", round, w), 0, 1+rng.IntN(4))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acks := make(chan []string, 1)
			go func() {
				var got []string
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
						got = append(got, id)
					}
				}
				acks <- got
			}()
			ps = append(ps, proc{cmd, acks})
		}
		// Random moments: process start-up, the first append, or deep in
		// a run of appends.
		time.Sleep(time.Duration(rng.IntN(40_000)) * time.Microsecond)
		for _, p := range ps {
			p.cmd.Process.Signal(syscall.SIGKILL)
		}
		for _, p := range ps {
			for _, id := range <-p.acks {
				acked[id] = true
			}
			p.cmd.Wait()
			kills++
		}
		// The next append repairs whatever the killed writers left.
		l, err := Open(log, Options{Signer: s, Node: "node1", Warn: func(msg string) {
			repairs[strings.Fields(msg)[1]]++
		}})
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("after-%d", round)
		r := sampleRecord(round)
		r.Detail = id
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatalf("round %d: append after kill: %v", round, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		acked[id] = true
		rep, err := Verify(log, VerifyOptions{Verifier: v})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if rep.TornBytes != 0 || rep.HashesBehind != 0 || rep.Uncovered != 0 {
			t.Fatalf("round %d: not repaired: %+v", round, rep)
		}
	}
	seen := details(t, log)
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged record %s appears %d times", id, seen[id])
		}
	}
	t.Logf("%d writers killed, %d records acknowledged, %d in the log; repairs: %v", kills, len(acked), len(seen), repairs)
}
