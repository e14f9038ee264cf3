package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// detectJWT matches a JSON Web Token (RFC 7519, compact JWS form): three
// base64url parts joined by dots, the first decoding to a JSON object with
// an "alg" member and the second to a JSON object (the claims). The
// signature may be empty only when alg is "none". Tokens the Kubernetes
// API server issued to service accounts (legacy iss
// "kubernetes/serviceaccount", or bound tokens with a "kubernetes.io"
// claim) are reported as kubernetes-token.
func detectJWT(w *window) verdict {
	b, at := w.b, w.at
	if at > 0 && (is(b[at-1], cB64URL) || b[at-1] == '.') {
		return reject // inside a longer base64 string
	}
	lim := w.fwd()
	var dot [2]int
	i := at
	for k := range dot {
		i = run(b, i, lim, cB64URL)
		c, ok := w.byteAt(i)
		if !ok {
			return w.outOfBytes()
		}
		if c != '.' {
			return reject
		}
		dot[k] = i
		i++
	}
	end := run(b, i, lim, cB64URL)
	c, ok := w.byteAt(end)
	if !ok {
		return w.outOfBytes()
	}
	if c == '.' || c == '=' {
		return reject // a JWE (five parts) or not base64url
	}
	header, ok := decodeBase64(w.dec, b[at:dot[0]], true)
	if !ok || len(header) < 10 || header[0] != '{' || !bytes.Contains(header, []byte(`"alg"`)) || !json.Valid(header) {
		return reject
	}
	claims, ok := decodeBase64(w.dec2, b[dot[0]+1:dot[1]], true)
	if !ok || len(claims) < 2 || claims[0] != '{' || !json.Valid(claims) {
		return reject
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(header, &h) != nil || h.Alg == "" {
		return reject
	}
	if end == dot[1]+1 && !strings.EqualFold(h.Alg, "none") {
		return reject // signed tokens have a signature
	}
	kind, detail := jwtDetail(h.Alg, claims)
	return w.found(kind, at, end, at, end, detail)
}

func jwtDetail(alg string, claims []byte) (Kind, string) {
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Exp json.RawMessage `json:"exp"`
		K8s *struct {
			Namespace      string `json:"namespace"`
			ServiceAccount *struct {
				Name string `json:"name"`
			} `json:"serviceaccount"`
		} `json:"kubernetes.io"`
		LegacyNamespace string `json:"kubernetes.io/serviceaccount/namespace"`
	}
	kind := JWT
	var parts []string
	if json.Unmarshal(claims, &c) == nil {
		if c.Iss == "kubernetes/serviceaccount" || c.K8s != nil || c.LegacyNamespace != "" {
			kind = KubernetesToken
		}
		if c.Sub != "" {
			parts = append(parts, "sub "+clip(c.Sub, 96))
		}
		if c.Iss != "" {
			parts = append(parts, "iss "+clip(c.Iss, 96))
		}
		var exp float64
		if json.Unmarshal(c.Exp, &exp) == nil && exp > 0 && exp < 1e11 {
			parts = append(parts, "expires "+time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))
		}
	}
	if kind == JWT {
		parts = append([]string{fmt.Sprintf("alg %s", clip(alg, 16))}, parts...)
	}
	return kind, strings.Join(parts, ", ")
}

// clip shortens s to at most n bytes of printable text, for details.
func clip(s string, n int) string {
	var sb strings.Builder
	for i := 0; i < len(s) && sb.Len() < n; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('?')
		}
	}
	if len(s) > n {
		sb.WriteString("...")
	}
	return sb.String()
}
