package criu

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Fields selects what of an entry a Reader decodes, by protobuf field
// number. A field mapped to nil is decoded whole; one mapped to Fields is a
// message decoded only in those fields. Fields not named are skipped on the
// wire and never decoded. Inside a repeated message field, the selection
// applies to each element.
//
// A reader that needs a few fields of a large entry (the registers and FPU
// state of a core image hold a message per register set and a pointer per
// register) then holds and scans a few words per entry instead of
// kilobytes: that is most of what a process costs in a report.
type Fields map[protowire.Number]Fields

// FieldsOf resolves dotted field names of message m ("tc.task_state",
// "thread_info.gpregs", "vmas.start") into Fields. A name that stops at a
// message field selects all of it.
func FieldsOf(m proto.Message, names ...string) (Fields, error) {
	root := Fields{}
	for _, name := range names {
		md, f := m.ProtoReflect().Descriptor(), root
		parts := strings.Split(name, ".")
		for i, part := range parts {
			fd := md.Fields().ByName(protoreflect.Name(part))
			if fd == nil {
				return nil, fmt.Errorf("%s has no field %q (in %q)", md.FullName(), part, name)
			}
			last := i == len(parts)-1
			if last {
				f[fd.Number()] = nil
				break
			}
			if fd.Message() == nil || fd.IsMap() {
				return nil, fmt.Errorf("%s.%s is not a message: cannot select inside it (in %q)", md.FullName(), part, name)
			}
			sub, seen := f[fd.Number()]
			if seen && sub == nil {
				break // already selected whole
			}
			if sub == nil {
				sub = Fields{}
				f[fd.Number()] = sub
			}
			md, f = fd.Message(), sub
		}
	}
	return root, nil
}

// filter appends to dst the fields of the encoded message b that f
// selects, in their order, re-encoding the length of each nested message
// it narrows.
func (f Fields) filter(dst, b []byte) ([]byte, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		field := b[:n+m]
		b = b[n+m:]
		sub, ok := f[num]
		switch {
		case !ok:
		case sub == nil || typ != protowire.BytesType:
			dst = append(dst, field...)
		default:
			v, _ := protowire.ConsumeBytes(field[n:])
			dst = protowire.AppendTag(dst, num, typ)
			// Filter in place after the tag, then open a gap for the
			// length prefix: no allocation per nested message.
			at := len(dst)
			var err error
			if dst, err = sub.filter(dst, v); err != nil {
				return nil, err
			}
			size := len(dst) - at
			k := protowire.SizeVarint(uint64(size))
			dst = append(dst, make([]byte, k)...)
			copy(dst[at+k:], dst[at:at+size])
			protowire.AppendVarint(dst[at:at], uint64(size))
		}
	}
	return dst, nil
}
