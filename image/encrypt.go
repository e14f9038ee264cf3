package image

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ckpt-dev/ckpt/archive"

	"github.com/ckpt-dev/ckpt/internal/countio"
)

// MediaTypeEncryptedLayer is ocicrypt's type of an encrypted uncompressed
// layer, which CRI-O (through containers/image) decrypts at pull with the
// keys in its decryption_keys_path.
const MediaTypeEncryptedLayer = "application/vnd.oci.image.layer.v1.tar+encrypted"

// The layer encryption is ocicrypt's, written here on go-jose: its block
// cipher and JWE key wrapper are small, while importing ocicrypt brings
// PKCS#11 through cgo (and so external linking) and OpenPGP into the one
// binary every ckpt command pages in at start.
const (
	annotationJWEKeys = "org.opencontainers.image.enc.keys.jwe"
	annotationPubOpts = "org.opencontainers.image.enc.pubopts"
	// cipherAES256CTR is ocicrypt's only layer cipher: AES-256-CTR with
	// an HMAC-SHA256 of the ciphertext under the same key.
	cipherAES256CTR = "AES_256_CTR_HMAC_SHA256"
)

// Encryption encrypts the layer for JWE recipients (RSA or EC public keys,
// PEM or JWK), as `skopeo copy --encryption-key jwe:KEY` does.
type Encryption struct {
	recipients []jose.Recipient
}

// NewJWE returns the encryption of a layer to the given public keys: DER
// or PEM PKIX keys, or public JWKs.
func NewJWE(publicKeys [][]byte) (*Encryption, error) {
	if len(publicKeys) == 0 {
		return nil, errors.New("no public key to encrypt the layer to")
	}
	enc := &Encryption{}
	for i, k := range publicKeys {
		r, err := jweRecipient(k)
		if err != nil {
			return nil, fmt.Errorf("public key %d: %w", i+1, err)
		}
		enc.recipients = append(enc.recipients, r)
	}
	return enc, nil
}

// jweRecipient picks the key algorithm as ocicrypt does: RSA-OAEP for RSA,
// ECDH-ES+A256KW for EC, or the JWK's own "alg" among those ocicrypt
// decrypts.
func jweRecipient(data []byte) (jose.Recipient, error) {
	der := data
	if b, _ := pem.Decode(data); b != nil {
		der = b.Bytes
	}
	if key, err := x509.ParsePKIXPublicKey(der); err == nil {
		switch key.(type) {
		case *ecdsa.PublicKey:
			return jose.Recipient{Algorithm: jose.ECDH_ES_A256KW, Key: key}, nil
		default:
			return jose.Recipient{Algorithm: jose.RSA_OAEP, Key: key}, nil
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		return jose.Recipient{}, errors.New("neither a PKIX public key (PEM or DER) nor a JWK")
	}
	if !jwk.IsPublic() {
		return jose.Recipient{}, errors.New("the JWK is not a public key")
	}
	alg := jose.KeyAlgorithm(jwk.Algorithm)
	switch alg {
	case "":
		alg = jose.RSA_OAEP
		if _, ok := jwk.Key.(*ecdsa.PublicKey); ok {
			alg = jose.ECDH_ES_A256KW
		}
	case jose.RSA_OAEP, jose.RSA_OAEP_256, jose.ECDH_ES_A128KW, jose.ECDH_ES_A192KW, jose.ECDH_ES_A256KW:
	default:
		return jose.Recipient{}, fmt.Errorf("JWE key algorithm %s is not one ocicrypt decrypts", alg)
	}
	return jose.Recipient{Algorithm: alg, Key: &jwk}, nil
}

// privateOptions and publicOptions are ocicrypt's LayerBlockCipherOptions
// halves, in its JSON: the private half is wrapped to the recipients, the
// public one is an annotation.
type privateOptions struct {
	SymmetricKey  []byte            `json:"symkey"`
	Digest        string            `json:"digest"`
	CipherOptions map[string][]byte `json:"cipheroptions"`
}

type publicOptions struct {
	Cipher        string            `json:"cipher"`
	HMAC          []byte            `json:"hmac"`
	CipherOptions map[string][]byte `json:"cipheroptions"`
}

// encryptedLayer is what writeEncrypted wrote: the plaintext layer (for
// the config's diff ID) and the encrypted blob with its annotations.
type encryptedLayer struct {
	plain       *Layer
	sha256      [sha256.Size]byte
	size        int64
	annotations map[string]string
}

// ctrWriter encrypts what is written to it into w and MACs the ciphertext.
type ctrWriter struct {
	w      io.Writer
	stream cipher.Stream
	mac    hash.Hash
	buf    []byte
}

func (c *ctrWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), len(c.buf))]
		out := c.buf[:len(chunk)]
		c.stream.XORKeyStream(out, chunk)
		c.mac.Write(out)
		if _, err := c.w.Write(out); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// writeEncrypted walks a once, encrypting the layer as it is written to w.
// The plaintext digest goes into the wrapped options, so the keys are
// wrapped only once the layer is written.
func writeEncrypted(a *archive.Archive, w io.Writer, enc *Encryption) (*encryptedLayer, error) {
	key := make([]byte, 32)
	nonce := make([]byte, aes.BlockSize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	hash := sha256.New()
	cw := &countio.Writer{W: io.MultiWriter(w, hash)}
	ctr := &ctrWriter{w: cw, stream: cipher.NewCTR(block, nonce), mac: hmac.New(sha256.New, key), buf: make([]byte, 32<<10)}
	l, err := WriteLayer(a, ctr)
	if err != nil {
		return nil, err
	}
	priv, err := json.Marshal(privateOptions{SymmetricKey: key, Digest: "sha256:" + hex.EncodeToString(l.SHA256[:]),
		CipherOptions: map[string][]byte{"nonce": nonce}})
	if err != nil {
		return nil, err
	}
	pub, err := json.Marshal(publicOptions{Cipher: cipherAES256CTR, HMAC: ctr.mac.Sum(nil), CipherOptions: map[string][]byte{}})
	if err != nil {
		return nil, err
	}
	encrypter, err := jose.NewMultiEncrypter(jose.A256GCM, enc.recipients, nil)
	if err != nil {
		return nil, fmt.Errorf("wrapping the layer key: %w", err)
	}
	obj, err := encrypter.Encrypt(priv)
	if err != nil {
		return nil, fmt.Errorf("wrapping the layer key: %w", err)
	}
	el := &encryptedLayer{plain: l, size: cw.N, annotations: map[string]string{
		annotationJWEKeys: base64.StdEncoding.EncodeToString([]byte(obj.FullSerialize())),
		annotationPubOpts: base64.StdEncoding.EncodeToString(pub),
	}}
	hash.Sum(el.sha256[:0])
	return el, nil
}
