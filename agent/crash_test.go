package agent

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash harness: archives stream in (slowly in place, or under a
// temporary name and renamed; some pinned) while the agent is killed with
// SIGKILL at random moments and restarted, at least 100 times. After each
// kill, every archive whose writer has finished must exist as its
// original plaintext or as a sealed set that verifies. At the end every
// archive has exactly one verified sealed set, only pinned plaintext is
// left, and no temporary file.
func TestAgentSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash harness: skipped with -short")
	}
	kills := 100
	e := newEnv(t, "workers: 2\n")
	e.writeConfigSettle("100ms")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))       // kill moments
	writerRng := rand.New(rand.NewPCG(seed, 2)) // write pacing

	const archives = 48
	var mu sync.Mutex
	written := map[string]string{} // finished archives: name -> plaintext sha256
	pinned := map[string]bool{}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	data := make([][]byte, archives)
	for i := range archives {
		data[i] = archiveBytes(t, "crash", fmt.Sprintf("pod-%d", i%5), "app", at.Add(time.Duration(i)*time.Minute), int64(i), int64(32<<10)*int64(1+i%8))
	}
	producerDone := make(chan struct{})
	go func() {
		defer close(producerDone)
		for i := range archives {
			name := kubeletName("crash", fmt.Sprintf("pod-%d", i%5), "app", at.Add(time.Duration(i)*time.Minute))
			path := filepath.Join(e.dir, name)
			if i%9 == 4 {
				os.WriteFile(path+PinSuffix, nil, 0o600)
				mu.Lock()
				pinned[name] = true
				mu.Unlock()
			}
			if i%2 == 0 {
				f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
				if err != nil {
					t.Error(err)
					return
				}
				d := data[i]
				for j := 0; j < len(d); j += len(d)/3 + 1 {
					f.Write(d[j:min(j+len(d)/3+1, len(d))])
					time.Sleep(time.Duration(writerRng.IntN(60)) * time.Millisecond)
				}
				f.Close()
			} else {
				tmp := filepath.Join(e.dir, ".incoming-"+name)
				os.WriteFile(tmp, data[i], 0o600)
				os.Rename(tmp, path)
			}
			mu.Lock()
			written[name] = sum256(data[i])
			mu.Unlock()
			time.Sleep(time.Duration(writerRng.IntN(300)) * time.Millisecond)
		}
	}()

	start := time.Now()
	for k := 0; k < kills || !isClosed(producerDone); k++ {
		p := e.start()
		// Mostly short lives, some long enough to finish a batch.
		life := time.Duration(10+rng.IntN(250)) * time.Millisecond
		if k%10 == 9 {
			life = 800 * time.Millisecond
		}
		time.Sleep(life)
		must(t, p.cmd.Process.Signal(syscall.SIGKILL))
		p.cmd.Wait()
		mu.Lock()
		snapshot := make(map[string]string, len(written))
		for n, s := range written {
			snapshot[n] = s
		}
		mu.Unlock()
		for name, sha := range snapshot {
			path := filepath.Join(e.dir, name)
			if b, err := os.ReadFile(path); err == nil && sum256(b) == sha {
				continue // the original plaintext is there
			}
			if err := verifySet(setFiles(e.dir, name), sha); err != nil {
				t.Fatalf("after kill %d: %s has neither its plaintext nor a verified sealed set: %v\nfiles: %v\nlog:\n%s",
					k+1, name, err, listDir(t, e.dir), p.log())
			}
		}
	}
	t.Logf("%d kills in %v", kills, time.Since(start).Round(time.Millisecond))

	// Restart once more and let it finish.
	code, log := e.once()
	if code != 0 {
		t.Fatalf("final --once exited %d\n%s", code, log)
	}
	names := listDir(t, e.dir)
	if tmp := hasTemp(names); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	known := map[string]bool{}
	for name, sha := range written {
		files := setFiles(e.dir, name)
		if err := verifySet(files, sha); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		known[filepath.Base(files.Sealed)], known[filepath.Base(files.Checksum)] = true, true
		known[filepath.Base(files.Manifest)], known[filepath.Base(files.Signature)] = true, true
		if pinned[name] {
			known[name], known[name+PinSuffix] = true, true
			if b, err := os.ReadFile(filepath.Join(e.dir, name)); err != nil || sum256(b) != sha {
				t.Errorf("pinned %s: plaintext not kept intact (%v)", name, err)
			}
		} else if exists(filepath.Join(e.dir, name)) {
			t.Errorf("%s: plaintext left", name)
		}
	}
	if len(written) != archives {
		t.Fatalf("%d archives written, want %d", len(written), archives)
	}
	// A kill inside a shred, after its overwrite, can leave the
	// overwritten file under its random name: it must not be plaintext.
	for _, n := range names {
		if known[n] {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(e.dir, n))
		for name, sha := range written {
			if sum256(b) == sha {
				t.Errorf("%s is the plaintext of %s", n, name)
			}
		}
		if strings.HasPrefix(n, ".incoming-") || strings.Contains(n, ".tar") {
			t.Errorf("unexpected file left: %s", n)
		} else {
			t.Logf("left by a shred cut short (overwritten, not plaintext): %s (%d bytes)", n, len(b))
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
