package proc

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
)

// A tree built from images decoded in the fields ImageFields names holds
// the same facts, mappings included, as one built from whole images.
func TestImageFieldsKeepTheFacts(t *testing.T) {
	for _, glob := range allFixtures {
		m, _ := filepath.Glob(filepath.Join(fixtures, glob))
		var trees [2]*Tree
		var maps [2][][]Mapping
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
			images := c.Checkpoints[0].Images
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
