package scan

import (
	"bytes"
	"strings"
)

// gcpContext is how far past the key a service-account file's other
// members are looked for; Google's files put "type" first, but a file
// re-serialised with sorted keys puts it last.
const gcpContext = 4 << 10

// detectGCP matches the private key of a GCP service-account key file: a
// JSON "private_key" member whose string holds a PEM private key, in an
// object whose "type" is "service_account" (looked for up to 4 KiB before
// and after the key). The value is the key's JSON string; the detail
// names the account (client_email) and the key (private_key_id), which
// is what revoking it needs.
func detectGCP(w *window) verdict {
	b, at := w.b, w.at
	i, v := jsonColon(w, at+len(`"private_key"`))
	if v != accept {
		return v
	}
	vs, ve, v := jsonString(w, i)
	if v != accept {
		return v
	}
	val := b[vs:ve]
	if !bytes.HasPrefix(val, []byte("-----BEGIN ")) || !bytes.Contains(val, []byte("PRIVATE KEY-----")) {
		return reject
	}
	// The context must be all there, so that the decision never depends
	// on how the stream was split.
	ctxStart := max(w.back(), at-w.behind+gcpSlack)
	ctxEnd := min(at+w.ahead, ve+gcpContext)
	if ctxEnd > len(b) && !w.final {
		return more
	}
	ctxEnd = min(ctxEnd, len(b))
	if !w.serviceAccountIn(ctxStart, ctxEnd) {
		return reject
	}
	ctx := b[ctxStart:ctxEnd]
	var detail []string
	for _, f := range []string{"client_email", "private_key_id"} {
		if s := jsonMember(ctx, f); s != "" {
			detail = append(detail, f+" "+clip(s, 96))
		}
	}
	return w.found(GCPServiceAccountKey, at, ve+1, vs, ve, strings.Join(detail, ", "))
}

// gcpSlack keeps the search for "type" far enough from the start of the
// look-behind for its own look-behind.
const gcpSlack = 64

const serviceAccount = `"service_account"`

// serviceAccountIn reports whether "type": "service_account" starts in
// b[lo:hi]. Where service_account occurs is remembered as the stream goes
// by, so that a run of "private_key" members searches each byte once.
func (w *window) serviceAccountIn(lo, hi int) bool {
	sa := &w.serviceAccounts
	from := max(sa.scanned-w.base, int64(lo))
	if to := int64(hi) - int64(len(serviceAccount)) + 1; from < to {
		for i := from; ; {
			k := bytes.Index(w.b[i:hi], []byte(serviceAccount))
			if k < 0 {
				break
			}
			pos := i + int64(k)
			if typeBefore(w.b[max(0, pos-gcpSlack):pos]) {
				sa.hits = append(sa.hits, w.base+pos)
			}
			i = pos + 1
		}
		sa.scanned = w.base + to
	}
	// Forget what lies before the buffer: no query reaches there.
	keep := sa.hits[:0]
	found := false
	for _, h := range sa.hits {
		if h >= w.base {
			keep = append(keep, h)
			found = found || w.base+int64(lo) <= h && h < w.base+int64(hi)
		}
	}
	sa.hits = keep
	return found
}

// typeBefore reports whether b ends with "type" and a colon, blanks
// allowed around it.
func typeBefore(b []byte) bool {
	b = bytes.TrimRight(b, " \t\r\n")
	if len(b) == 0 || b[len(b)-1] != ':' {
		return false
	}
	return bytes.HasSuffix(bytes.TrimRight(b[:len(b)-1], " \t\r\n"), []byte(`"type"`))
}

// jsonMember returns the string value of the first member called name in
// b, found textually, or "". It is for details and checks near a match,
// not a JSON parser.
func jsonMember(b []byte, name string) string {
	key := `"` + name + `"`
	for off := 0; ; {
		k := bytes.Index(b[off:], []byte(key))
		if k < 0 {
			return ""
		}
		i := off + k + len(key)
		off = i
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
		if i >= len(b) || b[i] != ':' {
			continue
		}
		i++
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
		if i >= len(b) || b[i] != '"' {
			continue
		}
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 || j > 256 {
			continue
		}
		return string(b[i+1 : i+1+j])
	}
}

// jsonColon skips blanks, a colon and blanks after a JSON member name.
func jsonColon(w *window, i int) (int, verdict) {
	b, lim := w.b, w.fwd()
	for ; i < lim && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'); i++ {
	}
	if i >= lim {
		return 0, w.outOfBytes()
	}
	if b[i] != ':' {
		return 0, reject
	}
	for i++; i < lim && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'); i++ {
	}
	if i >= lim {
		return 0, w.outOfBytes()
	}
	return i, accept
}

// jsonString reads the JSON string starting with the quote at i and
// returns the bounds of its content, escapes left as they are.
func jsonString(w *window, i int) (start, end int, v verdict) {
	b, lim := w.b, w.fwd()
	if b[i] != '"' {
		return 0, 0, reject
	}
	for j := i + 1; j < lim; j++ {
		switch c := b[j]; {
		case c == '"':
			return i + 1, j, accept
		case c == '\\':
			j++
		case c < 0x20 || c == 0x7f:
			return 0, 0, reject
		}
	}
	return 0, 0, w.outOfBytes()
}
