package criu

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/opts"
)

// Object is a JSON object that keeps its keys in order. Entries render as
// Objects so that fields appear in protobuf field order, as in crit.
type Object []Member

// Member is one key of an Object.
type Member struct {
	Key   string
	Value any
}

// MarshalJSON writes the members in order.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.Key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.Value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the value of key, or nil.
func (o Object) Get(key string) any {
	for _, m := range o {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// EntryJSON renders an entry the way crit's pretty printer does: fields in
// number order, only those set; enums by name; fields CRIU marks as hex,
// flags, devices, IP addresses or dictionary values in those forms; bytes
// in base64.
func EntryJSON(m proto.Message) Object {
	return messageJSON(m.ProtoReflect(), false)
}

func messageJSON(m protoreflect.Message, hex bool) Object {
	fields := m.Descriptor().Fields()
	ordered := make([]protoreflect.FieldDescriptor, 0, fields.Len())
	for i := range fields.Len() {
		if fd := fields.Get(i); m.Has(fd) {
			ordered = append(ordered, fd)
		}
	}
	slices.SortFunc(ordered, func(a, b protoreflect.FieldDescriptor) int { return int(a.Number() - b.Number()) })
	obj := make(Object, 0, len(ordered))
	for _, fd := range ordered {
		fieldHex := hex || criuOpts(fd).GetHex()
		v := m.Get(fd)
		var out any
		switch {
		case fd.IsList() && criuOpts(fd).GetIpadd():
			out = ipJSON(v.List())
		case fd.IsList():
			l := v.List()
			vals := make([]any, l.Len())
			for i := range l.Len() {
				vals[i] = valueJSON(fd, l.Get(i), fieldHex)
			}
			out = vals
		default:
			out = valueJSON(fd, v, fieldHex)
		}
		obj = append(obj, Member{string(fd.Name()), out})
	}
	return obj
}

func criuOpts(fd protoreflect.FieldDescriptor) *opts.CRIU_Opts {
	o, _ := proto.GetExtension(fd.Options(), opts.E_Criu).(*opts.CRIU_Opts)
	return o
}

func valueJSON(fd protoreflect.FieldDescriptor, v protoreflect.Value, hex bool) any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return messageJSON(v.Message(), hex)
	case protoreflect.BytesKind:
		if criuOpts(fd).GetConv() == "unix_name" {
			return quotedPrintable(v.Bytes())
		}
		return Base64Lines(v.Bytes())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return nil
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return v.Float()
	}
	// Integers.
	var u uint64
	var i int64
	signed := false
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		i, signed = v.Int(), true
		u = uint64(i)
	default:
		u = v.Uint()
	}
	o := criuOpts(fd)
	switch {
	case hex:
		if signed && i < 0 {
			return "-0x" + strconv.FormatUint(uint64(-i), 16)
		}
		return "0x" + strconv.FormatUint(u, 16)
	case o.GetDev():
		return devString(u, o.GetOdev())
	case o.GetFlags() != "":
		names := flagNames(o.GetFlags())
		if names == nil {
			return "0x" + strconv.FormatUint(u, 16)
		}
		return flagsString(u, names)
	case o.GetDict() != "":
		if name, ok := dictName(o.GetDict(), string(fd.Name()), u); ok {
			return name
		}
	}
	if signed {
		return i
	}
	return u
}

// flagsString names the set bits, then any unnamed rest in hex.
func flagsString(v uint64, names []flagBit) string {
	var b bytes.Buffer
	var known uint64
	for _, f := range names {
		known |= f.bit
		if v&f.bit != 0 {
			if b.Len() > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(f.name)
		}
	}
	if rest := v &^ known; rest != 0 {
		if b.Len() > 0 {
			b.WriteString(" | ")
		}
		fmt.Fprintf(&b, "0x%x", rest)
	}
	return b.String()
}

// devString renders a device number as major:minor, in the kernel's
// encoding or, for fields marked odev, glibc's.
func devString(v uint64, old bool) string {
	if old {
		major := (v>>8)&0xfff | (v>>32)&^0xfff
		minor := v&0xff | (v>>12)&^0xff
		return fmt.Sprintf("%d:%d", major, minor)
	}
	return fmt.Sprintf("%d:%d", v>>20, v&(1<<20-1))
}

// ipJSON renders an address CRIU stores as 1 or 4 network-order words.
func ipJSON(l protoreflect.List) any {
	var b []byte
	for i := range l.Len() {
		b = binary.LittleEndian.AppendUint32(b, uint32(l.Get(i).Uint()))
	}
	if addr, ok := netip.AddrFromSlice(b); ok && (len(b) == 4 || len(b) == 16) {
		return []any{addr.String()}
	}
	vals := make([]any, l.Len())
	for i := range l.Len() {
		vals[i] = l.Get(i).Uint()
	}
	return vals
}

// Base64Lines encodes b as MIME base64 with a newline after every 76
// characters and at the end, the form crit uses for payloads.
func Base64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(s) > 76 {
		out.WriteString(s[:76])
		out.WriteByte('\n')
		s = s[76:]
	}
	if len(s) > 0 {
		out.WriteString(s)
		out.WriteByte('\n')
	}
	return out.String()
}

// quotedPrintable encodes a unix socket name: printable ASCII stays as is,
// everything else (notably the NUL of abstract names) becomes =XX.
func quotedPrintable(b []byte) string {
	var out bytes.Buffer
	lineLen := 0
	for i, c := range b {
		var tok string
		switch {
		case c == '\n':
			out.WriteByte('\n')
			lineLen = 0
			continue
		case c == '=' || c < ' ' || c > '~',
			(c == ' ' || c == '\t') && (i == len(b)-1 || b[i+1] == '\n'):
			tok = fmt.Sprintf("=%02X", c)
		default:
			tok = string(c)
		}
		if lineLen+len(tok) > 75 {
			out.WriteString("=\n")
			lineLen = 0
		}
		out.WriteString(tok)
		lineLen += len(tok)
	}
	return out.String()
}
