package ctlog

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture is a list of log entries made with crypto/x509: a self-signed CA, and for each name
// set a precertificate (with the CT poison extension) followed by its final certificate, or a
// final certificate alone.
type fixture struct {
	ca     *x509.Certificate
	leaves []Leaf
	names  [][]string // the expected Names of each leaf
}

var poisonOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}

func newFixture(t testing.TB, sets [][]string, precert func(i int) bool) *fixture {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Omen Test CA", Organization: []string{"Omen Test"}},
		NotBefore: start, NotAfter: start.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	f := &fixture{ca: ca}
	ikh := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	fp := sha256.Sum256(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i, names := range sets {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(1000 + i)), Subject: pkix.Name{CommonName: names[0]},
			DNSNames: names, NotBefore: start.Add(time.Duration(i) * time.Minute), NotAfter: start.AddDate(0, 3, 0)}
		finalDER, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &leafKey.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		want := expectNames(names)
		ts := uint64(start.UnixMilli()) + uint64(i)
		if precert(i) {
			pt := *tmpl
			pt.ExtraExtensions = []pkix.Extension{{Id: poisonOID, Critical: true, Value: []byte{0x05, 0x00}}}
			preDER, err := x509.CreateCertificate(rand.Reader, &pt, ca, &leafKey.PublicKey, caKey)
			if err != nil {
				t.Fatal(err)
			}
			final, _ := x509.ParseCertificate(finalDER)
			// The leaf's TBSCertificate is the precertificate's without the poison extension,
			// which is the final certificate's TBS here (no SCT list in the final certificate).
			f.leaves = append(f.leaves, Leaf{Timestamp: ts, Precert: true, Cert: final.RawTBSCertificate, IssuerKeyHash: ikh,
				PreCertificate: preDER, Chain: [][]byte{caDER}, ChainFingerprints: [][32]byte{fp}})
			f.names = append(f.names, want)
		}
		f.leaves = append(f.leaves, Leaf{Timestamp: ts, Cert: finalDER, Chain: [][]byte{caDER}, ChainFingerprints: [][32]byte{fp}})
		f.names = append(f.names, want)
	}
	return f
}

func expectNames(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, strings.TrimPrefix(strings.ToLower(n), "*."))
	}
	return uniqSorted(out)
}

