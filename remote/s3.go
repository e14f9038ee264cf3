package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// s3Store keeps each file of a set as one object under a prefix, named as
// the file is (kubelet names with their colons intact).
type s3Store struct {
	c      *s3.Client
	loc    Location
	opts   Options
	prefix string
}

// metaPrefix starts the user metadata keys ckpt writes (S3 sends them as
// x-amz-meta-ckpt-…).
const metaPrefix = "ckpt-"

func openS3(ctx context.Context, loc Location, opts Options) (*s3Store, error) {
	lo := []func(*config.LoadOptions) error{
		// The checksum we send is the sealed one; the SDK must not
		// compute another by reading the file again, nor hash downloads
		// that pull hashes itself.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = opts.retries() + 1
				o.MaxBackoff = 5 * time.Second
			})
		}),
	}
	if opts.Region != "" {
		lo = append(lo, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("%s: AWS configuration: %w", loc.Store(), err)
	}
	if cfg.Region == "" {
		// S3-compatible stores mostly ignore the region but sign with one.
		cfg.Region = "us-east-1"
	}
	custom := opts.Endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		// Virtual-host addressing needs DNS per bucket, which
		// S3-compatible servers on an address rarely have.
		o.UsePathStyle = o.UsePathStyle || custom
		// The payload is authenticated by its x-amz-checksum-sha256;
		// signing it too would hash the file once more.
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
	return &s3Store{c: c, loc: loc, opts: opts, prefix: loc.Prefix}, nil
}

func (s *s3Store) String() string { return s.loc.Store() }

func (s *s3Store) key(name string) string { return s.prefix + name }

// Put uploads the ciphertext with the sealed SHA-256 as its checksum, then
// the sidecars, then reads back the ciphertext's size and checksum.
func (s *s3Store) Put(ctx context.Context, set *Local) error {
	meta := s3Metadata(set)
	for _, f := range set.files() {
		meta[metaPrefix+"file"] = f.kind.name()
		var err error
		if f.path != "" {
			err = s.putFile(ctx, f, set.SHA256, meta)
		} else {
			sh := sha256.Sum256(f.data)
			_, err = s.c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: &s.loc.Bucket, Key: aws.String(s.key(f.name)),
				Body: bytes.NewReader(f.data), ContentLength: aws.Int64(int64(len(f.data))),
				ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sh[:])),
				ContentType:    aws.String(f.kind.mediaType()),
				Metadata:       meta,
			})
		}
		if err != nil {
			return errorf(s, "put %s: %w", f.name, s3Error(err))
		}
	}
	return nil
}

func (s *s3Store) partSize(size int64) int64 {
	ps := s.opts.PartSize
	if ps <= 0 {
		ps = 16 << 20
	}
	if min := (size + 9999) / 10000; ps < min {
		ps = min
	}
	return ps
}

func (s *s3Store) threshold() int64 {
	if s.opts.MultipartThreshold > 0 {
		return s.opts.MultipartThreshold
	}
	return 4 << 30
}

func (s *s3Store) putFile(ctx context.Context, f localFile, sum [sha256.Size]byte, meta map[string]string) error {
	file, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	if f.size > s.threshold() {
		return s.putMultipart(ctx, f, file, meta)
	}
	body := &progressSection{SectionReader: io.NewSectionReader(file, 0, f.size), report: s.opts.Progress}
	want := base64.StdEncoding.EncodeToString(sum[:])
	_, err = s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.loc.Bucket, Key: aws.String(s.key(f.name)),
		Body: body, ContentLength: aws.Int64(f.size),
		ChecksumSHA256: aws.String(want),
		ContentType:    aws.String(f.kind.mediaType()),
		Metadata:       meta,
	})
	if err != nil {
		return err
	}
	// Read back what the store holds: the upload is durable and whole
	// before anyone (the agent) acts on it.
	head, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: aws.String(s.key(f.name)), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return err
	}
	if aws.ToInt64(head.ContentLength) != f.size || (head.ChecksumSHA256 != nil && *head.ChecksumSHA256 != want) {
		return fmt.Errorf("%w: the store holds %d bytes with sha256 %s, not %d with %s", ErrRejected, aws.ToInt64(head.ContentLength), aws.ToString(head.ChecksumSHA256), f.size, want)
	}
	return nil
}

