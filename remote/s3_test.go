package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/storetest"
	"github.com/ckpt-dev/ckpt/remote"
)

// minio starts MinIO with a bucket and points the AWS environment at it.
func minio(t *testing.T, bucket string) *storetest.MinIO {
	t.Helper()
	m := storetest.StartMinIO(t)
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if bucket != "" {
		m.MakeBucket(bucket)
	}
	return m
}

// TestS3RoundTrip pushes a signed set with a kubelet name to MinIO and
// checks what any S3 client sees: the keys with their colons, the sealed
// SHA-256 as the object's checksum, the identity in the metadata; then lists
// and pulls it back verified.
func TestS3RoundTrip(t *testing.T) {
	m := minio(t, "checkpoints")
	ctx := context.Background()
	path, allowed := sealedSet(t, t.TempDir(), kubeletName, 200<<10)
	e, err := remote.Upload(ctx, "s3://checkpoints/node1/", path, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(path)
	if e.Location != "s3://checkpoints/node1/"+name || !e.Signed || !reflect.DeepEqual(e.Manifest.Identity, testIdentity) {
		t.Fatalf("entry %+v", e)
	}

	c := m.Client()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("checkpoints")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, *o.Key)
	}
	want := []string{"node1/" + name, "node1/" + name + ".json", "node1/" + name + ".json.sig", "node1/" + name + ".sha256"}
	if len(keys) != len(want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("keys %q, want %q", keys, want)
		}
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("checkpoints"), Key: aws.String("node1/" + name), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	if got := aws.ToString(head.ChecksumSHA256); got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("stored x-amz-checksum-sha256 %q, want the sealed file's", got)
	}
	for k, v := range map[string]string{"ckpt-namespace": "prod", "ckpt-pod": "web-7d9c", "ckpt-container": "app",
		"ckpt-checkpointed-at": "2026-12-06T21:40:00Z", "ckpt-node": "node1", "ckpt-file": "sealed", "ckpt-set": name} {
		if head.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q (all: %v)", k, head.Metadata[k], v, head.Metadata)
		}
	}

	store, err := remote.Open(ctx, "s3://checkpoints/node1/", remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != name || entries[0].Manifest.Identity.Namespace != "prod" || !entries[0].Signed {
		t.Fatalf("list: %+v", entries)
	}
	dir := t.TempDir()
	rep, err := remote.Pull(ctx, store, name, dir, remote.PullOptions{Policy: seal.Policy{AllowedSigners: allowed, RequireSignature: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Signature.Trusted {
		t.Error("signature not trusted")
	}
	sameFiles(t, path, dir)
	// A second pull refuses to overwrite, and leaves the first intact.
	if _, err := remote.Pull(ctx, store, name, dir, remote.PullOptions{}); err == nil {
		t.Fatal("second pull overwrote the set")
	}
	sameFiles(t, path, dir)
}

// TestS3ServerStoppedMidUpload kills MinIO while a multipart upload is in
// flight and starts it again: the retries finish the upload and the object
// is whole.
func TestS3ServerStoppedMidUpload(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int64
	}{{"multipart", 4 << 20}, {"single", 1 << 30}} {
		t.Run(tc.name, func(t *testing.T) {
			m := minio(t, "checkpoints")
			ctx := context.Background()
			path, _ := sealedSet(t, t.TempDir(), kubeletName, 24<<20)
			var once sync.Once
			var sent int64 // only the upload's goroutine counts
			restarted := make(chan struct{})
			opts := remote.Options{Retries: 10, MultipartThreshold: tc.threshold, PartSize: 5 << 20, Progress: func(n int64) {
				sent += n
				if sent >= 8<<20 {
					once.Do(func() {
						m.Stop()
						go func() { time.Sleep(time.Second); m.Start(); close(restarted) }()
					})
				}
			}}
			if _, err := remote.Upload(ctx, "s3://checkpoints/p/", path, opts); err != nil {
				t.Fatal(err)
			}
			if sent < 8<<20 {
				t.Fatal("the server was never stopped")
			}
			<-restarted
			obj, err := m.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("checkpoints"), Key: aws.String("p/" + filepath.Base(path))})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(path)
			if !bytes.Equal(got, want) {
				t.Fatalf("stored object is %d bytes and differs from the %d-byte sealed file", len(got), len(want))
			}
		})
	}
}

