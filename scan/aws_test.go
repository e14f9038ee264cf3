package scan_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/scan"
)

// TestAWSCredentialsFile: an AWS credentials file in memory gives the key
// id (low severity, it names the account) and the secret, each located at
// its value, whose length the finding gives.
func TestAWSCredentialsFile(t *testing.T) {
	const id, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	file := []byte("[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + secret + "\nregion = eu-west-1\n")
	spec := testgen.Spec{Markers: []testgen.Marker{{Data: file}}}
	path := filepath.Join(t.TempDir(), "aws.tar")
	l, err := testgen.WriteFile(path, spec, testgen.None, false)
	if err != nil {
		t.Fatal(err)
	}
	r := scanFiles(t, scan.Options{Reveal: true}, path)
	mk := l.Markers[0]
	want := map[scan.Kind]string{scan.AWSAccessKeyID: id, scan.AWSSecretAccessKey: secret}
	for _, f := range r.Findings {
		v, ok := want[f.Kind]
		if !ok {
			t.Errorf("unexpected %s finding %+v", f.Kind, f)
			continue
		}
		delete(want, f.Kind)
		at := bytes.Index(file, []byte(v))
		if f.Value != v || f.Length != len(v) || len(f.Locations) != 1 ||
			f.Locations[0].Address != mk.Vaddr+uint64(at) || f.Locations[0].Offset != mk.Offset+int64(at) {
			t.Errorf("%s: %+v, want %q at %#x (offset %d)", f.Kind, f, v, mk.Vaddr+uint64(at), mk.Offset+int64(at))
		}
	}
	if len(want) > 0 {
		t.Errorf("not found: %v", want)
	}
}
