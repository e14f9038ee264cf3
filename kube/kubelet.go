package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// KubeletConfig says how to reach one kubelet directly.
type KubeletConfig struct {
	// URL is https://HOST:10250.
	URL string
	// CertFile and KeyFile are a client certificate the kubelet's
	// --client-ca-file signed; TokenFile holds a bearer token instead.
	CertFile, KeyFile string
	TokenFile         string
	// CAFile verifies the kubelet's serving certificate; empty means the
	// system roots.
	CAFile string
}

// Kubelet is a client of one kubelet's checkpoint API.
type Kubelet struct {
	cfg   KubeletConfig
	base  *url.URL
	http  *http.Client
	token string
	creds string
}

// NewKubelet reads the credentials in cfg.
func NewKubelet(cfg KubeletConfig) (*Kubelet, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("kubelet URL %q: want https://HOST:PORT", cfg.URL)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	k := &Kubelet{cfg: cfg, base: u, creds: "no credentials"}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", cfg.CAFile)
		}
	}
	switch {
	case cfg.CertFile != "" || cfg.KeyFile != "":
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, fmt.Errorf("a client certificate needs both the certificate and the key file")
		}
		c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", cfg.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{c}
		k.creds = "client certificate " + cfg.CertFile + describeCert(c)
	}
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		k.token = strings.TrimSpace(string(b))
		if k.token == "" {
			return nil, fmt.Errorf("token file %s is empty", cfg.TokenFile)
		}
		if len(tc.Certificates) > 0 {
			k.creds += " and the token in " + cfg.TokenFile
		} else {
			k.creds = "the token in " + cfg.TokenFile
		}
	}
	k.http = &http.Client{Transport: &http.Transport{
		TLSClientConfig:     tc,
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: 10 * time.Second,
	}}
	return k, nil
}

// describeCert names a certificate's subject as the kubelet reads it.
func describeCert(c tls.Certificate) string {
	if len(c.Certificate) == 0 {
		return ""
	}
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return ""
	}
	s := " (user " + x.Subject.CommonName
	if len(x.Subject.Organization) > 0 {
		s += ", groups " + strings.Join(x.Subject.Organization, ",")
	}
	return s + ")"
}

// Checkpoint asks the kubelet to checkpoint req's container, which must be
// named: the kubelet alone cannot tell which container to take.
func (k *Kubelet) Checkpoint(ctx context.Context, req Request) (*Result, error) {
	if req.Container == "" {
		return nil, &Error{Kind: Ambiguous, Endpoint: k.cfg.URL,
			Detail: "straight to a kubelet the container must be named (NAMESPACE/POD/CONTAINER)"}
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout+requestGrace)
		defer cancel()
	}
	endpoint := strings.TrimSuffix(k.base.String(), "/") + "/" + req.path()
	start := time.Now()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, err
	}
	if k.token != "" {
		hr.Header.Set("Authorization", "Bearer "+k.token)
	}
	resp, err := k.http.Do(hr)
	if err != nil {
		return nil, transportError(err, k.cfg.URL, k.base.Hostname(), k.cfg.CAFile)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, transportError(err, k.cfg.URL, k.base.Hostname(), k.cfg.CAFile)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, classify(answer{status: resp.StatusCode, body: body, endpoint: k.cfg.URL, credentials: k.creds, req: req})
	}
	items, err := parseItems(body)
	if err != nil {
		return nil, err
	}
	return &Result{Node: k.base.Hostname(), Namespace: req.Namespace, Pod: req.Pod, Container: req.Container,
		Archive: items[0], Archives: items, Via: "kubelet", Duration: time.Since(start)}, nil
}

// requestGrace is how much longer than the kubelet's timeout a request may
// take: the kubelet answers after the runtime gives up, not before.
const requestGrace = 15 * time.Second
