package agent

import (
	"context"
	"sync"
	"time"
)

// schedule holds the archives waiting for a look, each with the time it
// is due, and those being looked at. A name is never handed to two
// workers at once.
type schedule struct {
	mu    sync.Mutex
	due   map[string]time.Time
	busy  map[string]bool
	again map[string]time.Time // events that came while busy
	fails map[string]int
	wake  chan struct{}
}

func newSchedule() *schedule {
	return &schedule{due: map[string]time.Time{}, busy: map[string]bool{}, again: map[string]time.Time{},
		fails: map[string]int{}, wake: make(chan struct{}, 1)}
}

func (s *schedule) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// touch makes name due at at, replacing an earlier due time: a writer
// still writing pushes the look back.
func (s *schedule) touch(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[name] {
		s.again[name] = at
		return
	}
	s.due[name] = at
	s.poke()
}

// ensure makes name due at at unless it is already due or busy.
func (s *schedule) ensure(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[name] {
		return
	}
	if _, ok := s.due[name]; !ok {
		s.due[name] = at
		s.poke()
	}
}

// claim marks name busy if it is not, for work outside the workers
// (retention); release undoes it.
func (s *schedule) claim(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[name] {
		return false
	}
	s.busy[name] = true
	return true
}

func (s *schedule) release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, name)
	if at, ok := s.again[name]; ok {
		delete(s.again, name)
		s.due[name] = at
		s.poke()
	}
}

// finish records the outcome of a look and schedules the next one.
func (s *schedule) finish(name string, out outcome, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, name)
	now := time.Now()
	next, ok := s.again[name]
	delete(s.again, name)
	switch out {
	case failed:
		s.fails[name]++
		next, ok = now.Add(backoff(s.fails[name]-1)), true
	case notYet, inGrace:
		delete(s.fails, name)
		if t := now.Add(wait); !ok || t.Before(next) {
			next, ok = t, true
		}
	default:
		delete(s.fails, name)
	}
	if ok {
		s.due[name] = next
		s.poke()
	}
}

// length is the number of archives waiting or being worked on.
func (s *schedule) length() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.due) + len(s.busy)
}

// next blocks until an archive is due and returns it, marked busy.
func (s *schedule) next(ctx context.Context) (string, bool) {
	for {
		s.mu.Lock()
		now := time.Now()
		var name string
		var at time.Time
		for n, t := range s.due {
			if name == "" || t.Before(at) || (t.Equal(at) && n < name) {
				name, at = n, t
			}
		}
		if name != "" && !at.After(now) {
			delete(s.due, name)
			s.busy[name] = true
			s.mu.Unlock()
			return name, true
		}
		s.mu.Unlock()
		wait := time.Hour
		if name != "" {
			wait = at.Sub(now)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", false
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}
