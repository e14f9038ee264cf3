package seal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"filippo.io/age"

	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// The 1 GiB benchmarks (make bench-crypto) compare ckpt with age alone on
// the same file (a synthetic checkpoint of about 1 GiB) and filesystem:
// CKPT_BENCH_DIR, or the temporary directory.
// Every variant reads the archive and writes and fsyncs its output, as
// File and Open do.

const (
	benchSize    = 1 << 30
	memBenchSize = 256 << 20
)

// benchData is deterministic, incompressible-looking data.
func benchData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

func mustX25519(tb testing.TB) *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// benchEnv is the 1 GiB archive, a key, the archive sealed to it, and a
// ckpt binary, made once per test process.
type benchEnv struct {
	dir, archive, sealed, keyFile, ckpt string
	size                                int64
	id                                  *age.X25519Identity
	recipient                           keys.Recipient
	err                                 error
}

var (
	benchOnce sync.Once
	bench     benchEnv
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func setupBench(b *testing.B) *benchEnv {
	benchOnce.Do(func() {
		e := &bench
		e.dir, e.err = os.MkdirTemp(os.Getenv("CKPT_BENCH_DIR"), "ckpt-bench-")
		if e.err != nil {
			return
		}
		// A real (synthetic) checkpoint, so that the CLI runs read its
		// identity on the way as they do on a node; about 1 GiB of pages.
		e.archive = filepath.Join(e.dir, "checkpoint-big_default-app-2025-01-02T03:04:05Z.tar")
		if _, e.err = testgen.WriteFile(e.archive, testgen.Spec{PageBytes: benchSize - 4<<20, Fill: testgen.FillRandom}, testgen.None, false); e.err != nil {
			return
		}
		st, err := os.Stat(e.archive)
		if err != nil {
			e.err = err
			return
		}
		e.size = st.Size()
		e.id = mustX25519(b)
		e.recipient, _ = keys.ParseRecipient(e.id.Recipient().String())
		e.keyFile = filepath.Join(e.dir, "key.txt")
		os.WriteFile(e.keyFile, []byte(e.id.String()+"\n"), 0o600)
		e.sealed = e.archive + ".age"
		if _, e.err = File(context.Background(), e.sealed, e.archive, Options{Recipients: []keys.Recipient{e.recipient}}); e.err != nil {
			return
		}
		e.ckpt = filepath.Join(e.dir, "ckpt")
		if out, err := exec.Command("go", "build", "-o", e.ckpt, "github.com/ckpt-dev/ckpt/cmd/ckpt").CombinedOutput(); err != nil {
			e.ckpt = ""
			fmt.Fprintf(os.Stderr, "bench: cannot build ckpt, CLI benchmarks skipped: %v\n%s", err, out)
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return &bench
}

// fresh removes the outputs of the previous run and writes out what it left
// dirty, outside the timer, so that no run pays for the one before (on
// ext4 an fsync also waits for other files' data, and removing a 1 GiB
// file takes time). Inputs stay in the page cache for every variant alike.
func fresh(b *testing.B, outputs ...string) {
	b.StopTimer()
	for _, p := range outputs {
		for _, suffix := range []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix} {
			os.Remove(p + suffix)
		}
	}
	syscall.Sync()
	b.StartTimer()
}

func BenchmarkSeal1GiB(b *testing.B) {
	e := setupBench(b)
	dst := filepath.Join(e.dir, "out.age")
	benchWrites(b, e.size, dst, func() {
		if _, err := File(context.Background(), dst, e.archive, Options{Recipients: []keys.Recipient{e.recipient}}); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkAgeEncrypt1GiB is age alone through its Go API: read, encrypt,
// write, fsync and rename, with no hashing.
func BenchmarkAgeEncrypt1GiB(b *testing.B) {
	e := setupBench(b)
	benchAgeCopy(b, e.archive, filepath.Join(e.dir, "out-age.age"), e.size, func(in *os.File, out io.Writer) (io.Reader, io.WriteCloser, error) {
		w, err := age.Encrypt(out, e.id.Recipient())
		return in, w, err
	})
}

// BenchmarkSealSequentialTools1GiB is what an operator does without ckpt:
// sha256sum A && age -r R -o A.age A && sha256sum A.age.
func BenchmarkSealSequentialTools1GiB(b *testing.B) {
	e := setupBench(b)
	for _, tool := range []string{"age", "sha256sum", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed", tool)
		}
	}
	script := fmt.Sprintf(`sha256sum "$1" >/dev/null && age -r %s -o "$2" "$1" && sha256sum "$2" >/dev/null && sync "$2"`, e.id.Recipient())
	dst := filepath.Join(e.dir, "out-tools.age")
	benchChild(b, e.size, dst, "sh", "-c", script, "sh", e.archive, dst)
}

// BenchmarkSealCLI1GiB runs `ckpt seal` and reports its peak RSS.
func BenchmarkSealCLI1GiB(b *testing.B) {
	e := setupBench(b)
	if e.ckpt == "" {
		b.Skip("no ckpt binary")
	}
	dst := filepath.Join(e.dir, "out-cli.age")
	benchChild(b, e.size, dst, e.ckpt, "seal", e.archive, "-r", e.id.Recipient().String(), "-o", dst)
}

func BenchmarkOpen1GiB(b *testing.B) {
	e := setupBench(b)
	dst := filepath.Join(e.dir, "out.tar")
	benchWrites(b, e.size, dst, func() {
		out, err := atomicfile.Create(dst, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Open(context.Background(), out, e.sealed, OpenOptions{Identities: []age.Identity{e.id}, Uncommitted: true}); err != nil {
			b.Fatal(err)
		}
		if err := out.Commit(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkAgeDecryptStream1GiB and BenchmarkAgeDecryptReaderAt1GiB are
// age's two decryption APIs alone, file to file.
func BenchmarkAgeDecryptStream1GiB(b *testing.B) {
	e := setupBench(b)
	benchAgeDecrypt(b, e, func(f *os.File, size int64) (io.Reader, error) {
		return age.Decrypt(onlyReader{f}, e.id)
	})
}

func BenchmarkAgeDecryptReaderAt1GiB(b *testing.B) {
	e := setupBench(b)
	benchAgeDecrypt(b, e, func(f *os.File, size int64) (io.Reader, error) {
		ra, n, err := age.DecryptReaderAt(f, size, e.id)
		if err != nil {
			return nil, err
		}
		return io.NewSectionReader(ra, 0, n), nil
	})
}

func benchAgeDecrypt(b *testing.B, e *benchEnv, open func(*os.File, int64) (io.Reader, error)) {
	benchAgeCopy(b, e.sealed, filepath.Join(e.dir, "out-age.tar"), e.size, func(in *os.File, out io.Writer) (io.Reader, io.WriteCloser, error) {
		st, _ := in.Stat()
		r, err := open(in, st.Size())
		return r, nopCloser{out}, err
	})
}

// benchAgeCopy times copying src to a new file dst, through the reader and
// writer that through puts around the two files (age's encrypting writer,
// or decrypting reader), with size bytes of archive per iteration.
func benchAgeCopy(b *testing.B, src, dst string, size int64, through func(in *os.File, out io.Writer) (io.Reader, io.WriteCloser, error)) {
	buf := make([]byte, blockSize)
	benchWrites(b, size, dst, func() {
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		out, err := atomicfile.Create(dst, false)
		if err != nil {
			b.Fatal(err)
		}
		r, w, err := through(in, out)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(onlyWriter{w}, onlyReader{r}, buf); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if err := out.Commit(); err != nil {
			b.Fatal(err)
		}
		in.Close()
	})
}

// BenchmarkAgeCLIDecrypt1GiB is the stock `age -d`, with its peak RSS.
func BenchmarkAgeCLIDecrypt1GiB(b *testing.B) {
	e := setupBench(b)
	if _, err := exec.LookPath("age"); err != nil {
		b.Skip("age not installed")
	}
	dst := filepath.Join(e.dir, "out-agecli.tar")
	benchChild(b, e.size, dst, "sh", "-c", `age -d -i "$1" -o "$2" "$3" && sync "$2"`, "sh", e.keyFile, dst, e.sealed)
}

// BenchmarkOpenCLI1GiB runs `ckpt open` (verify and decrypt) with its peak
// RSS.
func BenchmarkOpenCLI1GiB(b *testing.B) {
	e := setupBench(b)
	if e.ckpt == "" {
		b.Skip("no ckpt binary")
	}
	dst := filepath.Join(e.dir, "out-cli.tar")
	benchChild(b, e.size, dst, e.ckpt, "open", e.sealed, "-i", e.keyFile, "-o", dst)
}

// benchChild times the command name args, which writes dst (removed before
// each run), over an archive of size bytes.
func benchChild(b *testing.B, size int64, dst, name string, args ...string) {
	benchWrites(b, size, dst, func() { runChild(b, name, args...) })
}

// benchWrites times run, which writes dst (removed, and the disk synced,
// outside the timer before each run), over an archive of size bytes.
func benchWrites(b *testing.B, size int64, dst string, run func()) {
	b.SetBytes(size)
	for b.Loop() {
		fresh(b, dst)
		run()
	}
}

// runChild runs a command and reports its peak resident set size, as
// /usr/bin/time measures it: the test process's own rusage of a child
// would count the test process's memory too (the child starts as a vfork
// of it).
func runChild(b *testing.B, name string, args ...string) {
	b.Helper()
	var rss string
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		rss = filepath.Join(b.TempDir(), "rss")
		args = append([]string{"-f", "%M", "-o", rss, name}, args...)
		name = "/usr/bin/time"
	}
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", name, err, stderr.String())
	}
	if rss == "" {
		return
	}
	b.StopTimer()
	defer b.StartTimer()
	data, err := os.ReadFile(rss)
	if err != nil {
		b.Fatal(err)
	}
	var kib float64
	if _, err := fmt.Sscanf(string(data), "%f", &kib); err != nil {
		b.Fatalf("%s: %q", rss, data)
	}
	b.ReportMetric(kib/1024, "peak-RSS-MiB")
}

// The in-memory benchmarks measure the CPU cost alone: no reading or
// writing, 256 MiB.

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func BenchmarkSealMem(b *testing.B) {
	data := benchData(memBenchSize)
	_, r := x25519(b)
	b.SetBytes(memBenchSize)
	for b.Loop() {
		if _, err := Seal(context.Background(), io.Discard, bytes.NewReader(data), Options{Recipients: []keys.Recipient{r}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAgeEncryptMem(b *testing.B) {
	data := benchData(memBenchSize)
	id := mustX25519(b)
	buf := make([]byte, blockSize)
	b.SetBytes(memBenchSize)
	for b.Loop() {
		w, err := age.Encrypt(onlyWriter{io.Discard}, id.Recipient())
		if err != nil {
			b.Fatal(err)
		}
		io.CopyBuffer(onlyWriter{w}, bytes.NewReader(data), buf)
		w.Close()
	}
}

func BenchmarkSHA256Mem(b *testing.B) {
	data := benchData(memBenchSize)
	b.SetBytes(memBenchSize)
	for b.Loop() {
		sha256.Sum256(data)
	}
}

// memSealed is memBenchSize bytes sealed to a fresh key.
func memSealed(b *testing.B) ([]byte, *age.X25519Identity) {
	id, r := x25519(b)
	var ct bytes.Buffer
	if _, err := Seal(context.Background(), &ct, bytes.NewReader(benchData(memBenchSize)), Options{Recipients: []keys.Recipient{r}}); err != nil {
		b.Fatal(err)
	}
	return ct.Bytes(), id
}

// BenchmarkDecryptMem is ckpt's decryption (parallel, with the plaintext
// hashed), in memory.
func BenchmarkDecryptMem(b *testing.B) {
	ct, id := memSealed(b)
	d := NewDecrypter(id)
	b.SetBytes(memBenchSize)
	for b.Loop() {
		if _, err := decryptAt(context.Background(), d, bytes.NewReader(ct), int64(len(ct)), output{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAgeDecryptStreamMem(b *testing.B) {
	ct, id := memSealed(b)
	buf := make([]byte, blockSize)
	b.SetBytes(memBenchSize)
	for b.Loop() {
		r, err := age.Decrypt(bytes.NewReader(ct), id)
		if err != nil {
			b.Fatal(err)
		}
		io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{r}, buf)
	}
}

func BenchmarkAgeDecryptReaderAtMem(b *testing.B) {
	ct, id := memSealed(b)
	buf := make([]byte, blockSize)
	b.SetBytes(memBenchSize)
	for b.Loop() {
		ra, n, err := age.DecryptReaderAt(bytes.NewReader(ct), int64(len(ct)), id)
		if err != nil {
			b.Fatal(err)
		}
		io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{io.NewSectionReader(ra, 0, n)}, buf)
	}
}
