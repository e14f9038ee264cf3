package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// TestMemberOrderProperty: the answer never depends on how the archive is
// packed. For generated archives of each engine, every command gives the
// same JSON (less the archive's name and layers) whether the tar is plain,
// gzip or zstd, its members in the runtime's order, reversed or shuffled,
// read from a file or from a pipe.
func TestMemberOrderProperty(t *testing.T) {
	specs := []testgen.Spec{
		{Engine: testgen.EngineCRIO, Seed: 21, Processes: 4, Zombies: 1, ThreadsPerProcess: 2, PageBytes: 1 << 20, MaxRunPages: 8,
			Env: []string{"PATH=/bin", "DB_PASSWORD=s3cr3t-order-test"}, Pipes: []testgen.Pipe{{Data: []byte("pipe data")}},
			TCP:     []testgen.TCPConn{{Port: 8080, ToServer: []byte("GET /"), ToClient: []byte("200 OK")}},
			Markers: []testgen.Marker{{Data: []byte("ORDER-MARKER"), Process: 1, Straddle: testgen.StraddlePage}}},
		{Engine: testgen.EnginePodman, Seed: 22, Processes: 3, Zombies: 1, PageBytes: 512 << 10, ParentEntries: 2,
			Markers: []testgen.Marker{{Data: []byte("ORDER-MARKER"), Process: 0, Region: testgen.RegionAnon}}},
		{Engine: testgen.EngineContainerd, Seed: 23, Processes: 3, Zombies: 1, PageBytes: 512 << 10, Logs: []byte("log line\n"),
			Markers: []testgen.Marker{{Data: []byte("ORDER-MARKER"), Process: 1, Straddle: testgen.StraddleEntry}}},
	}
	commands := [][]string{
		{"inspect", "--all", "-o", "json", "{}"},
		{"mem", "maps", "-o", "json", "{}"},
		{"mem", "search", "{}", "ORDER-MARKER", "-o", "json"},
		{"scan", "-o", "json", "{}"},
		{"images", "-o", "json", "{}"},
	}
	mustHold := map[string][]string{
		"inspect --all": {`"cmdline":["/`, `"state":"zombie"`, `"warnings":[]`},
		"mem search":    {`"match":"ORDER-MARKER"`},
		"mem maps":      {`"present_bytes":4096`},
		"images -o":     {`"pagemap-`},
		"scan -o":       {`"memory"`},
	}
	for _, spec := range specs {
		t.Run(spec.Engine, func(t *testing.T) {
			dir := t.TempDir()
			var ref string
			want := map[string]string{}
			for _, order := range []testgen.Order{testgen.OrderRuntime, testgen.OrderReverse, testgen.OrderShuffled} {
				for _, c := range []testgen.Compression{testgen.None, testgen.Gzip, testgen.Zstd} {
					s := spec
					s.Order = order
					sub := filepath.Join(dir, fmt.Sprintf("%s-%s", order, c))
					if err := os.Mkdir(sub, 0o700); err != nil {
						t.Fatal(err)
					}
					path := filepath.Join(sub, "checkpoint"+c.Ext())
					if _, err := testgen.WriteFile(path, s, c, false); err != nil {
						t.Fatal(err)
					}
					if ref == "" {
						ref = path
					}
					sources := []string{path}
					if c == testgen.Zstd && order != testgen.OrderRuntime {
						sources = append(sources, "-") // a pipe: pages held in memory
					}
					for _, src := range sources {
						for _, args := range commands {
							argv := make([]string, len(args))
							for i, a := range args {
								argv[i] = strings.ReplaceAll(a, "{}", src)
							}
							got := runJSON(t, path, src, argv)
							key := strings.Join(args, " ")
							if w, ok := want[key]; !ok {
								// The reference holds what order can lose.
								for _, must := range mustHold[args[0]+" "+args[1]] {
									if !strings.Contains(got, must) {
										t.Errorf("%s: the runtime order's output lacks %s: %.2000s", key, must, got)
									}
								}
								want[key] = got
							} else if got != w {
								t.Errorf("%s %s (%s): differs from the runtime order's plain tar:\n%s", key, src, filepath.Base(sub), firstDiff(w, got))
							}
						}
					}
					out := runJSON(t, path, path, []string{"diff", "-o", "json", ref, path})
					if !strings.Contains(out, `"different":false`) {
						t.Errorf("diff against the runtime order's plain tar (%s): %s", filepath.Base(sub), out)
					}
				}
			}
		})
	}
}

// runJSON runs ckpt in process (stdin from path when src is "-") and
// returns its JSON with the archive's names, layers and size taken out.
func runJSON(t *testing.T, path, src string, args []string) string {
	t.Helper()
	var stdin io.Reader = bytes.NewReader(nil)
	if src == "-" {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stdin = f
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &app{stdin: stdin, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}); code != 0 {
		t.Fatalf("ckpt %q: exit %d: %s", args, code, stderr.String())
	}
	var v any
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("ckpt %q: %v", args, err)
	}
	b, err := json.Marshal(normalize(v, path, src))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// normalize drops what names the file rather than its content: its path,
// its layers and size, whether it was read at random.
func normalize(v any, path, src string) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range []string{"layers", "random_access"} {
			delete(x, k)
		}
		if a, ok := x["archive"].(map[string]any); ok {
			delete(a, "size")
		}
		for k, e := range x {
			x[k] = normalize(e, path, src)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e, path, src)
		}
	case string:
		if src == "-" && x == "-" {
			return "ARCHIVE"
		}
		return strings.ReplaceAll(x, path, "ARCHIVE")
	}
	return v
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return fmt.Sprintf("want …%s…\n got …%s…", a[lo:min(len(a), i+200)], b[lo:min(len(b), i+200)])
}

// TestPeerPackings: checkpointctl's diff-sk dumps give the same JSON as
// the plain tar (random access) whether zstd-compressed in the original
// order or gzip-compressed by GNU tar (pages before their pagemaps), read
// from the file (a second pass) or from a pipe (pages held in memory).
func TestPeerPackings(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b"} {
		zst := filepath.Join("..", "..", "testdata", "peer", "diff-sk", name+".tar.zst")
		gz := filepath.Join("..", "..", "testdata", "peer", "diff-sk", name+".tar.gz")
		plain := filepath.Join(dir, name+".tar")
		in, err := os.Open(zst)
		if err != nil {
			t.Fatal(err)
		}
		d, err := zstd.NewReader(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(d)
		d.Close()
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(plain, b, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"inspect", "--all", "-o", "json", "{}"},
			{"mem", "maps", "-o", "json", "{}"},
			{"mem", "search", "-o", "json", "{}", "--", "--tcp-socket"},
			{"scan", "-o", "json", "{}"},
		} {
			var want string
			for _, src := range [][2]string{{plain, plain}, {zst, zst}, {gz, gz}, {gz, "-"}} {
				argv := make([]string, len(args))
				for i, a := range args {
					argv[i] = strings.ReplaceAll(a, "{}", src[1])
				}
				got := runJSON(t, src[0], src[1], argv)
				if want == "" {
					want = got
				} else if got != want {
					t.Errorf("%s %q: differs from the plain tar:\n%s", name, argv, firstDiff(want, got))
				}
			}
		}
	}
}
