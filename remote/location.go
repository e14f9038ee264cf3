package remote

import (
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Location schemes.
const (
	SchemeS3  = "s3"
	SchemeOCI = "oci"
)

// Location is a parsed store address.
type Location struct {
	Scheme string
	// Bucket and Prefix (empty or ending in "/") address S3.
	Bucket, Prefix string
	// Repository (REGISTRY/REPO) and Tag address an OCI registry.
	Repository, Tag string
	// Name is the set a location ends in, for pull: the last path
	// element of an s3:// address that does not end in "/". Empty for
	// OCI (the tag picks the set).
	Name string
}

// IsLocation reports whether s looks like a store address rather than a
// local path.
func IsLocation(s string) bool {
	return strings.HasPrefix(s, SchemeS3+"://") || strings.HasPrefix(s, SchemeOCI+"://")
}

// ParseLocation parses s3://BUCKET[/PREFIX/][NAME] and
// oci://REGISTRY/REPOSITORY[:TAG].
func ParseLocation(s string) (Location, error) {
	switch {
	case strings.HasPrefix(s, "s3://"):
		rest := strings.TrimPrefix(s, "s3://")
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("%s: no bucket (want s3://BUCKET/PREFIX/)", s)
		}
		if strings.Contains(key, "//") || strings.HasPrefix(key, "/") {
			return Location{}, fmt.Errorf("%s: empty path element", s)
		}
		loc := Location{Scheme: SchemeS3, Bucket: bucket}
		if key == "" || strings.HasSuffix(key, "/") {
			loc.Prefix = key
		} else {
			dir, base := path.Split(key)
			loc.Prefix, loc.Name = dir, base
		}
		return loc, nil
	case strings.HasPrefix(s, "oci://"):
		rest := strings.TrimPrefix(s, "oci://")
		if strings.Contains(rest, "@") {
			return Location{}, fmt.Errorf("%s: address a set by tag, not by digest", s)
		}
		repo, tag := rest, ""
		if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
			repo, tag = rest[:i], rest[i+1:]
		}
		if _, err := name.NewRepository(repo, name.StrictValidation); err != nil {
			return Location{}, fmt.Errorf("%s: %v", s, err)
		}
		if !strings.Contains(repo, "/") {
			return Location{}, fmt.Errorf("%s: want oci://REGISTRY/REPOSITORY[:TAG]", s)
		}
		if tag != "" {
			if _, err := name.NewTag(repo+":"+tag, name.StrictValidation); err != nil {
				return Location{}, fmt.Errorf("%s: %v", s, err)
			}
		}
		return Location{Scheme: SchemeOCI, Repository: repo, Tag: tag}, nil
	}
	return Location{}, fmt.Errorf("%s: not a store address (want s3://BUCKET/PREFIX/ or oci://REGISTRY/REPOSITORY[:TAG])", s)
}

// Store returns the location without the set it names: where it is kept.
func (l Location) Store() string {
	if l.Scheme == SchemeS3 {
		return "s3://" + l.Bucket + "/" + l.Prefix
	}
	return "oci://" + l.Repository
}

// String is the location as given (normalised).
func (l Location) String() string {
	if l.Scheme == SchemeS3 {
		return l.Store() + l.Name
	}
	if l.Tag != "" {
		return l.Store() + ":" + l.Tag
	}
	return l.Store()
}
