// Package kubetest runs, on 127.0.0.1, a kubelet and an API server that
// answer the checkpoint API as the real ones do, for the kube package's and
// the CLI's tests. No cluster can run where the tests run; these servers
// follow the contracts in the Kubernetes source instead:
//
//   - pkg/kubelet/server/server.go: the checkpoint handler (its JSON
//     answer, its 404 and 500 texts, the timeout parameter rules) and the
//     authentication filter (401 "Unauthorized", 403 "Forbidden (user=…,
//     verb=create, resource=nodes, subresource(s)=[checkpoint])");
//   - pkg/kubelet/server/auth.go: /checkpoint is authorized as create on
//     the nodes/checkpoint subresource;
//   - go-restful's container dispatch: a path no web service serves (the
//     checkpoint service is only installed with the ContainerCheckpoint
//     feature gate) answers "404: Page Not Found";
//   - pkg/registry/core/node/rest/proxy.go: POST
//     /api/v1/nodes/{node}/proxy/{path} is authorized as create on
//     nodes/proxy and passes the kubelet's status and body through;
//   - staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters:
//     API server errors are metav1.Status objects.
package kubetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority minted for one test.
type CA struct {
	Cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	CertPEM []byte
}

// NewCA makes a self-signed CA called name.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Pair is a certificate and its key, PEM-encoded.
type Pair struct {
	CertPEM, KeyPEM []byte
}

// Client issues a client certificate for user in groups, as the kubelet's
// x509 authenticator reads them: CN is the user, O the groups.
func (ca *CA) Client(user string, groups ...string) (Pair, error) {
	return ca.issue(pkix.Name{CommonName: user, Organization: groups}, x509.ExtKeyUsageClientAuth, nil)
}

// Server issues a serving certificate for hosts (names or IPs).
func (ca *CA) Server(hosts ...string) (Pair, error) {
	return ca.issue(pkix.Name{CommonName: hosts[0]}, x509.ExtKeyUsageServerAuth, hosts)
}

func (ca *CA) issue(subject pkix.Name, usage x509.ExtKeyUsage, hosts []string) (Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return Pair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return Pair{}, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Pair{}, err
	}
	return Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, nil
}

// Write stores the pair as dir/name.crt and dir/name.key (0600) and returns
// the two paths.
func (p Pair) Write(dir, name string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err = os.WriteFile(certFile, p.CertPEM, 0o600); err != nil {
		return
	}
	err = os.WriteFile(keyFile, p.KeyPEM, 0o600)
	return
}

// WriteCA stores the CA certificate as dir/name.crt.
func (ca *CA) WriteCA(dir, name string) (string, error) {
	f := filepath.Join(dir, name+".crt")
	return f, os.WriteFile(f, ca.CertPEM, 0o600)
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
