package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/procmem"
	"github.com/ckpt-dev/ckpt/mem"
)

// jsonSpans streams `mem read -o json`: the plan's fields, then the spans
// with the bytes of present ones in hex, written as they arrive so that a
// large range costs no memory. The layout is what render.JSON would print
// for
//
//	{container, pid, start, end, mapping, present_bytes, absent_bytes,
//	 spans: [{address, length, present, absent_reason, hex}]}
type jsonSpans struct {
	w     *bufio.Writer
	spans []criu.PageSpan
	i     int    // the span being written
	done  uint64 // its bytes written
	open  bool   // its hex string is open
	hexb  []byte
}

func newJSONSpans(w *bufio.Writer, p *procmem.ReadPlan) *jsonSpans {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	fmt.Fprintf(w, "{\n  \"container\": %s,\n  \"pid\": %d,\n  \"start\": %d,\n  \"end\": %d,\n  \"mapping\": %d,\n  \"present_bytes\": %d,\n  \"absent_bytes\": %d,\n  \"spans\": [",
		q(p.Container), p.PID, p.Start, p.End, p.Mapping, p.Present, p.Absent)
	return &jsonSpans{w: w, spans: p.Spans}
}

func (j *jsonSpans) begin() {
	s := j.spans[j.i]
	if j.i > 0 {
		j.w.WriteString(",")
	}
	reason := ""
	if s.Absent != nil {
		reason = s.Absent.Error()
	}
	rb, _ := json.Marshal(reason)
	fmt.Fprintf(j.w, "\n    {\n      \"address\": %d,\n      \"length\": %d,\n      \"present\": %t,\n      \"absent_reason\": %s,\n      \"hex\": \"", s.Addr, s.Len, s.Absent == nil, rb)
	j.open = true
}

func (j *jsonSpans) end() {
	j.w.WriteString("\"\n    }")
	j.open = false
	j.i++
	j.done = 0
}

func (j *jsonSpans) block(b mem.Block) error {
	if j.i >= len(j.spans) {
		return fmt.Errorf("%#x: more memory than planned", b.Addr)
	}
	if !j.open {
		j.begin()
	}
	if b.Absent == nil {
		if need := hex.EncodedLen(len(b.Data)); cap(j.hexb) < need {
			j.hexb = make([]byte, need)
		}
		j.w.Write(j.hexb[:hex.Encode(j.hexb[:cap(j.hexb)], b.Data)])
	}
	j.done += b.Len
	if j.done >= j.spans[j.i].Len {
		j.end()
	}
	_, err := j.w.Write(nil)
	return err
}

func (j *jsonSpans) close() error {
	if j.open || j.i != len(j.spans) {
		return fmt.Errorf("read ended after %d of %d spans", j.i, len(j.spans))
	}
	if len(j.spans) > 0 {
		j.w.WriteString("\n  ")
	}
	_, err := j.w.WriteString("]\n}\n")
	return err
}
