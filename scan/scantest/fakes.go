// Package scantest provides fake secrets of every kind the scan package
// finds, for tests and benchmarks. Every value is obviously fake (FAKE,
// fake, a key from a published all-constant seed) and built at run time,
// so that no secret scanner mistakes this repository for a leak.
package scantest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/scan"
)

// Fake is one planted secret.
type Fake struct {
	Kind scan.Kind
	// Text is what to plant. The match starts at Text[Start:]; Value is
	// the value a scan reports; Detail the detail it gives.
	Text   string
	Start  int
	Value  string
	Detail string
}

// ValueAt is where Value starts in Text: where a scan locates the fake
// (its address and offset), whatever label comes before it.
func (f Fake) ValueAt() int { return strings.Index(f.Text, f.Value) }

// Fakes returns one fake of every kind, in kind order. The same call
// always returns the same bytes.
func Fakes() []Fake {
	sshKey := ed25519.NewKeyFromSeed([]byte("ckpt-FAKE-openssh-key-seed-0001!"))
	gcpKey := ed25519.NewKeyFromSeed([]byte("ckpt-FAKE-gcp-sa-key-seed--0001!"))
	certKey := ed25519.NewKeyFromSeed([]byte("ckpt-FAKE-certificate-seed-0001!"))

	ssh := string(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: OpenSSHKey(sshKey, "fake@ckpt-test")}))
	ssh = strings.TrimSuffix(ssh, "\n")

	gcpPEM := PKCS8PEM(gcpKey)
	gcpValue := strings.ReplaceAll(gcpPEM, "\n", `\n`)
	gcp := `{"type": "service_account", "project_id": "fake-project", "private_key_id": "0000fake0000fake", "private_key": "` +
		gcpValue + `", "client_email": "fake@fake-project.iam.gserviceaccount.com"}`

	k8s := JWT(`{"alg":"RS256","kid":"fake"}`, `{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"default","sub":"system:serviceaccount:default:fake"}`)
	jwt := JWT(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"fake-user","iss":"ckpt-test","exp":1893456000}`)

	awsID := "AKIA" + strings.Repeat("FAKE", 4)
	awsSecret := strings.Repeat("fakeFAKE", 4) + "fake/K3y"
	azureKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("FAKE"), 16))
	azureSAS := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("fake"), 8))
	basic := base64.StdEncoding.EncodeToString([]byte("fakeuser:fakepassword"))
	cert := strings.TrimSuffix(CertificatePEM(certKey, "ckpt FAKE test certificate"), "\n")

	return []Fake{
		{Kind: scan.PrivateKey, Text: ssh, Value: ssh, Detail: "OpenSSH ssh-ed25519"},
		{Kind: scan.GCPServiceAccountKey, Text: gcp, Start: strings.Index(gcp, `"private_key"`), Value: gcpValue,
			Detail: "client_email fake@fake-project.iam.gserviceaccount.com, private_key_id 0000fake0000fake"},
		{Kind: scan.KubernetesToken, Text: k8s, Value: k8s, Detail: "sub system:serviceaccount:default:fake, iss kubernetes/serviceaccount"},
		{Kind: scan.JWT, Text: jwt, Value: jwt, Detail: "alg HS256, sub fake-user, iss ckpt-test, expires 2030-01-01T00:00:00Z"},
		{Kind: scan.AWSAccessKeyID, Text: awsID, Value: awsID, Detail: "long-term (IAM user) key"},
		{Kind: scan.AWSSecretAccessKey, Text: "aws_secret_access_key = " + awsSecret, Value: awsSecret, Detail: "aws_secret_access_key"},
		{Kind: scan.AzureStorageKey, Text: "DefaultEndpointsProtocol=https;AccountName=fakeaccount;AccountKey=" + azureKey + ";EndpointSuffix=core.windows.net",
			Start: len("DefaultEndpointsProtocol=https;AccountName=fakeaccount;"), Value: azureKey, Detail: "AccountName=fakeaccount"},
		{Kind: scan.AzureSharedAccessKey, Text: "Endpoint=sb://fake.servicebus.windows.net/;SharedAccessKeyName=FakePolicy;SharedAccessKey=" + azureSAS,
			Start: len("Endpoint=sb://fake.servicebus.windows.net/;SharedAccessKeyName=FakePolicy;"), Value: azureSAS,
			Detail: "Endpoint=sb://fake.servicebus.windows.net/, SharedAccessKeyName=FakePolicy"},
		{Kind: scan.BearerToken, Text: "Authorization: Bearer fake-bearer-token-0123456789", Value: "fake-bearer-token-0123456789"},
		{Kind: scan.BasicAuth, Text: "Authorization: Basic " + basic, Value: basic, Detail: "user fakeuser"},
		{Kind: scan.EnvSecret, Text: "DB_PASSWORD=fake-db-password-42", Value: "fake-db-password-42", Detail: "DB_PASSWORD"},
		{Kind: scan.Certificate, Text: cert, Value: cert, Detail: "subject CN=ckpt FAKE test certificate, expires 2036-01-01T00:00:00Z"},
	}
}

// Blob joins the texts of fakes, each on its own line, and returns where
// each one's match starts in it.
func Blob(fakes []Fake) ([]byte, []int) {
	var b bytes.Buffer
	starts := make([]int, len(fakes))
	for i, f := range fakes {
		b.WriteString("\n")
		starts[i] = b.Len() + f.Start
		b.WriteString(f.Text)
		b.WriteString("\n")
	}
	return b.Bytes(), starts
}

// JWT returns a token with the given header and claims and a fake
// signature.
func JWT(header, claims string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString([]byte("FAKE-signature-FAKE-signature"))
}

// PKCS8PEM encodes an Ed25519 key as a "PRIVATE KEY" PEM block.
func PKCS8PEM(k ed25519.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// ECPEM returns an "EC PRIVATE KEY" PEM block of a P-256 key made from a
// fixed scalar.
func ECPEM() string {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{0x0f}, 32))
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// CertificatePEM returns a self-signed certificate for cn, valid from 2026
// to 2036.
func CertificatePEM(k ed25519.PrivateKey, cn string) string {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, k.Public(), k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// OpenSSHKey encodes an Ed25519 key in OpenSSH's private key format
// (PROTOCOL.key), unencrypted, with fixed check integers so that the
// bytes are the same every time.
func OpenSSHKey(k ed25519.PrivateKey, comment string) []byte {
	str := func(b *bytes.Buffer, s []byte) {
		binary.Write(b, binary.BigEndian, uint32(len(s)))
		b.Write(s)
	}
	var pub bytes.Buffer
	str(&pub, []byte("ssh-ed25519"))
	str(&pub, k.Public().(ed25519.PublicKey))
	var priv bytes.Buffer
	binary.Write(&priv, binary.BigEndian, uint32(0xfa4efa4e))
	binary.Write(&priv, binary.BigEndian, uint32(0xfa4efa4e))
	str(&priv, []byte("ssh-ed25519"))
	str(&priv, k.Public().(ed25519.PublicKey))
	str(&priv, k)
	str(&priv, []byte(comment))
	for i := byte(1); priv.Len()%8 != 0; i++ {
		priv.WriteByte(i)
	}
	var out bytes.Buffer
	out.WriteString("openssh-key-v1\x00")
	str(&out, []byte("none"))
	str(&out, []byte("none"))
	str(&out, nil)
	binary.Write(&out, binary.BigEndian, uint32(1))
	str(&out, pub.Bytes())
	str(&out, priv.Bytes())
	return out.Bytes()
}
