package proc

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
	"google.golang.org/protobuf/proto"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
)

// A tree built from images decoded in the fields ImageFields names holds
// the same facts, mappings included, as one built from whole images.
func TestImageFieldsKeepTheFacts(t *testing.T) {
	for _, glob := range allFixtures {
		m, _ := filepath.Glob(filepath.Join(fixtures, glob))
		var trees [2]*Tree
		var maps [2][][]Mapping
		for i, opt := range []archive.LoadOptions{{}, {Fields: ImageFields()}} {
			images := loadFixture(t, m[0], opt)
			var err error
			if trees[i], err = Build(images); err != nil {
				t.Fatal(err)
			}
			for _, p := range trees[i].Processes {
				ms, err := trees[i].Maps(images, p)
				if err != nil {
					t.Fatal(err)
				}
				maps[i] = append(maps[i], ms)
				p.MM, p.IDs = nil, nil // decoded messages: compared through what they gave
			}
		}
		if !reflect.DeepEqual(trees[0].Processes, trees[1].Processes) || !reflect.DeepEqual(maps[0], maps[1]) {
			t.Errorf("%s: the tree differs when built from the selected fields", glob)
		}
		if len(maps[1]) == 0 || len(maps[1][0]) == 0 {
			t.Errorf("%s: no mappings compared", glob)
		}
	}
}

// The file descriptions and descriptors built from files.img and fdinfo
// images decoded in the fields ImageFields names are those built from
// whole images, on every fixture.
func TestImageFieldsKeepTheFiles(t *testing.T) {
	for _, glob := range allFixtures {
		m, _ := filepath.Glob(filepath.Join(fixtures, glob))
		var files [2][]*File
		var fds [2][][]FD
		for i, opt := range []archive.LoadOptions{{}, {Fields: ImageFields()}} {
			tree, err := Build(loadFixture(t, m[0], opt))
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

// A tree built without descriptors shows the same processes, less their
// descriptors and locks, and the same mappings (whose files it describes
// when asked), on every fixture.
func TestNoFDsKeepsTheRest(t *testing.T) {
	for _, glob := range allFixtures {
		m, _ := filepath.Glob(filepath.Join(fixtures, glob))
		var trees [2]*Tree
		var maps [2][][]Mapping
		for i, opt := range []BuildOptions{{}, {NoFDs: true}} {
			images := loadFixture(t, m[0], archive.LoadOptions{Fields: ImageFields()})
			var err error
			if trees[i], err = BuildWith(images, opt); err != nil {
				t.Fatal(err)
			}
			for _, p := range trees[i].Processes {
				ms, err := trees[i].Maps(images, p)
				if err != nil {
					t.Fatal(err)
				}
				maps[i] = append(maps[i], ms)
				if i == 0 && p.FDs == nil && p.State != "zombie" {
					t.Errorf("%s: pid %d: no descriptors in the full tree", glob, p.PID)
				}
				if i == 1 && (p.FDs != nil || p.Locks != nil) {
					t.Errorf("%s: pid %d: descriptors or locks built with NoFDs", glob, p.PID)
				}
				p.FDs, p.Locks = nil, nil
			}
		}
		if !reflect.DeepEqual(trees[0].Processes, trees[1].Processes) || !reflect.DeepEqual(maps[0], maps[1]) {
			t.Errorf("%s: the tree differs when built without descriptors", glob)
		}
		if !reflect.DeepEqual(trees[0].Files().All(), trees[1].Files().All()) {
			t.Errorf("%s: the files described on demand differ", glob)
		}
	}
}

// A descriptor naming a file files.img lacks fails the build, with or
// without descriptors.
func TestNoFDsChecksReferences(t *testing.T) {
	m, _ := filepath.Glob(filepath.Join(fixtures, "podman-rich.tar"))
	for _, opt := range []BuildOptions{{}, {NoFDs: true}} {
		images := loadFixture(t, m[0], archive.LoadOptions{Fields: ImageFields()})
		tree, err := BuildWith(images, opt)
		if err != nil {
			t.Fatal(err)
		}
		p := tree.Processes[0]
		img := images.Get(fmt.Sprintf("fdinfo-%d.img", p.IDs.GetFilesId()))
		img.Entries = append(img.Entries, &fdinfo.FdinfoEntry{Id: proto.Uint32(1 << 30), Fd: proto.Uint32(999), Flags: proto.Uint32(0), Type: fdinfo.FdTypes_REG.Enum()})
		_, err = BuildWith(images, opt)
		if err == nil || !strings.Contains(err.Error(), "fd 999 of pid") || !strings.Contains(err.Error(), "which files.img does not have") {
			t.Errorf("NoFDs %v: dangling descriptor: got %v", opt.NoFDs, err)
		}
	}
}

// loadFixture reads the images of a fixture, whole or in the fields
// opt names.
func loadFixture(t *testing.T, path string, opt archive.LoadOptions) *criu.ImageSet {
	t.Helper()
	a, err := archive.Open(path, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, err := archive.Load(a, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c.Checkpoints[0].Images
}
