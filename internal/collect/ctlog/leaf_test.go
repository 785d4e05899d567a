package ctlog

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type rawEntry struct {
	LeafInput []byte `json:"leaf_input"`
	ExtraData []byte `json:"extra_data"`
}

func readEntries(t testing.TB, name string) []rawEntry {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ Entries []rawEntry }
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Entries
}

// The genuine entries parse into the names, issuer and dates the certificates hold.
func TestParseGenuine(t *testing.T) {
	tests := []struct {
		file      string
		precert   bool
		names     []string
		issuer    string
		notBefore string
		chain     int
	}{
		{"icarus-120000000.json", false, []string{"gem-jewelers.com", "www.gem-jewelers.com"},
			"CN=Let's Encrypt Authority X3,O=Let's Encrypt,C=US", "2017-09-27T19:43:00Z", 2},
		{"precert-chunghwa.json", true, []string{"maildc.dynacw.com", "test.dynacw.com", "test.dynacw.com.hk",
			"test.dynacw.com.tw", "testdfo.dynacw.co.jp", "testdfo.dynacw.com.tw"},
			"OU=Public Certification Authority - G2,O=Chunghwa Telecom Co.\\, Ltd.,C=TW", "2020-03-31T01:52:29Z", 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := readEntries(t, tt.file)[0]
			l, err := ParseMerkleTreeLeaf(e.LeafInput, e.ExtraData)
			if err != nil {
				t.Fatal(err)
			}
			if l.Precert != tt.precert || len(l.Chain) != tt.chain {
				t.Errorf("precert %v, chain %d", l.Precert, len(l.Chain))
			}
			got, err := Decode(l)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Names, tt.names) || got.Issuer != tt.issuer || got.NotBefore.Format(time.RFC3339) != tt.notBefore || got.Precert != tt.precert {
				t.Errorf("got %+v", got)
			}
			if !tt.precert {
				return
			}
			// The submitted precertificate (with the poison extension) has the same key as the
			// TBSCertificate of the leaf: the precert/final certificate dedupe works on real data.
			pc, err := x509.ParseCertificate(l.PreCertificate)
			if err != nil {
				t.Fatal(err)
			}
			final, err := Decode(Leaf{Cert: pc.Raw})
			if err != nil {
				t.Fatal(err)
			}
			if final.Key != got.Key || !slices.Equal(final.Names, got.Names) {
				t.Errorf("precertificate %+v, leaf %+v", final, got)
			}
			// The same entry as a TileLeaf parses to the same leaf.
			l.Chain = nil
			tile := appendTileLeaf(nil, l)
			tl, rest, err := ParseTileLeaf(tile)
			if err != nil || len(rest) != 0 || !slices.Equal(tl.Cert, l.Cert) || tl.IssuerKeyHash != l.IssuerKeyHash || !slices.Equal(tl.PreCertificate, l.PreCertificate) {
				t.Errorf("tile leaf: %v, %d bytes left", err, len(rest))
			}
		})
	}
}