func TestS3WrongCredentials(t *testing.T) {
	minio(t, "checkpoints")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	path, _ := sealedSet(t, t.TempDir(), kubeletName, 1<<10)
	_, err := remote.Upload(context.Background(), "s3://checkpoints/p/", path, remote.Options{Retries: 1})
	if !errors.Is(err, remote.ErrAuth) {
		t.Fatalf("push with a wrong secret: %v, want ErrAuth", err)
	}
}

func TestS3MissingBucket(t *testing.T) {
	minio(t, "")
	ctx := context.Background()
	path, _ := sealedSet(t, t.TempDir(), kubeletName, 1<<10)
	if _, err := remote.Upload(ctx, "s3://nobucket/p/", path, remote.Options{Retries: 1}); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("push to a missing bucket: %v, want ErrNotFound", err)
	}
	store, _ := remote.Open(ctx, "s3://nobucket/p/", remote.Options{Retries: 1})
	if _, err := store.List(ctx); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("list of a missing bucket: %v, want ErrNotFound", err)
	}
	dir := t.TempDir()
	if _, err := remote.Pull(ctx, store, filepath.Base(path), dir, remote.PullOptions{}); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("pull from a missing bucket: %v, want ErrNotFound", err)
	}
	emptyBut(t, dir)
}

// TestS3AlteredObject replaces the ciphertext in the bucket behind ckpt's
// back (same size, one bit): pull's verification fails and nothing is left.
func TestS3AlteredObject(t *testing.T) {
	m := minio(t, "checkpoints")
	ctx := context.Background()
	path, _ := sealedSet(t, t.TempDir(), kubeletName, 128<<10)
	if _, err := remote.Upload(ctx, "s3://checkpoints/p/", path, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 1
	if _, err := m.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("checkpoints"), Key: aws.String("p/" + filepath.Base(path)), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	store, _ := remote.Open(ctx, "s3://checkpoints/p/", remote.Options{})
	dir := t.TempDir()
	_, err := remote.Pull(ctx, store, filepath.Base(path), dir, remote.PullOptions{})
	if !errors.Is(err, seal.ErrChecksum) {
		t.Fatalf("pull of an altered object: %v, want a checksum failure", err)
	}
	emptyBut(t, dir)
}

// TestS3RejectsWrongChecksum sends a set whose checksum line does not match
// its ciphertext: MinIO refuses the upload on the x-amz-checksum-sha256
// alone, without ckpt reading the file to hash it.
func TestS3RejectsWrongChecksum(t *testing.T) {
	minio(t, "checkpoints")
	ctx := context.Background()
	path, _ := sealedSet(t, t.TempDir(), kubeletName, 64<<10)
	set, err := remote.LoadLocal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	set.SHA256[0] ^= 1
	store, _ := remote.Open(ctx, "s3://checkpoints/p/", remote.Options{Retries: 1})
	if err := store.Put(ctx, set); !errors.Is(err, remote.ErrRejected) {
		t.Fatalf("put with a wrong checksum: %v, want ErrRejected", err)
	}
	if _, err := store.Stat(ctx, set.Name); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("the refused object exists: %v", err)
	}
}

func TestLoadLocalRefusesPlaintext(t *testing.T) {
	p := filepath.Join(t.TempDir(), kubeletName)
	os.WriteFile(p, []byte("not sealed"), 0o600)
	if _, err := remote.LoadLocal(p, false); !errors.Is(err, remote.ErrUnsealed) {
		t.Fatalf("LoadLocal of a plaintext archive: %v, want ErrUnsealed", err)
	}
	l, err := remote.LoadLocal(p, true)
	if err != nil || !l.Plaintext || l.SHA256 != sha256.Sum256([]byte("not sealed")) {
		t.Fatalf("LoadLocal allowing plaintext: %+v, %v", l, err)
	}
}
