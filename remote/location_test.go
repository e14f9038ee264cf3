package remote_test

import (
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/remote"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in                          string
		bucket, prefix, name        string
		repo, tag, store, errSubstr string
	}{
		{in: "s3://b/", bucket: "b", store: "s3://b/"},
		{in: "s3://b", bucket: "b", store: "s3://b/"},
		{in: "s3://b/node1/", bucket: "b", prefix: "node1/", store: "s3://b/node1/"},
		{in: "s3://b/a/b/x-2025-01-02T03:04:05Z.tar.age", bucket: "b", prefix: "a/b/", name: "x-2025-01-02T03:04:05Z.tar.age", store: "s3://b/a/b/"},
		{in: "oci://127.0.0.1:5000/ckpt/web", repo: "127.0.0.1:5000/ckpt/web", store: "oci://127.0.0.1:5000/ckpt/web"},
		{in: "oci://reg.example/ckpt/web:v1", repo: "reg.example/ckpt/web", tag: "v1", store: "oci://reg.example/ckpt/web"},
		{in: "s3:///x", errSubstr: "no bucket"},
		{in: "s3://b//x", errSubstr: "empty path element"},
		{in: "oci://reg/web@sha256:0000", errSubstr: "by tag"},
		{in: "oci://web", errSubstr: "registry"},
		{in: "oci://reg/web:bad:tag", errSubstr: ""},
		{in: "/var/lib/x", errSubstr: "not a store address"},
	} {
		loc, err := remote.ParseLocation(tc.in)
		if tc.errSubstr != "" || (err != nil && tc.store == "") {
			if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
				t.Errorf("%s: error %v, want one saying %q", tc.in, err, tc.errSubstr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if loc.Bucket != tc.bucket || loc.Prefix != tc.prefix || loc.Name != tc.name || loc.Repository != tc.repo || loc.Tag != tc.tag || loc.Store() != tc.store {
			t.Errorf("%s: %+v (store %s)", tc.in, loc, loc.Store())
		}
	}
}

func TestTagFor(t *testing.T) {
	for in, want := range map[string]string{
		"checkpoint-web_prod-app-2025-01-02T03:04:05Z.tar.age": "checkpoint-web_prod-app-2025-01-02T03_04_05Z.tar.age",
		".hidden.tar.age": "_hidden.tar.age",
	} {
		if got := remote.TagFor(in); got != want {
			t.Errorf("TagFor(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("a", 200) + ".tar.age"
	tag := remote.TagFor(long)
	if len(tag) != 128 || tag == remote.TagFor(strings.Repeat("a", 201)+".tar.age") {
		t.Errorf("TagFor of a long name: %q (%d), not 128 characters unique to the name", tag, len(tag))
	}
}
