package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/tartest"
)

func simpleFixture(t testing.TB) string {
	t.Helper()
	m, _ := filepath.Glob("../testdata/fixtures/checkpoint-simple-*.tar")
	if len(m) != 1 {
		t.Fatal("fixture missing")
	}
	return m[0]
}

// loadBytes opens b both as a file (random access when plain) and as a
// stream, and loads it both ways.
func loadBytes(t *testing.T, b []byte, limits Limits) (file, stream error, contents *Contents) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.tar")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(a *Archive, err error) (*Contents, error) {
		if err != nil {
			return nil, err
		}
		defer a.Close()
		return Load(a, LoadOptions{Limits: limits})
	}
	contents, file = load(Open(p, Options{Limits: limits}))
	_, stream = load(OpenReader(p, bytes.NewReader(b), Options{Limits: limits}))
	return file, stream, contents
}

// TestBadArchives checks the archive-level bad inputs: each is an *Error
// naming the archive (and the entry when there is one), of the right class,
// whether the archive is read from a file or from a stream.
func TestBadArchives(t *testing.T) {
	for _, tc := range []struct {
		kind, entry string
		want        error
		text        string
	}{
		{"not-archive", "", ErrNotArchive, "not a checkpoint archive"},
		{"empty", "", ErrNotArchive, "empty file"},
		{"truncated", "checkpoint/pages-1.img", ErrTruncated, "truncated"},
		{"corrupt-gzip", "", nil, "gzip"},
		{"corrupt-zstd", "", nil, "zstd"},
		{"traversal", "../../etc/cron.d/x", ErrUnsafeEntry, "climbs out"},
		{"absolute", "/etc/passwd", ErrUnsafeEntry, "absolute name"},
		{"symlink", "checkpoint/evil", ErrUnsafeEntry, "symlink to \"/etc/shadow\""},
		{"hardlink", "checkpoint/evil", ErrUnsafeEntry, "hard link"},
		{"device", "checkpoint/mem", ErrUnsafeEntry, "device"},
		{"duplicate", "spec.dump", ErrDuplicate, "duplicate"},
		{"no-spec", "spec.dump", ErrMissing, "missing"},
		{"bad-spec", "spec.dump", ErrBadMetadata, "invalid metadata"},
		{"no-config", "config.dump", ErrMissing, "missing"},
		{"bad-config", "config.dump", ErrBadMetadata, "invalid metadata"},
		{"bomb-zstd", "zeros", ErrBomb, "possible decompression bomb"},
		{"bomb-gzip", "zeros", ErrBomb, "decompression bomb"},
		{"not-checkpoint", "", ErrNotArchive, "no container checkpoint"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			b, err := tartest.Bad(tc.kind, simpleFixture(t))
			if err != nil {
				t.Fatal(err)
			}
			limits := Limits{}
			if tc.kind == "bomb-gzip" {
				// Gzip tops out near 1032:1, under the default ratio.
				limits.MaxRatio = 500
			}
			fileErr, streamErr, _ := loadBytes(t, b, limits)
			for how, err := range map[string]error{"file": fileErr, "stream": streamErr} {
				var ae *Error
				if !errors.As(err, &ae) {
					t.Fatalf("%s: %v is not an *archive.Error", how, err)
				}
				if ae.Archive == "" || tc.entry != "" && ae.Entry != tc.entry {
					t.Errorf("%s: archive %q entry %q, want entry %q (%v)", how, ae.Archive, ae.Entry, tc.entry, err)
				}
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("%s: %v is not %v", how, err, tc.want)
				}
				if !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: %q should be one line containing %q", how, err, tc.text)
				}
			}
		})
	}
}

func TestStaleTailIsReportedNotFatal(t *testing.T) {
	b, _ := tartest.Bad("stale-tail", simpleFixture(t))
	fileErr, streamErr, c := loadBytes(t, b, Limits{})
	if fileErr != nil || streamErr != nil {
		t.Fatal(fileErr, streamErr)
	}
	if c.Trailer.NonZero == 0 || len(c.Warnings) == 0 || !strings.Contains(c.Warnings[0], "stale tail") {
		t.Fatalf("trailer %+v warnings %q", c.Trailer, c.Warnings)
	}
}

func TestImageErrorsAreRecorded(t *testing.T) {
	for kind, text := range map[string]string{"unknown-magic": "unknown image magic 0x12345678", "huge-length": "length prefix 4294967295 exceeds"} {
		b, _ := tartest.Bad(kind, simpleFixture(t))
		fileErr, _, c := loadBytes(t, b, Limits{})
		if fileErr != nil {
			t.Fatal(fileErr)
		}
		ie := c.Checkpoints[0].ImageErrors
		if len(ie) != 1 || ie[0].Name != "pstree.img" || !strings.Contains(ie[0].Err.Error(), text) || !strings.Contains(ie[0].Err.Error(), "checkpoint/pstree.img") {
			t.Errorf("%s: %+v", kind, ie)
		}
	}
}

func TestEmptyNestedTar(t *testing.T) {
	ms, _ := tartest.Read(simpleFixture(t))
	for i := range ms {
		if ms[i].Name == "rootfs-diff.tar" {
			ms[i].Body = make([]byte, 10240) // what tar cf x.tar -T /dev/null writes
		}
	}
	fileErr, _, c := loadBytes(t, tartest.Tar(ms), Limits{})
	if fileErr != nil || c.Checkpoints[0].RootFS == nil || len(c.Checkpoints[0].RootFS.Files) != 0 {
		t.Fatalf("%v %+v", fileErr, c)
	}
}

func TestLimits(t *testing.T) {
	b, _ := os.ReadFile(simpleFixture(t))
	_, err, _ := loadBytes(t, b, Limits{MaxMetadata: 100})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "spec.dump") && !strings.Contains(err.Error(), "config.dump") {
		t.Errorf("metadata limit: %v", err)
	}
}

func TestSealedWithoutKey(t *testing.T) {
	_, err := OpenReader("x.tar.age", strings.NewReader("age-encryption.org/v1\n-> X25519 abc\n"), Options{})
	if !errors.Is(err, ErrSealed) || !strings.Contains(err.Error(), "x.tar.age: archive is sealed") {
		t.Fatalf("%v", err)
	}
}

func TestSniff(t *testing.T) {
	for name, want := range map[string]Format{
		"../testdata/fixtures/podman-simple.tar":     Tar,
		"../testdata/fixtures/podman-simple.tar.gz":  Gzip,
		"../testdata/fixtures/podman-simple.tar.zst": Zstd,
	} {
		b, _ := os.ReadFile(name)
		if got := Sniff(b[:SniffLen]); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	for b, want := range map[string]Format{"BZh91AY&SY": Bzip2, "\xfd7zXZ\x00\x00": Xz, "-----BEGIN AGE ENCRYPTED FILE-----\n": Age, "hello": Unknown, "": Unknown} {
		if got := Sniff([]byte(b)); got != want {
			t.Errorf("Sniff(%q) = %v, want %v", b, got, want)
		}
	}
}
