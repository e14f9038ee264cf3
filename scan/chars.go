package scan

// Character classes, one bit each, looked up by byte.
const (
	cUpper   = 1 << iota // A-Z
	cLower               // a-z
	cDigit               // 0-9
	cB64Std              // A-Z a-z 0-9 + /
	cB64URL              // A-Z a-z 0-9 - _
	cPrint               // printable ASCII without space: 0x21-0x7e
	cEnvName             // A-Z 0-9 _
	cToken68             // RFC 7235 token68 without the padding: A-Z a-z 0-9 - . _ ~ + /
	cUnderscore
	cAlnum = cUpper | cLower | cDigit
)

var class = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		var v uint16
		switch {
		case 'A' <= b && b <= 'Z':
			v |= cUpper | cB64Std | cB64URL | cEnvName | cToken68
		case 'a' <= b && b <= 'z':
			v |= cLower | cB64Std | cB64URL | cToken68
		case '0' <= b && b <= '9':
			v |= cDigit | cB64Std | cB64URL | cEnvName | cToken68
		}
		switch b {
		case '+', '/':
			v |= cB64Std | cToken68
		case '-':
			v |= cB64URL | cToken68
		case '_':
			v |= cB64URL | cEnvName | cToken68 | cUnderscore
		case '.', '~':
			v |= cToken68
		}
		if 0x21 <= b && b <= 0x7e {
			v |= cPrint
		}
		t[c] = v
	}
	return t
}()

func is(b byte, c uint16) bool { return class[b]&c != 0 }

// isNameChar reports whether b can be part of an identifier.
func isNameChar(b byte) bool { return class[b]&(cAlnum|cUnderscore) != 0 }

// run returns the end of the run of bytes of class c in b starting at i,
// stopping at limit.
func run(b []byte, i, limit int, c uint16) int {
	for i < limit && class[b[i]]&c != 0 {
		i++
	}
	return i
}

// skipSpace skips blanks (space and tab).
func skipSpace(b []byte, i, limit int) int {
	for i < limit && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// decodeBase64 decodes standard or URL base64, with or without padding,
// into dst, ignoring nothing. It returns false for a byte outside the
// alphabet or an impossible length. It never allocates: dst must hold
// len(src)*3/4 bytes.
func decodeBase64(dst, src []byte, url bool) ([]byte, bool) {
	for len(src) > 0 && src[len(src)-1] == '=' {
		src = src[:len(src)-1]
	}
	if len(src)%4 == 1 {
		return nil, false
	}
	out := dst[:0]
	var acc uint32
	var bits uint
	for _, c := range src {
		v := b64val[c]
		if url {
			v = b64urlval[c]
		}
		if v == 0xff {
			return nil, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, true
}

var b64val, b64urlval = func() (std, url [256]byte) {
	for i := range std {
		std[i], url[i] = 0xff, 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := 0; i < len(alpha); i++ {
		std[alpha[i]], url[alpha[i]] = byte(i), byte(i)
	}
	std['+'], std['/'] = 62, 63
	url['-'], url['_'] = 62, 63
	return
}()
