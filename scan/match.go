package scan

// Match is one validated secret in a stream of bytes.
type Match struct {
	Kind Kind
	// Start and End delimit the whole match as offsets in the stream: the
	// header with its name, NAME=value, the PEM block.
	Start, End int64
	// Value is the secret itself, starting at offset ValueStart: where a
	// [Location] places it. It is the caller's to keep.
	Value      []byte
	ValueStart int64
	// Detail is what can be said about the match without revealing it: a
	// variable's name, a key's type, a token's issuer and subject.
	Detail string
}

// valueEnd is the offset after the value.
func (m *Match) valueEnd() int64 { return m.ValueStart + int64(len(m.Value)) }

// overlaps reports whether the values of m and o share a byte.
func (m *Match) overlaps(o *Match) bool {
	return m.ValueStart < o.valueEnd() && o.ValueStart < m.valueEnd()
}
