package scan_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ckpt-dev/ckpt/scan"
	"github.com/ckpt-dev/ckpt/scan/scantest"
)

// fuzzSeeds are the fakes, whole and cut, so that the fuzzer starts from
// inputs that reach every detector's deep checks.
func fuzzSeeds(f *testing.F, add func(b []byte)) {
	blob, _ := scantest.Blob(scantest.Fakes())
	add(blob)
	for _, fk := range scantest.Fakes() {
		add([]byte(fk.Text))
		add([]byte(fk.Text[:len(fk.Text)*2/3]))
		add([]byte("\x00" + fk.Text + "\x00" + fk.Text))
	}
	add([]byte("SECRET_TOKEN=hunter2-do-not-leak\x00FOO=bar\x00"))
	add([]byte("Authorization: Basic ZmFrZXVzZXI6ZmFrZXBhc3N3b3Jk\r\nAuthorization: Bearer eyJhbGciOiJub25lIn0.e30."))
}

// FuzzMatcher checks, on any input, that the matcher does not panic, that
// every match lies inside the input where it says, and that how the
// stream is cut into blocks changes nothing: a small window and tiny
// blocks against the same window in one block.
func FuzzMatcher(f *testing.F) {
	fuzzSeeds(f, func(b []byte) { f.Add(b, uint16(7), uint8(3)) })
	f.Fuzz(func(t *testing.T, data []byte, block uint16, piece uint8) {
		const ahead, behind = 4096, 256
		var one []scan.Match
		m := scan.NewMatcherSized(func(x scan.Match) { one = append(one, x) }, 1<<20, ahead, behind)
		m.Write(data)
		m.End()
		for _, x := range one {
			end := x.ValueStart + int64(len(x.Value))
			if x.Start < 0 || x.Start > x.ValueStart || end > x.End || x.End > int64(len(data)) ||
				!bytes.Equal(data[x.ValueStart:end], x.Value) || len(x.Value) == 0 || !slices.Contains(scan.Kinds(), x.Kind) {
				t.Fatalf("bad match %+v in %d bytes", x, len(data))
			}
		}
		var split []scan.Match
		m = scan.NewMatcherSized(func(x scan.Match) { split = append(split, x) }, 1+int(block)%512, ahead, behind)
		step := 1 + int(piece)
		for p := data; len(p) > 0; {
			k := min(len(p), step)
			m.Write(p[:k])
			p = p[k:]
		}
		m.End()
		if !equalMatches(one, split) {
			t.Fatalf("block %d: %d matches, %d in one block", 1+int(block)%512, len(split), len(one))
		}
	})
}

// FuzzNames checks the name and value rules and the preview on any
// input: no panic, and a preview never shows more than 6 bytes, nor more
// than 3/8 of a value.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"SECRET_TOKEN", "PWD", "db.password", "", "__", "KEY-", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scan.SecretName(s)
		scan.IsPlaceholder([]byte(s))
		p := scan.Preview([]byte(s))
		if bytes.HasPrefix([]byte(s), []byte("-----BEGIN ")) {
			return
		}
		if shown := len(p) - len("..."); shown > 6 || shown*8 > len(s)*3 {
			t.Fatalf("Preview(%q) = %q shows %d bytes", s, p, shown)
		}
	})
}
