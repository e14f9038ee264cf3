package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches the directory until ctx is done: a full scan at start, then
// inotify events and a periodic rescan for whatever events were missed.
// It returns an error only when it cannot start; failures on archives are
// logged, counted and retried.
func (a *Agent) Run(ctx context.Context) error {
	if err := setIOPriority(a.cfg.IOPriority); err != nil {
		a.log.Warn("cannot lower the I/O priority", "error", err.Error())
	}
	a.cleanTemp()
	a.health.limit = 3*time.Duration(a.cfg.Rescan) + 30*time.Second
	a.health.beat.Store(time.Now().UnixNano())
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(a.cfg.Dir); err != nil {
		return fmt.Errorf("watch %s: %w", a.cfg.Dir, err)
	}
	if a.cfg.MetricsAddr != "" {
		srv, err := startServer(a.cfg.MetricsAddr, a.m, &a.health, a.PublicKey)
		if err != nil {
			return fmt.Errorf("metrics_addr: %w", err)
		}
		defer srv.shutdown()
		a.log.Info("serving metrics", "addr", srv.Addr())
	}
	if a.audit != nil {
		a.monitor(ctx, a.audit)
	}
	a.log.Info("watching", "dir", a.cfg.Dir, "output_dir", a.outDir, "node", a.node, "workers", a.cfg.Workers)

	s := newSchedule()
	a.sched.Store(s)
	retain := make(chan struct{}, 1)
	kick := func() {
		select {
		case retain <- struct{}{}:
		default:
		}
	}
	var wg sync.WaitGroup
	for range a.cfg.Workers {
		wg.Go(func() {
			for {
				name, ok := s.next(ctx)
				if !ok {
					return
				}
				out, wait := a.process(ctx, name)
				s.finish(name, out, wait)
				if out == done {
					kick()
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-retain:
				a.uploadAll(ctx, s)
				a.retain(ctx, s)
			}
		}
	})

	scan := func() {
		names, err := a.candidates()
		if err != nil {
			a.fail("scan", "scan", err, "dir", a.cfg.Dir)
			return
		}
		now := time.Now()
		for _, n := range names {
			s.ensure(n, now)
		}
		kick()
	}
	scan()
	a.health.ready.Store(true)
	tick := time.NewTicker(time.Duration(a.cfg.Rescan))
	defer tick.Stop()
	beat := time.NewTicker(10 * time.Second)
	defer beat.Stop()
	settle := time.Duration(a.cfg.Settle)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			a.log.Info("stopped")
			return nil
		case <-beat.C:
			a.health.beat.Store(time.Now().UnixNano())
		case <-tick.C:
			a.health.beat.Store(time.Now().UnixNano())
			scan()
		case err, ok := <-w.Errors:
			if ok {
				// An overflow loses events: the rescan finds what they were.
				a.fail("scan", "watch", err)
				scan()
			}
		case ev, ok := <-w.Events:
			if !ok {
				continue
			}
			name := filepath.Base(ev.Name)
			switch {
			case isArchiveName(name) && ev.Has(fsnotify.Create|fsnotify.Write|fsnotify.Chmod):
				s.touch(name, time.Now().Add(settle))
			case strings.HasSuffix(name, PinSuffix) && ev.Has(fsnotify.Remove|fsnotify.Rename):
				// Unpinned: the plaintext may go now.
				if arch := strings.TrimSuffix(name, PinSuffix); isArchiveName(arch) {
					s.ensure(arch, time.Now())
				}
			}
		}
	}
}

// Summary counts what Once did.
type Summary struct {
	Archives   int `json:"archives"`
	Done       int `json:"done"`
	Incomplete int `json:"incomplete"`
	InGrace    int `json:"in_grace"`
	Failed     int `json:"failed"`
	Pruned     int `json:"pruned"`
	// Uploaded and UploadFailed count sealed sets sent to the upload
	// destination, and those that stay local for the next run.
	Uploaded     int `json:"uploaded"`
	UploadFailed int `json:"upload_failed"`
}

// Once processes what is in the directory now and applies retention,
// then returns. An archive modified within the settle time is waited for;
// one still incomplete after that is reported and left.
func (a *Agent) Once(ctx context.Context) (Summary, error) {
	var sum Summary
	if err := setIOPriority(a.cfg.IOPriority); err != nil {
		a.log.Warn("cannot lower the I/O priority", "error", err.Error())
	}
	a.cleanTemp()
	names, err := a.candidates()
	if err != nil {
		return sum, err
	}
	sum.Archives = len(names)
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range a.cfg.Workers {
		wg.Go(func() {
			for name := range work {
				out := a.processOnce(ctx, name)
				mu.Lock()
				switch out {
				case done:
					sum.Done++
				case notYet:
					sum.Incomplete++
				case inGrace:
					sum.InGrace++
				default:
					sum.Failed++
				}
				mu.Unlock()
			}
		})
	}
	for _, n := range names {
		select {
		case work <- n:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	sum.Uploaded, sum.UploadFailed = a.uploadAll(ctx, nil)
	sum.Pruned = a.retain(ctx, nil)
	return sum, nil
}

// processOnce gives an archive that was just written the settle time to
// finish, then takes the outcome.
func (a *Agent) processOnce(ctx context.Context, name string) outcome {
	deadline := time.Now().Add(2*time.Duration(a.cfg.Settle) + time.Second)
	for {
		out, wait := a.process(ctx, name)
		if out != notYet || time.Now().Add(wait).After(deadline) {
			if out == notYet {
				a.log.Warn("archive is not complete; left untouched", "archive", filepath.Join(a.cfg.Dir, name))
			}
			return out
		}
		select {
		case <-ctx.Done():
			return failed
		case <-time.After(wait):
		}
	}
}

// exists reports whether path exists (without following a link).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
