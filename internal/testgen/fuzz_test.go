package testgen_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// FuzzSpec generates archives from arbitrary small specs: each must be
// refused as a bad spec or load cleanly in the lead's reader, with every
// marker where the layout says.
func FuzzSpec(f *testing.F) {
	f.Add(int64(1), uint8(3), uint8(2), uint8(1), uint16(300), uint16(8), uint8(1), []byte("MARKER"), uint8(0), uint8(0), uint8(0))
	f.Add(int64(7), uint8(1), uint8(1), uint8(0), uint16(0), uint16(1), uint8(0), []byte("xy"), uint8(1), uint8(2), uint8(2))
	f.Add(int64(-3), uint8(9), uint8(4), uint8(4), uint16(2048), uint16(300), uint8(3), []byte("a-longer-marker-string"), uint8(1), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, seed int64, procs, threads, zombies uint8, pageKiB, maxRun uint16, parents uint8, marker []byte, region, straddle, engine uint8) {
		s := testgen.Spec{
			Engine:            []string{testgen.EngineCRIO, testgen.EngineContainerd, testgen.EnginePodman}[engine%3],
			Seed:              seed,
			Processes:         int(procs%12) + 1,
			ThreadsPerProcess: int(threads%5) + 1,
			Zombies:           int(zombies % 6),
			PageBytes:         int64(pageKiB%4096) << 10,
			MaxRunPages:       int(maxRun%512) + 1,
			ParentEntries:     int(parents % 4),
			Fill:              testgen.FillKind(seed & 3),
		}
		if len(marker) > 0 && len(marker) < 8192 {
			s.Markers = []testgen.Marker{{Data: marker, Region: testgen.Region(region % 2), Straddle: testgen.Straddle(straddle % 3)}}
		}
		var b bytes.Buffer
		l, err := testgen.Write(&b, s)
		if err != nil {
			return // refused: the spec asked for something impossible
		}
		a, err := archive.OpenReader("fuzz.tar", &b, archive.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		pages := map[uint32][]byte{}
		c, err := archive.Load(a, archive.LoadOptions{Pages: func(_ *archive.Checkpoint, p *archive.PagesImage) error {
			data, err := io.ReadAll(p.R)
			pages[p.ID] = data
			return err
		}})
		if err != nil {
			t.Fatal(err)
		}
		if errs := c.Checkpoints[0].ImageErrors; len(errs) > 0 {
			t.Fatal(errors.Join(errs[0].Err))
		}
		for i, mk := range l.Markers {
			p := l.ProcessByPID(mk.PID)
			got := pages[p.PagesID]
			if int(mk.Offset)+len(mk.Data) > len(got) || !bytes.Equal(got[mk.Offset:mk.Offset+int64(len(mk.Data))], mk.Data) {
				t.Fatalf("marker %d is not at %s@%d", i, mk.PagesImage, mk.Offset)
			}
		}
		var total int64
		for _, p := range pages {
			total += int64(len(p))
		}
		if total != l.PagesBytes {
			t.Fatalf("pages %d, layout %d", total, l.PagesBytes)
		}
	})
}
