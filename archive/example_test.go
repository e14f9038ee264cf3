package archive_test

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/ckpt-dev/ckpt/archive"
)

// Load reads an archive once and returns who each checkpoint is of. The
// pages hook is how large entries are consumed without holding them.
func ExampleLoad() {
	m, _ := filepath.Glob("../testdata/fixtures/checkpoint-rich-*.tar")
	a, err := archive.Open(m[0], archive.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	var pageBytes int64
	contents, err := archive.Load(a, archive.LoadOptions{
		Pages: func(c *archive.Checkpoint, p *archive.PagesImage) error {
			n, err := io.Copy(io.Discard, p.R)
			pageBytes += n
			return err
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	id := contents.Checkpoints[0].Identity
	fmt.Println(id.Engine, id.Namespace, id.Pod, id.Container, id.CRIUVersion)
	fmt.Println(pageBytes, "bytes of memory pages")
	// Output:
	// CRI-O ckpt-test rich-5d4f8b9c7-k8m2n rich 4.2
	// 368640 bytes of memory pages
}
