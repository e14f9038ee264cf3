package audit

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAppend appends durable records (fdatasync of the log and the
// hash file before Append returns) from 1, 64 and 256 goroutines; with
// many, concurrent appends share commits. Reported as records/s.
func BenchmarkAppend(b *testing.B) {
	s, _ := testKey(b, "node1/ckpt-audit")
	for _, workers := range []int{1, 64, 256} {
		b.Run(map[int]string{1: "serial", 64: "parallel64", 256: "parallel256"}[workers], func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "audit.log"), Options{Signer: s, Node: "node1"})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			rec := sampleRecord(1)
			rec.Actor = Self()
			start := time.Now()
			var wg sync.WaitGroup
			next := make(chan struct{})
			for range workers {
				wg.Go(func() {
					for range next {
						if err := l.Append(context.Background(), rec); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			for b.Loop() {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
		})
	}
}

// BenchmarkVerify1M verifies a log of one million records (about 900
// bytes each, like the CLI's) with signed checkpoints every 1000. Run it
// with -cpu 1 for the one-core figure.
func BenchmarkVerify1M(b *testing.B) {
	s, v := testKey(b, "node1/ckpt-audit")
	path := filepath.Join(b.TempDir(), "audit.log")
	l, err := Open(path, Options{Signer: s, Node: "node1", CheckpointEvery: 1000})
	if err != nil {
		b.Fatal(err)
	}
	total, batch := benchRecords(), 1000
	recs := make([]Record, batch)
	self := Self()
	for i := 0; i < total; i += batch {
		for j := range recs {
			recs[j] = sampleRecord(i + j)
			recs[j].Actor = self
		}
		if err := l.Append(context.Background(), recs...); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	// CPU time is reported beside wall time: on a shared machine the wall
	// time says more about the neighbours.
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for b.Loop() {
		rep, err := Verify(path, VerifyOptions{Verifier: v})
		if err != nil || rep.Records != int64(total) {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// benchRecords is the size of BenchmarkVerify1M's log: one million, or
// CKPT_AUDIT_BENCH_RECORDS.
func benchRecords() int {
	if n, err := strconv.Atoi(os.Getenv("CKPT_AUDIT_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}
