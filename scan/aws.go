package scan

// detectAWSKeyID matches an AWS access key id: AKIA (a long-term IAM user
// key) or ASIA (a temporary STS key) and 16 base32 characters [A-Z2-7],
// standing alone (no letter or digit on either side).
func detectAWSKeyID(w *window) verdict {
	b, at := w.b, w.at
	if at > 0 && is(b[at-1], cAlnum) {
		return reject
	}
	for i := at + 4; i < at+20; i++ {
		c, ok := w.byteAt(i)
		if !ok {
			return w.outOfBytes()
		}
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return reject
		}
	}
	c, ok := w.byteAt(at + 20)
	if !ok {
		return w.outOfBytes()
	}
	if c != eos && is(byte(c), cAlnum) {
		return reject
	}
	detail := "long-term (IAM user) key"
	if b[at+1] == 'S' {
		detail = "temporary (STS) key"
	}
	return w.found(AWSAccessKeyID, at, at+20, at, at+20, detail)
}

// detectAWSSecret matches an AWS secret access key: 40 characters of
// [A-Za-z0-9/+] after a label the AWS tools use, aws_secret_access_key,
// AWS_SECRET_ACCESS_KEY, SecretAccessKey or secretAccessKey, then = or :
// (quotes and blanks allowed around them). The value must mix upper case,
// lower case and digits or symbols, as random keys do.
func detectAWSSecret(w *window) verdict {
	b, at := w.b, w.at
	if at == 0 || (b[at-1] != 'S' && b[at-1] != 's') {
		return reject
	}
	start := at - 1
	for start > w.back() && start > at-64 && isNameChar(b[start-1]) {
		start--
	}
	label := len("ecret_access_key")
	if hasPrefix(b[at:], "ecretAccessKey") {
		label = len("ecretAccessKey")
	}
	i, v := assignment(w, at+label)
	if v != accept {
		return v
	}
	lim := w.fwd()
	end := run(b, i, lim, cB64Std)
	if v := w.valueEnds(end, cB64Std); v != accept {
		return v
	}
	if end-i != 40 {
		return reject
	}
	var upper, lower, other bool
	for _, c := range b[i:end] {
		switch {
		case is(c, cUpper):
			upper = true
		case is(c, cLower):
			lower = true
		default:
			other = true
		}
	}
	if !upper || !lower || !other {
		return reject
	}
	return w.found(AWSSecretAccessKey, start, end, i, end, string(b[start:at+label]))
}

// assignment skips what joins a label to its value: an optional closing
// quote, blanks, = or :, blanks and an optional opening quote. It returns
// where the value starts.
func assignment(w *window, i int) (int, verdict) {
	b, lim := w.b, w.fwd()
	if i < lim && (b[i] == '"' || b[i] == '\'') {
		i++
	}
	i = skipSpace(b, i, lim)
	if i >= lim {
		return 0, w.outOfBytes()
	}
	if b[i] != '=' && b[i] != ':' {
		return 0, reject
	}
	i = skipSpace(b, i+1, lim)
	if i < lim && (b[i] == '"' || b[i] == '\'') {
		i++
	}
	if i >= lim {
		return 0, w.outOfBytes()
	}
	return i, accept
}