func TestParseMerkleTreeLeafBroken(t *testing.T) {
	good := readEntries(t, "icarus-120000000.json")[0]
	pre := readEntries(t, "precert-chunghwa.json")[0]
	mod := func(b []byte, f func([]byte) []byte) []byte { return f(slices.Clone(b)) }
	tests := []struct {
		name        string
		leaf, extra []byte
		want        string
	}{
		{"empty", nil, nil, "leaf_input: version at byte 0"},
		{"version", mod(good.LeafInput, func(b []byte) []byte { b[0] = 1; return b }), nil, "unknown version 1"},
		{"leaf type", mod(good.LeafInput, func(b []byte) []byte { b[1] = 7; return b }), nil, "unknown leaf_type 7"},
		{"entry type", mod(good.LeafInput, func(b []byte) []byte { b[11] = 9; return b }), nil, "entry_type at byte 10: unknown type 9"},
		{"truncated", good.LeafInput[:100], nil, "x509_entry at byte 15"},
		{"trailing", append(slices.Clone(good.LeafInput), 0), nil, "1 trailing bytes"},
		{"precert truncated", pre.LeafInput[:45], nil, "tbs_certificate length at byte 44"},
		{"extra truncated", good.LeafInput, good.ExtraData[:50], "extra_data: certificate_chain at byte 3"},
		{"extra trailing", good.LeafInput, append(slices.Clone(good.ExtraData), 1, 2), "extra_data: 2 trailing bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMerkleTreeLeaf(tt.leaf, tt.extra)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseDataTileBroken(t *testing.T) {
	e := readEntries(t, "precert-chunghwa.json")[0]
	l, err := ParseMerkleTreeLeaf(e.LeafInput, e.ExtraData)
	if err != nil {
		t.Fatal(err)
	}
	one := appendTileLeaf(nil, l)
	tile := append(slices.Clone(one), one...)
	if ls, err := ParseDataTile(tile); err != nil || len(ls) != 2 {
		t.Fatalf("%d leaves, %v", len(ls), err)
	}
	if _, err := ParseDataTile(tile[:len(tile)-5]); err == nil || !strings.Contains(err.Error(), "data tile entry 1 (byte "+strconv.Itoa(len(one))+")") {
		t.Errorf("truncated tile: %v", err)
	}
	bad := slices.Clone(one)
	bad[len(bad)-1] = 3 // certificate_chain length not a multiple of 32
	bad = append(bad, 1, 2, 3)
	if _, err := ParseDataTile(bad); err == nil || !strings.Contains(err.Error(), "32-byte fingerprints") {
		t.Errorf("bad fingerprints: %v", err)
	}
}

func TestDecodeBroken(t *testing.T) {
	for _, tt := range []struct {
		name string
		l    Leaf
		want string
	}{
		{"x509 garbage", Leaf{Cert: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}, "x509"},
		{"tbs garbage", Leaf{Precert: true, Cert: []byte{1, 2, 3}}, "tbs_certificate"},
		{"tbs not a sequence", Leaf{Precert: true, Cert: []byte{0x02, 0x01, 0x01}}, "not a single DER SEQUENCE"},
		{"tbs short", Leaf{Precert: true, Cert: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}, "tbs_certificate field 2"},
	} {
		if _, err := Decode(tt.l); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckpoint(t *testing.T) {
	b, err := os.ReadFile("testdata/willow-2025h1b.checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ParseCheckpoint(b)
	if err != nil || cp.Origin != "willow.ct.letsencrypt.org/2025h1b" || cp.Size != 1237717073 || len(cp.RootHash) != 32 {
		t.Fatalf("%+v, %v", cp, err)
	}
	for _, tt := range []struct{ in, want string }{
		{"", "no blank line"},
		{"o\n12\n\n— o x\n", "2 lines"},
		{"o\n-1\nAAAA\n\n", "line 2: bad tree size"},
		{"o\n012\nAAAA\n\n", "line 2: bad tree size"},
		{"o\n12\nAAAA\n\n", "line 3: bad root hash"},
		{"\n12\nAAAA\n\n", "line 1: empty origin"},
	} {
		if _, err := ParseCheckpoint([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestTilePath(t *testing.T) {
	for n, want := range map[int64]string{0: "000", 7: "007", 999: "999", 1000: "x001/000", 1234067: "x001/x234/067", 1000000: "x001/x000/000"} {
		if got := TilePath(n); got != want {
			t.Errorf("TilePath(%d) = %s, want %s", n, got, want)
		}
	}
}

func FuzzParseMerkleTreeLeaf(f *testing.F) {
	for _, name := range []string{"icarus-120000000.json", "precert-chunghwa.json"} {
		for _, e := range readEntries(f, name) {
			f.Add(e.LeafInput, e.ExtraData)
		}
	}
	f.Fuzz(func(t *testing.T, leaf, extra []byte) {
		l, err := ParseMerkleTreeLeaf(leaf, extra)
		if err == nil {
			Decode(l) // must not panic
		}
	})
}

func FuzzParseDataTile(f *testing.F) {
	for _, name := range []string{"icarus-120000000.json", "precert-chunghwa.json"} {
		for _, e := range readEntries(f, name) {
			l, err := ParseMerkleTreeLeaf(e.LeafInput, e.ExtraData)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(appendTileLeaf(nil, l))
		}
	}
	f.Fuzz(func(t *testing.T, tile []byte) {
		ls, err := ParseDataTile(tile)
		if err == nil {
			for _, l := range ls {
				Decode(l)
			}
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	b, err := os.ReadFile("testdata/willow-2025h1b.checkpoint")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseCheckpoint(b)
	})
}
