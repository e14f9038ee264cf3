package scan

import (
	"bytes"
	"strings"
)

// detectAzureStorage matches the key of an Azure storage (or Cosmos DB)
// connection string: AccountKey= followed by padded base64 of 32 to 64
// bytes (storage account keys are 64). The detail names the account
// (AccountName= up to 512 bytes before).
func detectAzureStorage(w *window) verdict {
	return azureKey(w, len("AccountKey="), AzureStorageKey, "AccountName")
}

// detectAzureShared matches SharedAccessKey= in a Service Bus, Event Hubs
// or IoT Hub connection string: padded base64 of 32 to 64 bytes (the keys
// are 32). The detail names the policy (SharedAccessKeyName=) and the
// endpoint.
func detectAzureShared(w *window) verdict {
	return azureKey(w, len("SharedAccessKey="), AzureSharedAccessKey, "Endpoint", "SharedAccessKeyName")
}

func azureKey(w *window, label int, kind Kind, names ...string) verdict {
	b, at := w.b, w.at
	if !w.boundaryBefore(at) {
		return reject
	}
	vs := at + label
	ve := run(b, vs, w.fwd(), cB64Std)
	for k := 0; k < 2; k++ {
		if c, ok := w.byteAt(ve); ok && c == '=' {
			ve++
		}
	}
	if v := w.valueEnds(ve, cB64Std); v != accept {
		return v
	}
	key, ok := decodeBase64(w.dec, b[vs:ve], false)
	if !ok || (ve-vs)%4 != 0 || len(key) < 32 || len(key) > 64 {
		return reject
	}
	var detail []string
	before := b[max(w.back(), at-512):at]
	for _, n := range names {
		if s := connField(before, n); s != "" {
			detail = append(detail, n+"="+clip(s, 96))
		}
	}
	return w.found(kind, at, ve, vs, ve, strings.Join(detail, ", "))
}

// connField returns the value of the last Name= field of a connection
// string in b.
func connField(b []byte, name string) string {
	k := bytes.LastIndex(b, []byte(name+"="))
	if k < 0 || (k > 0 && isNameChar(b[k-1])) {
		return ""
	}
	v := b[k+len(name)+1:]
	if j := bytes.IndexAny(v, ";\"' \t\r\n\x00"); j >= 0 {
		v = v[:j]
	}
	return string(v)
}
