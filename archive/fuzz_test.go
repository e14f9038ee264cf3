package archive

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/tartest"
)

// FuzzLoad feeds arbitrary archives to the reader, as a file and as a
// stream: it must return contents or an *Error, never panic, and stay
// within its limits.
func FuzzLoad(f *testing.F) {
	// The fuzzer slows down with input size: seed it with the fixture
	// without its bulky members (pages, dump.log, rootfs diff).
	ms, err := tartest.Read(simpleFixture(f))
	if err != nil {
		f.Fatal(err)
	}
	small := slices.DeleteFunc(ms, func(m tartest.Member) bool {
		return strings.Contains(m.Name, "pages-") || m.Name == "dump.log" || m.Name == "rootfs-diff.tar"
	})
	good := tartest.Tar(small)
	f.Add(good)
	f.Add(tartest.Gzip(good))
	f.Add(tartest.Zstd(good))
	f.Add(tartest.Tar(append(small, tartest.Member{Name: "../x", Type: '0', Body: []byte("x")})))
	limits := Limits{MaxMetadata: 1 << 20, MaxEntry: 1 << 20, MaxImage: 4 << 20, MaxRatio: 100, MaxListing: 1000}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, open := range []func() (*Archive, error){
			func() (*Archive, error) {
				return openReaderAt("x", bytes.NewReader(b), int64(len(b)), Options{Limits: limits})
			},
			func() (*Archive, error) { return OpenReader("x", bytes.NewReader(b), Options{Limits: limits}) },
		} {
			a, err := open()
			if err != nil {
				continue
			}
			c, err := Load(a, LoadOptions{Limits: limits})
			a.Close()
			if err == nil && len(c.Checkpoints) == 0 {
				t.Fatal("no error and no checkpoint")
			}
		}
	})
}

// FuzzParseFileName checks the kubelet name parser never panics and that
// what it returns rebuilds the name.
func FuzzParseFileName(f *testing.F) {
	f.Add("checkpoint-rich-5d4f8b9c7-k8m2n_ckpt-test-rich-2026-11-28T22:28:10Z.tar")
	f.Add("checkpoint-a_b-c-2026-11-28T23:28:10+01:00.tar.gz.age")
	f.Fuzz(func(t *testing.T, name string) {
		fn, ok := ParseFileName(name)
		if !ok {
			return
		}
		for _, s := range fn.Splits {
			if s.Namespace+"-"+s.Container != fn.NamespaceContainer {
				t.Fatalf("split %+v does not rebuild %q", s, fn.NamespaceContainer)
			}
		}
	})
}
