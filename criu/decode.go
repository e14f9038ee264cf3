package criu

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// JSONOptions tune WriteJSON.
type JSONOptions struct {
	Options
	// NoPayload replaces payloads by their size ("extra_size").
	NoPayload bool
	// MaxPayload caps one payload held for rendering; 0 means
	// DefaultMaxEntry. Larger payloads are an error unless NoPayload.
	MaxPayload int64
}

// WriteJSON decodes the image in r and writes it to w as crit's "decode
// --pretty" does: {"magic": NAME, "entries": [...]}, payloads under
// "extra". It holds one entry at a time, so images of any size stream.
func WriteJSON(w io.Writer, r io.Reader, opt JSONOptions) error {
	rd, err := NewReader(r, opt.Options)
	if err != nil {
		return err
	}
	maxPayload := opt.MaxPayload
	if maxPayload <= 0 {
		maxPayload = DefaultMaxEntry
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\n    \"magic\": %q,\n    \"entries\": [", rd.Magic().String())
	for i := 0; ; i++ {
		m, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		obj := EntryJSON(m)
		if extra, err := payloadJSON(rd, m, opt.NoPayload, maxPayload); err != nil {
			return err
		} else if extra != nil {
			obj = append(obj, *extra)
		}
		b, err := json.MarshalIndent(obj, "        ", "    ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n        ")
		bw.Write(b)
	}
	bw.WriteString("\n    ]\n}\n")
	return bw.Flush()
}

// PayloadLimitError is a payload larger than the decoder may hold in
// memory to render it.
type PayloadLimitError struct {
	Size  int64 // -1 when the image does not say
	Limit int64
}

func (e *PayloadLimitError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("payload exceeds the %d-byte limit", e.Limit)
	}
	return fmt.Sprintf("payload of %d bytes exceeds the %d-byte limit", e.Size, e.Limit)
}

// payloadJSON renders the payload of the entry just read, in crit's forms.
func payloadJSON(rd *Reader, m proto.Message, noPayload bool, max int64) (*Member, error) {
	if msgs := rd.QueueMessages(); msgs != nil {
		var vals []any
		for _, q := range msgs {
			vals = append(vals, EntryJSON(q.Msg), Base64Lines(q.Data))
		}
		return &Member{"extra", vals}, nil
	}
	p, n := rd.Payload()
	if p == nil {
		return nil, nil
	}
	if noPayload {
		return &Member{"extra_size", n}, nil
	}
	if n > max {
		return nil, rd.errorf("%w", &PayloadLimitError{Size: n, Limit: max})
	}
	data, err := io.ReadAll(io.LimitReader(p, max+1))
	if err != nil {
		return nil, rd.errorf("payload: %w", err)
	}
	if int64(len(data)) > max {
		return nil, rd.errorf("%w", &PayloadLimitError{Size: -1, Limit: max})
	}
	if int64(len(data)) < n && !rd.toEnd {
		return nil, rd.errorf("payload: %w", io.ErrUnexpectedEOF)
	}
	switch rd.Magic().String() {
	case "TCP_STREAM":
		inq := min(int64(tcpInq(m)), int64(len(data)))
		return &Member{"extra", Object{{"inq", Base64Lines(data[:inq])}, {"outq", Base64Lines(data[inq:])}}}, nil
	case "IPCNS_SEM":
		sems := make([]uint16, len(data)/2)
		for i := range sems {
			sems[i] = binary.LittleEndian.Uint16(data[2*i:])
		}
		return &Member{"extra", sems}, nil
	}
	return &Member{"extra", Base64Lines(data)}, nil
}
