package scan

import "bytes"

// detectAuthorization matches an HTTP Authorization (or
// Proxy-Authorization) header with the Bearer or Basic scheme, as sent on
// the wire ("Authorization: Bearer x") or held in code and configuration
// ("authorization": "Basic x", Authorization=Bearer x). A bearer token must
// be 16 or more token68 characters mixing letters with digits or cases; a
// basic credential must be base64 of "user:password" in printable text.
func detectAuthorization(w *window) verdict {
	b, at := w.b, w.at
	if at == 0 || (b[at-1] != 'A' && b[at-1] != 'a') {
		return reject
	}
	start := at - 1
	if start > 0 && is(b[start-1], cAlnum) {
		return reject
	}
	i, v := assignment(w, at+len("uthorization"))
	if v != accept {
		return v
	}
	lim := w.fwd()
	s := run(b, i, lim, cUpper|cLower)
	j := skipSpace(b, s, lim)
	if j >= lim {
		return w.outOfBytes()
	}
	scheme := b[i:s]
	bearer := bytes.EqualFold(scheme, []byte("bearer"))
	if !bearer && !bytes.EqualFold(scheme, []byte("basic")) || j == s {
		return reject
	}
	ve := run(b, j, lim, cToken68)
	for ve < lim && b[ve] == '=' {
		ve++
	}
	if v := w.valueEnds(ve, cToken68); v != accept {
		return v
	}
	tok := b[j:ve]
	if bearer {
		if len(tok) < 16 || !mixed(tok) {
			return reject
		}
		return w.found(BearerToken, start, ve, j, ve, "")
	}
	user, ok := basicUser(w, tok)
	if !ok {
		return reject
	}
	return w.found(BasicAuth, start, ve, j, ve, "user "+clip(user, 64))
}

// mixed reports whether a token mixes letters with digits, or upper with
// lower case, as generated tokens do and placeholders do not.
func mixed(b []byte) bool {
	var upper, lower, digit bool
	for _, c := range b {
		upper = upper || is(c, cUpper)
		lower = lower || is(c, cLower)
		digit = digit || is(c, cDigit)
	}
	return digit && (upper || lower) || upper && lower
}

// basicUser decodes a Basic credential and returns its user name.
func basicUser(w *window, tok []byte) (string, bool) {
	dec, ok := decodeBase64(w.dec, tok, false)
	if !ok || len(tok)%4 != 0 || len(dec) < 3 {
		return "", false
	}
	colon := -1
	for i, c := range dec {
		if c < 0x20 || c > 0x7e {
			return "", false
		}
		if c == ':' && colon < 0 {
			colon = i
		}
	}
	if colon < 0 || colon == len(dec)-1 {
		return "", false // no password
	}
	return string(dec[:colon]), true
}
