package scan

import (
	"fmt"
	"slices"
	"strings"
)

// Kind names a class of sensitive data.
type Kind string

// The kinds, in report order.
const (
	PrivateKey           Kind = "private-key"
	GCPServiceAccountKey Kind = "gcp-service-account-key"
	KubernetesToken      Kind = "kubernetes-token"
	JWT                  Kind = "jwt"
	AWSAccessKeyID       Kind = "aws-access-key-id"
	AWSSecretAccessKey   Kind = "aws-secret-access-key"
	AzureStorageKey      Kind = "azure-storage-key"
	AzureSharedAccessKey Kind = "azure-shared-access-key"
	BearerToken          Kind = "bearer-token"
	BasicAuth            Kind = "basic-auth"
	EnvSecret            Kind = "env-secret"
	Certificate          Kind = "certificate"
)

// kinds lists every kind with what it means, in report order.
var kinds = [...]struct {
	kind Kind
	// rank breaks ties when two matches cover the same bytes: the more
	// specific one is kept (a JWT inside "Authorization: Bearer" is a JWT;
	// a key inside GCP JSON is the GCP key).
	rank int
	what string
}{
	{PrivateKey, 8, "PEM private key (RSA, EC, DSA, PKCS#8, encrypted PKCS#8, OpenSSH, PGP)"},
	{GCPServiceAccountKey, 10, `GCP service-account JSON key ("type": "service_account" with a "private_key")`},
	{KubernetesToken, 9, "Kubernetes service-account token (a JWT issued by the cluster)"},
	{JWT, 6, "other JSON Web Token"},
	{AWSAccessKeyID, 7, "AWS access key id (AKIA long-term, ASIA temporary)"},
	{AWSSecretAccessKey, 7, "AWS secret access key (40 characters after an aws_secret_access_key label)"},
	{AzureStorageKey, 7, "Azure storage account key (AccountKey= in a connection string)"},
	{AzureSharedAccessKey, 7, "Azure Service Bus / Event Hubs / IoT Hub key (SharedAccessKey= in a connection string)"},
	{BearerToken, 4, "Authorization: Bearer header"},
	{BasicAuth, 5, "Authorization: Basic header (user and password)"},
	{EnvSecret, 1, "NAME=value or a --name=value option where NAME means a secret (PASSWORD, TOKEN, SECRET, KEY, CREDENTIAL, ...)"},
	{Certificate, 8, "PEM X.509 certificate (public, listed so the matching keys can be identified)"},
}

// Kinds returns every kind, in report order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// Describe says what a kind matches.
func (k Kind) Describe() string {
	if i := k.index(); i >= 0 {
		return kinds[i].what
	}
	return ""
}

func (k Kind) index() int {
	for i := range kinds {
		if kinds[i].kind == k {
			return i
		}
	}
	return -1
}

func (k Kind) rank() int {
	if i := k.index(); i >= 0 {
		return kinds[i].rank
	}
	return 0
}

// Any names every kind in ParseKinds.
const Any = "any"

// ParseKinds reads a comma-separated list of kinds, or "any" for all of
// them. Unknown names are an error that lists the known ones.
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			continue
		case f == Any:
			return Kinds(), nil
		case Kind(f).index() < 0:
			names := make([]string, 0, len(kinds)+1)
			for _, k := range Kinds() {
				names = append(names, string(k))
			}
			return nil, fmt.Errorf("unknown kind %q (want %s, or %s)", f, strings.Join(names, ", "), Any)
		case !slices.Contains(out, Kind(f)):
			out = append(out, Kind(f))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no kinds given (want a comma-separated list, or %s)", Any)
	}
	return out, nil
}