// putMultipart sends the file in parts, each read once into a buffer,
// hashed there and sent with its own x-amz-checksum-sha256, one part at a
// time so that memory stays at one part.
func (s *s3Store) putMultipart(ctx context.Context, f localFile, file *os.File, meta map[string]string) error {
	key := aws.String(s.key(f.name))
	up, err := s.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.loc.Bucket, Key: key, ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ContentType: aws.String(f.kind.mediaType()), Metadata: meta,
	})
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			// A fresh context: the upload's may be what was cancelled.
			actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			s.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.loc.Bucket, Key: key, UploadId: up.UploadId})
			cancel()
		}
	}()
	ps := s.partSize(f.size)
	buf := make([]byte, ps)
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < f.size; off, n = off+ps, n+1 {
		chunk := buf[:min(ps, f.size-off)]
		if _, err := file.ReadAt(chunk, off); err != nil && err != io.EOF {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		h := sha256.Sum256(chunk)
		sum := base64.StdEncoding.EncodeToString(h[:])
		out, err := s.c.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &s.loc.Bucket, Key: key, UploadId: up.UploadId, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(chunk), ContentLength: aws.Int64(int64(len(chunk))),
			ChecksumSHA256: aws.String(sum), ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		})
		if err != nil {
			return fmt.Errorf("part %d: %w", n, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n), ChecksumSHA256: aws.String(sum)})
		if s.opts.Progress != nil {
			s.opts.Progress(int64(len(chunk)))
		}
	}
	_, err = s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.loc.Bucket, Key: key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return err
	}
	done = true
	head, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: key})
	if err != nil {
		return err
	}
	if aws.ToInt64(head.ContentLength) != f.size {
		return fmt.Errorf("%w: the store holds %d bytes, not %d", ErrRejected, aws.ToInt64(head.ContentLength), f.size)
	}
	return nil
}

// progressSection reports bytes read to a progress callback; it stays an
// io.Seeker so that the SDK can rewind the body to retry.
type progressSection struct {
	*io.SectionReader
	report func(int64)
}

func (p *progressSection) Read(b []byte) (int, error) {
	n, err := p.SectionReader.Read(b)
	if p.report != nil && n > 0 {
		p.report(int64(n))
	}
	return n, err
}

// Get fetches the sidecars, then streams the ciphertext into w.
func (s *s3Store) Get(ctx context.Context, name string, create func(string) (io.Writer, error)) (*seal.SetData, error) {
	d := &seal.SetData{Files: seal.SidecarsFor(name)}
	var err error
	if d.Checksum, err = s.small(ctx, name+seal.ChecksumSuffix, 1<<20); err != nil {
		return nil, err
	}
	if d.Manifest, err = s.small(ctx, name+seal.ManifestSuffix, 1<<20); err != nil {
		return nil, err
	}
	d.Signature, err = s.small(ctx, name+seal.SignatureSuffix, 64<<10)
	if errors.Is(err, ErrNotFound) {
		d.Signature = nil
	} else if err != nil {
		return nil, err
	}
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.loc.Bucket, Key: aws.String(s.key(name))})
	if err != nil {
		return nil, errorf(s, "get %s: %w", name, s3Error(err))
	}
	defer out.Body.Close()
	w, err := create(name)
	if err != nil {
		return nil, err
	}
	var r io.Reader = out.Body
	if s.opts.Progress != nil {
		r = &progressReader{r, s.opts.Progress}
	}
	if _, err := io.Copy(w, r); err != nil {
		return nil, errorf(s, "get %s: %w", name, err)
	}
	return d, nil
}

type progressReader struct {
	r      io.Reader
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.report(int64(n))
	}
	return n, err
}

func (s *s3Store) small(ctx context.Context, name string, limit int64) ([]byte, error) {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.loc.Bucket, Key: aws.String(s.key(name))})
	if err != nil {
		return nil, errorf(s, "get %s: %w", name, s3Error(err))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, errorf(s, "get %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, errorf(s, "get %s: %w: larger than %d bytes", name, ErrRejected, limit)
	}
	return data, nil
}

