package image_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/image"
	"github.com/ckpt-dev/ckpt/internal/storetest"
	"github.com/ckpt-dev/ckpt/internal/tartest"
)

const simple = "checkpoint-simple-6b8c9d7f4-x2x7q_default-simple-2026-11-28T22:28:05Z.tar"

func fixture(name string) string { return filepath.Join("..", "testdata", "fixtures", name) }

func open(t *testing.T, path string, d archive.Decrypter) *archive.Archive {
	t.Helper()
	a, err := archive.Open(path, archive.Options{Decrypter: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// entries lists a tar's members with the SHA-256 of their data.
func entries(t *testing.T, r io.Reader) map[string][sha256.Size]byte {
	t.Helper()
	ms, err := tartest.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][sha256.Size]byte{}
	for _, m := range ms {
		out[strings.TrimSuffix(strings.TrimPrefix(m.Name, "./"), "/")] = sha256.Sum256(m.Body)
	}
	return out
}

var wantAnnotations = map[string]string{
	"io.kubernetes.cri-o.annotations.checkpoint.name": "simple",
	"org.criu.checkpoint.container.name":              "simple",
	"org.criu.checkpoint.pod.name":                    "simple-6b8c9d7f4-x2x7q",
	"org.criu.checkpoint.pod.namespace":               "default",
	"org.criu.checkpoint.engine.name":                 "CRI-O",
	"org.criu.checkpoint.runtime.name":                "runc",
	"org.criu.checkpoint.criu.version":                "4.2",
	"org.criu.checkpoint.rootfsImageName":             "localhost/ckpt-fixtures/simple:latest",
}

func checkAnnotations(t *testing.T, got map[string]string) {
	t.Helper()
	for k, v := range wantAnnotations {
		if got[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, got[k], v)
		}
	}
}

// TestLayout builds into an OCI layout and checks, with skopeo, the
// manifest annotations, and that the layer holds exactly the archive's
// files; a sealed copy of the archive gives the same layer, byte for byte.
func TestLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	res, err := image.Build(context.Background(), open(t, fixture(simple), nil), "oci-layout:"+dir+":simple", image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkAnnotations(t, res.Annotations)
	raw := storetest.Skopeo(t, "inspect", "--raw", "oci:"+dir+":simple")
	var m struct {
		Annotations map[string]string `json:"annotations"`
		Layers      []struct {
			Digest string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	checkAnnotations(t, m.Annotations)
	if len(m.Layers) != 1 || m.Layers[0].Digest != res.LayerDigest {
		t.Fatalf("layers %+v, want one, %s", m.Layers, res.LayerDigest)
	}
	layer, err := os.Open(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(res.LayerDigest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	defer layer.Close()
	src, _ := os.Open(fixture(simple))
	defer src.Close()
	got, want := entries(t, layer), entries(t, src)
	if len(got) != len(want) {
		t.Fatalf("layer has %d entries, the archive %d", len(got), len(want))
	}
	for n, h := range want {
		if got[n] != h {
			t.Errorf("layer entry %s differs from the archive's", n)
		}
	}

	// The same archive sealed, read with its key: the same layer.
	key, _ := keys.Generate(false, time.Now())
	rcpt, _ := keys.ParseRecipient(key.Recipient)
	sealed := filepath.Join(t.TempDir(), simple+".age")
	if _, err := seal.File(context.Background(), sealed, fixture(simple), seal.Options{Recipients: []keys.Recipient{rcpt}}); err != nil {
		t.Fatal(err)
	}
	id, _ := age.ParseX25519Identity(key.Identity)
	res2, err := image.Build(context.Background(), open(t, sealed, seal.NewDecrypter(id)), "oci-layout:"+dir+":sealed", image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.LayerDigest != res.LayerDigest || res2.Digest != res.Digest {
		t.Errorf("sealed archive: layer %s manifest %s; plain: %s %s", res2.LayerDigest, res2.Digest, res.LayerDigest, res.Digest)
	}
}

// TestCompressedPodman builds from a zstd-compressed Podman archive (a
// sequential stream): one pass, Podman's identity.
func TestCompressedPodman(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	res, err := image.Build(context.Background(), open(t, fixture("podman-simple.tar.zst"), nil), "oci-layout:"+dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Annotations["org.criu.checkpoint.engine.name"] != archive.EnginePodman || res.Annotations[image.AnnotationCRIOCheckpointName] == "" {
		t.Errorf("annotations %v", res.Annotations)
	}
	storetest.Skopeo(t, "inspect", "oci:"+dir)
}

func TestDockerArchive(t *testing.T) {
	file := filepath.Join(t.TempDir(), "img.tar")
	if _, err := image.Build(context.Background(), open(t, fixture(simple), nil), "docker-archive:"+file+":example.com/restore/simple:v1", image.Options{}); err != nil {
		t.Fatal(err)
	}
	var info struct {
		RepoTags []string
		Labels   map[string]string
	}
	if err := json.Unmarshal(storetest.Skopeo(t, "inspect", "docker-archive:"+file), &info); err != nil {
		t.Fatal(err)
	}
	checkAnnotations(t, info.Labels)
	// An existing file is not replaced without Overwrite.
	if _, err := image.Build(context.Background(), open(t, fixture(simple), nil), "docker-archive:"+file, image.Options{}); err == nil {
		t.Error("an existing docker-archive was overwritten")
	}
}

// TestRegistry pushes to a real registry with basic auth and checks it
// with skopeo.
func TestRegistry(t *testing.T) {
	reg := storetest.StartRegistry(t, true)
	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, reg.User, reg.Password))
	ref := reg.Addr + "/restore/simple:v1"
	res, err := image.Build(context.Background(), open(t, fixture(simple), nil), ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw := storetest.Skopeo(t, "inspect", "--raw", "--tls-verify=false", "--creds", reg.User+":"+reg.Password, "docker://"+ref)
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	checkAnnotations(t, m.Annotations)
	if d := sha256.Sum256(bytes.TrimSpace(raw)); "sha256:"+hex.EncodeToString(d[:]) != res.Digest {
		t.Errorf("manifest digest %x, build said %s", d, res.Digest)
	}
}

// TestEncryptedLayout encrypts the layer to an RSA key with ocicrypt's JWE
// scheme; skopeo (which decrypts with ocicrypt, as CRI-O does) turns it
// back into the plaintext layer with the private key, and fails without it.
func TestEncryptedLayout(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	privFile := filepath.Join(t.TempDir(), "priv.pem")
	os.WriteFile(privFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}), 0o600)
	// A second recipient with an EC key, which takes ECDH-ES+A256KW
	// (PKCS#8: ocicrypt does not read SEC 1 "EC PRIVATE KEY" files).
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, _ := x509.MarshalPKIXPublicKey(&ecPriv.PublicKey)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecPriv)
	ecFile := filepath.Join(t.TempDir(), "ec.pem")
	os.WriteFile(ecFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), 0o600)
	enc, err := image.NewJWE([][]byte{pubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPub})})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "enc")
	res, err := image.Build(context.Background(), open(t, fixture(simple), nil), "oci-layout:"+dir+":simple", image.Options{Encrypt: enc})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := image.Build(context.Background(), open(t, fixture(simple), nil), "oci-layout:"+t.TempDir()+"/plain", image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(res.LayerDigest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte("config.dump")) {
		t.Fatal("the encrypted layer holds plaintext file names")
	}
	raw := storetest.Skopeo(t, "inspect", "--raw", "oci:"+dir+":simple")
	if !bytes.Contains(raw, []byte(image.MediaTypeEncryptedLayer)) || !bytes.Contains(raw, []byte("org.opencontainers.image.enc.keys.jwe")) {
		t.Fatalf("manifest: %s", raw)
	}
	for _, key := range []string{ecFile, privFile} {
		dec := filepath.Join(t.TempDir(), "dec")
		storetest.Skopeo(t, "copy", "--decryption-key", key, "oci:"+dir+":simple", "oci:"+dec+":simple")
		checkDecrypted(t, dec, plain.LayerDigest)
	}
	// Without the key skopeo cannot decrypt (it copies the layer still
	// encrypted, or refuses); either way no plaintext comes out.
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("skopeo", "copy", "--decryption-key", privFile+".missing", "oci:"+dir+":simple", "oci:"+other+":simple").CombinedOutput(); err == nil {
		t.Errorf("skopeo decrypted without the key: %s", out)
	}
}

// checkDecrypted compares the layer skopeo decrypted into the layout dec
// with the plaintext layer's digest.
func checkDecrypted(t *testing.T, dec, want string) {
	t.Helper()
	var m struct {
		Layers []struct {
			Digest    string `json:"digest"`
			MediaType string `json:"mediaType"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(storetest.Skopeo(t, "inspect", "--raw", "oci:"+dec+":simple"), &m); err != nil {
		t.Fatal(err)
	}
	// skopeo may recompress; compare the decrypted layer's content.
	f, err := os.Open(filepath.Join(dec, "blobs", "sha256", strings.TrimPrefix(m.Layers[0].Digest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(m.Layers[0].MediaType, "gzip") {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.New()
	io.Copy(h, r)
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("decrypted layer %s, plaintext layer %s", got, want)
	}
}
