package scan

// anchor is a literal that starts (or sits inside) every value of some
// kind, and the detector that validates the bytes around it. key is the
// offset of the two bytes of lit the prefilter looks for: a pair that is
// rare in ordinary memory and text ("yJ" of "eyJ", not "ey").
type anchor struct {
	lit    string
	key    int
	detect func(*window) verdict
}

// anchors are all the literals the prefilter looks for, in one pass.
var anchors = []*anchor{
	{"-----BEGIN ", 7, detectPEM},
	{"eyJ", 1, detectJWT},
	{"AKIA", 1, detectAWSKeyID},
	{"ASIA", 1, detectAWSKeyID},
	{"ECRET_ACCESS_KEY", 5, detectAWSSecret},
	{"ecret_access_key", 5, detectAWSSecret},
	{"ecretAccessKey", 4, detectAWSSecret},
	{`"private_key"`, 8, detectGCP},
	{"AccountKey=", 6, detectAzureStorage},
	{"SharedAccessKey=", 13, detectAzureShared},
	{"uthorization", 6, detectAuthorization},
	{"PASS", 2, detectEnvSecret},
	{"PWD", 0, detectEnvSecret},
	{"TOKEN", 2, detectEnvSecret},
	{"SECRET", 2, detectEnvSecret},
	{"KEY", 0, detectEnvSecret},
	{"CRED", 0, detectEnvSecret},
	{"AUTH", 1, detectEnvSecret},
}

// keyed is an anchor under its key pair.
type keyed struct {
	a   *anchor
	off int
}

// prefilterTables let the prefilter reject a byte pair with one lookup:
// bits has a bit for each key pair; group maps a key pair to 1+ the index
// of the anchors it keys.
type prefilterTables struct {
	bits   [1 << 16 / 64]uint64
	group  [1 << 16]uint8
	groups [][]keyed
	// Anchor lengths, and the largest key offset.
	min, max, maxKey int
}

// tab is built once from anchors and never changed.
var tab = buildTables(anchors)

func buildTables(as []*anchor) *prefilterTables {
	t := &prefilterTables{min: len(as[0].lit), max: len(as[0].lit)}
	for _, a := range as {
		x := uint16(a.lit[a.key])<<8 | uint16(a.lit[a.key+1])
		if t.group[x] == 0 {
			t.groups = append(t.groups, nil)
			t.group[x] = uint8(len(t.groups))
		}
		g := t.group[x] - 1
		t.groups[g] = append(t.groups[g], keyed{a, a.key})
		t.bits[x>>6] |= 1 << (x & 63)
		t.min = min(t.min, len(a.lit))
		t.max = max(t.max, len(a.lit))
		t.maxKey = max(t.maxKey, a.key)
	}
	return t
}