func uniqSorted(s []string) []string {
	m := map[string]bool{}
	var out []string
	for _, x := range s {
		if !m[x] {
			m[x] = true
			out = append(out, x)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// fakeLog serves a fixture over both read APIs from one list of leaves, with fault injection.
type fakeLog struct {
	mu        sync.Mutex
	leaves    []Leaf
	published int // the tree size served

	pageCap     int  // get-entries answers at most this many entries (0: no cap)
	fail        int  // the next fail requests answer 500 (or 429 with Retry-After when tooMany)
	tooMany     bool //
	failEvery   int  // every failEvery-th request answers 503 (0: never)
	growBy      int  // after each entries request, publish this many more leaves (a log growing while read)
	noPartials  bool // partial tiles of a full tile are gone (404)
	gzipTiles   bool // data tiles gzip-compressed without Content-Encoding
	requests    int
	served      map[int]int // entries served per index
	partialSeen int
	key         *ecdsa.PrivateKey // signs the tree heads when set
}

func (l *fakeLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if l.fail > 0 {
		l.fail--
		if l.tooMany {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	if l.failEvery > 0 && l.requests%l.failEvery == 0 {
		http.Error(w, "flaky", http.StatusServiceUnavailable)
		return
	}
	switch p := r.URL.Path; {
	case p == "/ct/v1/get-sth":
		var sig []byte
		if l.key != nil {
			sig = signTreeHead(l.key, 1, uint64(l.published), l.root())
		}
		json.NewEncoder(w).Encode(map[string]any{"tree_size": l.published, "timestamp": 1, "sha256_root_hash": base64.StdEncoding.EncodeToString(l.root()),
			"tree_head_signature": base64.StdEncoding.EncodeToString(sig)})
	case p == "/checkpoint":
		sigLine := "— example.test/log AAAAAAAA\n"
		if l.key != nil {
			sigLine = noteSignatureLine(l.key, "example.test/log", 1, uint64(l.published), l.root())
		}
		fmt.Fprintf(w, "example.test/log\n%d\n%s\n\n%s", l.published, base64.StdEncoding.EncodeToString(l.root()), sigLine)
	case p == "/ct/v1/get-entries":
		start, err1 := strconv.Atoi(r.URL.Query().Get("start"))
		end, err2 := strconv.Atoi(r.URL.Query().Get("end"))
		if err1 != nil || err2 != nil || start < 0 || end < start || start >= l.published {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		end = min(end, l.published-1)
		if l.pageCap > 0 {
			end = min(end, start+l.pageCap-1)
		}
		type entry struct {
			LeafInput []byte `json:"leaf_input"`
			ExtraData []byte `json:"extra_data"`
		}
		var resp struct {
			Entries []entry `json:"entries"`
		}
		for i := start; i <= end; i++ {
			resp.Entries = append(resp.Entries, entry{appendMerkleTreeLeaf(nil, l.leaves[i]), appendExtraData(nil, l.leaves[i])})
			l.count(i)
		}
		json.NewEncoder(w).Encode(resp)
		l.grow()
	case strings.HasPrefix(p, "/tile/data/"):
		n, width, ok := parseTilePath(strings.TrimPrefix(p, "/tile/data/"))
		first := n * TileWidth
		switch {
		case !ok:
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		case width < TileWidth && (first+TileWidth <= l.published && l.noPartials || first+width > l.published):
			http.NotFound(w, r)
			return
		case width == TileWidth && first+TileWidth > l.published:
			http.NotFound(w, r)
			return
		}
		if width < TileWidth {
			l.partialSeen++
		}
		var b []byte
		for i := first; i < first+width; i++ {
			b = appendTileLeaf(b, l.leaves[i])
			l.count(i)
		}
		if l.gzipTiles {
			var zb bytes.Buffer
			zw := gzip.NewWriter(&zb)
			zw.Write(b)
			zw.Close()
			b = zb.Bytes()
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
		l.grow()
	default:
		http.NotFound(w, r)
	}
}

func (l *fakeLog) count(i int) {
	if l.served == nil {
		l.served = map[int]int{}
	}
	l.served[i]++
}

func (l *fakeLog) grow() { l.published = min(l.published+l.growBy, len(l.leaves)) }

func (l *fakeLog) set(f func(l *fakeLog)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

// root is the RFC 6962 Merkle tree hash of the published leaves.
func (l *fakeLog) root() []byte {
	hs := make([][]byte, l.published)
	for i := range hs {
		h := sha256.Sum256(append([]byte{0}, appendMerkleTreeLeaf(nil, l.leaves[i])...))
		hs[i] = h[:]
	}
	return mth(hs)
}

func mth(hs [][]byte) []byte {
	switch len(hs) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return hs[0]
	}
	k := 1
	for k*2 < len(hs) {
		k *= 2
	}
	h := sha256.Sum256(append(append([]byte{1}, mth(hs[:k])...), mth(hs[k:])...))
	return h[:]
}

// parseTilePath decodes x001/x234/067[.p/W] into the tile index and width.
func parseTilePath(p string) (n, width int, ok bool) {
	width = TileWidth
	if base, w, found := strings.Cut(p, ".p/"); found {
		var err error
		if width, err = strconv.Atoi(w); err != nil || width < 1 || width > 255 {
			return 0, 0, false
		}
		p = base
	}
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if i < len(parts)-1 {
			if !strings.HasPrefix(part, "x") {
				return 0, 0, false
			}
			part = part[1:]
		}
		d, err := strconv.Atoi(part)
		if err != nil || len(part) != 3 {
			return 0, 0, false
		}
		n = n*1000 + d
	}
	return n, width, true
}