// List lists the objects directly under the prefix and reads the manifest
// of each set; ciphertext is not fetched.
func (s *s3Store) List(ctx context.Context) ([]Entry, error) {
	objects := map[string]types.Object{}
	p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.loc.Bucket, Prefix: aws.String(s.prefix), Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, errorf(s, "list: %w", s3Error(err))
		}
		for _, o := range page.Contents {
			objects[strings.TrimPrefix(aws.ToString(o.Key), s.prefix)] = o
		}
	}
	entries := []Entry{}
	for name, o := range objects {
		if seal.IsSidecar(name) {
			continue
		}
		e := Entry{Name: name, Location: s.loc.Store() + name, Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified).UTC()}
		_, e.Signed = objects[name+seal.SignatureSuffix]
		if _, ok := objects[name+seal.ManifestSuffix]; ok {
			fillManifest(&e, func() ([]byte, error) { return s.small(ctx, name+seal.ManifestSuffix, 1<<20) })
		} else if strings.HasSuffix(name, seal.SealedSuffix) {
			e.Error = "no manifest in the store (an upload in progress or interrupted)"
		} else {
			e.Plaintext = true
			if h, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: aws.String(s.key(name))}); err == nil {
				e.SHA256 = h.Metadata[metaPrefix+"sha256"]
			}
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return entries, nil
}

// fillManifest reads a stored manifest into e.
func fillManifest(e *Entry, read func() ([]byte, error)) {
	data, err := read()
	if err != nil {
		e.Error = err.Error()
		return
	}
	m, err := seal.ParseManifest(data)
	if err != nil {
		e.Error = "manifest: " + err.Error()
		return
	}
	e.Manifest, e.SHA256 = m, m.Sealed.SHA256
}

// Stat heads the ciphertext and reads the manifest.
func (s *s3Store) Stat(ctx context.Context, name string) (*Entry, error) {
	h, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: aws.String(s.key(name))})
	if err != nil {
		return nil, errorf(s, "stat %s: %w", name, s3Error(err))
	}
	e := &Entry{Name: name, Location: s.loc.Store() + name, Size: aws.ToInt64(h.ContentLength), Modified: aws.ToTime(h.LastModified).UTC()}
	if h.Metadata[metaPrefix+"file"] == kindPlaintext.name() {
		e.Plaintext, e.SHA256 = true, h.Metadata[metaPrefix+"sha256"]
		return e, nil
	}
	if _, err := s.small(ctx, name+seal.SignatureSuffix, 64<<10); err == nil {
		e.Signed = true
	}
	fillManifest(e, func() ([]byte, error) { return s.small(ctx, name+seal.ManifestSuffix, 1<<20) })
	return e, nil
}

// s3Metadata is the identity as object metadata. S3 metadata is ASCII
// only: other values are percent-encoded.
func s3Metadata(set *Local) map[string]string {
	m := map[string]string{
		metaPrefix + "set":    set.Name,
		metaPrefix + "sha256": hex.EncodeToString(set.SHA256[:]),
	}
	if mf := set.Manifest; mf != nil {
		id := mf.Identity
		for k, v := range map[string]string{
			"namespace": id.Namespace, "pod": id.Pod, "container": id.Container, "image": id.Image,
			"engine": id.Engine, "node": mf.Node, "sealed-at": mf.SealedAt,
		} {
			if v != "" {
				m[metaPrefix+k] = asciiValue(v)
			}
		}
		if !id.Checkpointed.IsZero() {
			m[metaPrefix+"checkpointed-at"] = id.Checkpointed.UTC().Format(time.RFC3339)
		}
	}
	return m
}

func asciiValue(v string) string {
	for _, r := range v {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return url.PathEscape(v)
		}
	}
	return v
}

// s3Error classifies an S3 error by its code.
func s3Error(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	case "NoSuchBucket", "NoSuchKey", "NotFound", "NoSuchUpload":
		return fmt.Errorf("%w: %s", ErrNotFound, ae.ErrorMessage()+orCode(ae))
	case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken":
		return fmt.Errorf("%w: %s", ErrAuth, ae.ErrorMessage()+orCode(ae))
	case "BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch", "InvalidRequest", "InvalidArgument":
		return fmt.Errorf("%w: %s", ErrRejected, ae.ErrorMessage()+orCode(ae))
	}
	return err
}

func orCode(ae smithy.APIError) string { return " (" + ae.ErrorCode() + ")" }

// name is a file kind as S3 metadata says it.
func (k fileKind) name() string {
	switch k {
	case kindSealed:
		return "sealed"
	case kindChecksum:
		return "checksum"
	case kindSignature:
		return "signature"
	case kindManifest:
		return "manifest"
	}
	return "plaintext"
}

// mediaType is a file kind's content type in S3 and layer media type in
// an OCI artifact.
func (k fileKind) mediaType() string {
	switch k {
	case kindSealed:
		return MediaTypeSealed
	case kindChecksum:
		return MediaTypeChecksum
	case kindSignature:
		return MediaTypeSignature
	case kindManifest:
		return MediaTypeManifest
	}
	return MediaTypePlaintext
}
