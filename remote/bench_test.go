package remote_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/storetest"
	"github.com/ckpt-dev/ckpt/remote"
)

// benchSet is a sealed set of CKPT_BENCH_SIZE (default 1 GiB) of random
// plaintext, cached in the bench directory.
func benchSet(b *testing.B) (string, int64) {
	size := benchutil.Size(b, "CKPT_BENCH_SIZE", 1<<30)
	dir := filepath.Join(benchutil.Dir(b), "transfer")
	os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, "checkpoint-bench_default-app-2026-12-06T22:00:00Z-"+sizeName(size)+".tar.age")
	if st, err := os.Stat(path + seal.ManifestSuffix); err == nil && st.Size() > 0 {
		st, _ := os.Stat(path)
		return path, st.Size()
	}
	plain := filepath.Join(dir, "plain.tar")
	f, err := os.Create(plain)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{1}), size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	defer os.Remove(plain)
	key, _ := keys.Generate(false, testIdentity.Checkpointed)
	rcpt, _ := keys.ParseRecipient(key.Recipient)
	os.Remove(path)
	if _, err := seal.File(context.Background(), path, plain, seal.Options{Recipients: []keys.Recipient{rcpt}, Overwrite: true}); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	return path, st.Size()
}

func sizeName(n int64) string {
	if n%(1<<30) == 0 {
		return strconv.FormatInt(n>>30, 10) + "GiB"
	}
	return strconv.FormatInt(n>>20, 10) + "MiB"
}

// benchMinIO starts MinIO with its drive in the bench directory (1 GiB
// objects do not belong in a small /tmp) and sets the AWS environment.
func benchMinIO(b *testing.B) *storetest.MinIO {
	m := storetest.StartMinIO(b)
	m.MakeBucket("bench")
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	return m
}

// BenchmarkPush compares `ckpt push` of a sealed set to a local MinIO with
// curl PUTting the same file (SigV4, unsigned payload): push sends the
// sealed SHA-256 as x-amz-checksum-sha256 and does not read the file to
// hash it, so it should cost what the PUT costs.
func BenchmarkPush(b *testing.B) {
	set, size := benchSet(b)
	m := benchMinIO(b)
	bin := benchutil.Binary(b, "..")
	b.Run("ckpt", func(b *testing.B) {
		benchutil.Measure(b, size, bin, "push", set, "s3://bench/ckpt/")
	})
	b.Run("curl", func(b *testing.B) {
		benchutil.Measure(b, size, "curl", curlPut(m, set, "bench/curl/"+strings.ReplaceAll(filepath.Base(set), ":", "%3A"))...)
	})
}

// BenchmarkPull compares `ckpt pull` (download, hashed as it is written,
// then verified) with curl downloading and sha256sum hashing the file.
func BenchmarkPull(b *testing.B) {
	set, size := benchSet(b)
	m := benchMinIO(b)
	bin := benchutil.Binary(b, "..")
	if _, err := remote.Upload(context.Background(), "s3://bench/p/", set, remote.Options{}); err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	b.Run("ckpt", func(b *testing.B) {
		benchutil.Measure(b, size, bin, "pull", "--force", "s3://bench/p/"+filepath.Base(set), out)
	})
	b.Run("curl+sha256sum", func(b *testing.B) {
		script := `curl -sSf --aws-sigv4 aws:amz:us-east-1:s3 --user "$1" -o "$2" "$3" && sha256sum "$2" >/dev/null`
		benchutil.Measure(b, size, "sh", "-c", script, "sh", m.AccessKey+":"+m.SecretKey, filepath.Join(out, "curl.age"), m.Endpoint()+"/bench/p/"+strings.ReplaceAll(filepath.Base(set), ":", "%3A"))
	})
}

// curlPut is curl's arguments to PUT file at key, which must be
// percent-encoded: curl signs the path as written, S3 signs it encoded.
func curlPut(m *storetest.MinIO, file, key string) []string {
	return []string{"-sSf", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", m.AccessKey + ":" + m.SecretKey, "-T", file, m.Endpoint() + "/" + key}
}
