package proc

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
)

// The file descriptions and descriptors built from files.img and fdinfo
// images decoded in the fields ImageFields names are those built from
// whole images, on every fixture.
func TestImageFieldsKeepTheFiles(t *testing.T) {
	for _, glob := range allFixtures {
		m, _ := filepath.Glob(filepath.Join(fixtures, glob))
		var files [2][]*File
		var fds [2][][]FD
		for i, opt := range []archive.LoadOptions{{}, {Fields: ImageFields()}} {
			a, err := archive.Open(m[0], archive.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := archive.Load(a, opt)
			a.Close()
			if err != nil {
				t.Fatal(err)
			}
			tree, err := Build(c.Checkpoints[0].Images)
			if err != nil {
				t.Fatal(err)
			}
			files[i] = tree.files.All()
			for _, p := range tree.Processes {
				fds[i] = append(fds[i], p.FDs)
			}
		}
		if !reflect.DeepEqual(files[0], files[1]) {
			t.Errorf("%s: the file descriptions differ when built from the selected fields", glob)
		}
		if !reflect.DeepEqual(fds[0], fds[1]) {
			t.Errorf("%s: the descriptors differ when built from the selected fields", glob)
		}
		n := 0
		for _, f := range fds[1] {
			n += len(f)
		}
		if len(files[1]) == 0 || n == 0 {
			t.Errorf("%s: no files or descriptors compared", glob)
		}
	}
}
