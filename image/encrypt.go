package image

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/containers/ocicrypt/blockcipher"
	"github.com/containers/ocicrypt/config"
	"github.com/containers/ocicrypt/keywrap/jwe"
	"github.com/opencontainers/go-digest"

	"github.com/ckpt-dev/ckpt/archive"
)

// MediaTypeEncryptedLayer is ocicrypt's type of an encrypted uncompressed
// layer, which CRI-O (through containers/image) decrypts at pull with the
// keys in its decryption_keys_path.
const MediaTypeEncryptedLayer = "application/vnd.oci.image.layer.v1.tar+encrypted"

// Encryption encrypts the layer for JWE recipients (RSA or EC public keys,
// PEM or JWK), as `skopeo copy --encryption-key jwe:KEY` does.
type Encryption struct {
	ec *config.EncryptConfig
}

// NewJWE returns the encryption of a layer to the given public keys.
func NewJWE(publicKeys [][]byte) (*Encryption, error) {
	if len(publicKeys) == 0 {
		return nil, errors.New("no public key to encrypt the layer to")
	}
	cc, err := config.EncryptWithJwe(publicKeys)
	if err != nil {
		return nil, err
	}
	return &Encryption{ec: cc.EncryptConfig}, nil
}

// encryptedLayer is what writeEncrypted wrote: the plaintext layer (for
// the config's diff ID) and the encrypted blob with its annotations.
type encryptedLayer struct {
	plain       *Layer
	sha256      [sha256.Size]byte
	size        int64
	annotations map[string]string
}

// writeEncrypted walks a once, encrypting the layer as it is written to w.
// ocicrypt's EncryptLayer wants the plaintext digest before the data; in
// one pass it is known only at the end, so the block cipher is driven here
// and the digest put into the options before the keys are wrapped, which is
// what EncryptLayer's finalizer does.
func writeEncrypted(a *archive.Archive, w io.Writer, enc *Encryption) (*encryptedLayer, error) {
	h, err := blockcipher.NewLayerBlockCipherHandler()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	encReader, fin, err := h.Encrypt(pr, blockcipher.AES256CTR)
	if err != nil {
		return nil, err
	}
	type walked struct {
		l   *Layer
		err error
	}
	done := make(chan walked, 1)
	go func() {
		l, err := WriteLayer(a, pw)
		pw.CloseWithError(err)
		done <- walked{l, err}
	}()
	hash := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, hash)}
	_, cerr := io.Copy(cw, encReader)
	pr.CloseWithError(errors.New("encryption stopped"))
	wk := <-done
	if wk.err != nil {
		return nil, wk.err
	}
	if cerr != nil {
		return nil, cerr
	}
	opts, err := fin()
	if err != nil {
		return nil, err
	}
	opts.Private.Digest = digest.NewDigestFromBytes(digest.SHA256, wk.l.SHA256[:])
	priv, err := json.Marshal(opts.Private)
	if err != nil {
		return nil, err
	}
	pub, err := json.Marshal(opts.Public)
	if err != nil {
		return nil, err
	}
	// The JWE wrapper alone: ocicrypt's root package registers every key
	// wrapper, which brings gRPC (keyprovider), OpenPGP and PKCS#11 into
	// the binary that every ckpt command pages in.
	kw := jwe.NewKeyWrapper()
	wrapped, err := kw.WrapKeys(enc.ec, priv)
	if err != nil {
		return nil, fmt.Errorf("wrapping the layer key: %w", err)
	}
	l := &encryptedLayer{plain: wk.l, size: cw.n, annotations: map[string]string{
		kw.GetAnnotationID():                   base64.StdEncoding.EncodeToString(wrapped),
		"org.opencontainers.image.enc.pubopts": base64.StdEncoding.EncodeToString(pub),
	}}
	hash.Sum(l.sha256[:0])
	return l, nil
}
