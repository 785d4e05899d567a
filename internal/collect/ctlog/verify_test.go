package ctlog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// willowKey is the public key of Let's Encrypt's Willow 2025h1b log, as https://willow.ct.letsencrypt.org/
// publishes it (quoted in cloudflare/azul with the checkpoint in testdata, see SOURCES.md).
const willowKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbNmWXyYsF2pohGOAiNELea6UL4/XioI3w6ChE5Udlos0HUqM7KOHIP9qBuWCVs6VAdtDXrvanmxKq52Whh2+2w=="

func readList(t *testing.T) *LogList {
	t.Helper()
	b, err := os.ReadFile("testdata/log_list_google.json")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLogList(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The genuine log list: the usable logs whose certificate range has not ended, over both APIs,
// with their keys and, for tiled logs, the checkpoint origin.
func TestLogListFollow(t *testing.T) {
	l := readList(t)
	names := func(ls []LogConfig) string {
		var out []string
		for _, lc := range ls {
			out = append(out, string(lc.API)+" "+lc.Name)
		}
		return strings.Join(out, "\n")
	}
	logs, errs := l.Follow(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "now")
	if len(errs) > 0 || len(logs) != 6 {
		t.Fatalf("%d logs, errors %v:\n%s", len(logs), errs, names(logs))
	}
	for _, lc := range logs {
		if len(lc.Key) == 0 || lc.Start != "now" {
			t.Errorf("%s: key %d bytes, start %q", lc.Name, len(lc.Key), lc.Start)
		}
		if lc.API == Static && (lc.URL != "https://storage.googleapis.com/parcelyard2027h1.prod.certificate.transparency.goog/" ||
			lc.Origin != "parcelyard2027h1.prod.certificate.transparency.goog") &&
			lc.Origin != "plumbersarms2027h1.prod.certificate.transparency.goog" {
			t.Errorf("tiled log %+v", lc)
		}
	}
	// Once the 2026h2 shards' certificates have all expired, they are no longer followed.
	logs, _ = l.Follow(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), "")
	if got := names(logs); len(logs) != 4 || strings.Contains(got, "2026h2") {
		t.Errorf("in February 2027:\n%s", got)
	}
}

func TestLogListBroken(t *testing.T) {
	for _, in := range []string{"", "{", `{"operators": []}`, `[1,2]`} {
		if _, err := ParseLogList([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	b, _ := os.ReadFile("testdata/log_list_google.json")
	bad := strings.Replace(string(b), `"key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5Xd4`, `"key": "%%%`, 1)
	bad = strings.Replace(bad, `"url": "https://ct.googleapis.com/logs/us1/argon2026h2/"`, `"url": "ftp://nowhere"`, 1)
	l, err := ParseLogList([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	logs, errs := l.Follow(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "")
	if len(logs) != 4 || len(errs) != 2 || !strings.Contains(errs[0].Error()+errs[1].Error(), "Xenon2026h2") {
		t.Errorf("%d logs, errors %v", len(logs), errs)
	}
}

// Google's signatures on two genuine Argon2027h1 tree heads verify with the key of the log list,
// and fail once the tree head is altered.
func TestVerifySTHGenuine(t *testing.T) {
	var key []byte
	logs, _ := readList(t).Follow(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "")
	for _, lc := range logs {
		if strings.Contains(lc.URL, "argon2027h1") {
			key = lc.Key
		}
	}
	for _, f := range []string{"testdata/argon2027h1_sth1.json", "testdata/argon2027h1_sth2.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sth, err := ParseSTH(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifySTH(key, sth); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		sth.TreeSize++
		if err := VerifySTH(key, sth); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s, size altered: %v", f, err)
		}
	}
}

// Let's Encrypt's signature on a genuine Willow checkpoint verifies (among a grease and a witness
// signature), and fails for another size, another origin or another key.
func TestVerifyCheckpointGenuine(t *testing.T) {
	b, err := os.ReadFile("testdata/willow-2025h1b.checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(willowKey)
	const origin = "willow.ct.letsencrypt.org/2025h1b"
	cp, err := VerifyCheckpoint(b, origin, key)
	if err != nil || cp.Size != 1237717073 {
		t.Fatalf("%+v %v", cp, err)
	}
	altered := strings.Replace(string(b), "1237717073", "1237717074", 1)
	if _, err := VerifyCheckpoint([]byte(altered), origin, key); !errors.Is(err, ErrBadSignature) {
		t.Errorf("altered size: %v", err)
	}
	if _, err := VerifyCheckpoint(b, "willow.ct.letsencrypt.org/2025h2b", key); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other origin: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	if _, err := VerifyCheckpoint(b, origin, der); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other key: %v", err)
	}
}

// signTreeHead signs a tree head as an RFC 6962 log does (a DigitallySigned struct).
func signTreeHead(k *ecdsa.PrivateKey, ts, size uint64, root []byte) []byte {
	d := sha256.Sum256(treeHeadInput(ts, size, root))
	sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
	if err != nil {
		panic(err)
	}
	ds := []byte{hashSHA256, sigECDSA}
	ds = binary.BigEndian.AppendUint16(ds, uint16(len(sig)))
	return append(ds, sig...)
}

// noteSignatureLine is a static-ct checkpoint's RFC 6962 note signature line.
func noteSignatureLine(k *ecdsa.PrivateKey, origin string, ts, size uint64, root []byte) string {
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	logID := sha256.Sum256(der)
	kh := sha256.Sum256(append(append([]byte(origin+"\n"), 0x05), logID[:]...))
	sig := append(kh[:4:4], binary.BigEndian.AppendUint64(nil, ts)...)
	sig = append(sig, signTreeHead(k, ts, size, root)...)
	return "— " + origin + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// A log followed with its key is read while its tree heads verify, over both APIs; with another
// key, nothing is read and the cursor stays.
func TestMonitorVerifiesTreeHeads(t *testing.T) {
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, _ := x509.MarshalPKIXPublicKey(&logKey.PublicKey)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad, _ := x509.MarshalPKIXPublicKey(&otherKey.PublicKey)
	for _, api := range []API{RFC6962, Static} {
		t.Run(string(api), func(t *testing.T) {
			f := newFixture(t, nameSets(300), func(int) bool { return false })
			fl := &fakeLog{leaves: f.leaves, published: len(f.leaves), key: logKey}
			srv := httptest.NewServer(fl)
			defer srv.Close()
			for _, c := range []struct {
				key  []byte
				want int64
			}{{bad, 0}, {good, int64(len(f.leaves))}} {
				var got int
				m := &Monitor{Client: &Client{Retries: -1}, Cursor: &MemCursor{},
					Handle: func(_ context.Context, es []Entry) error { got += len(es); return nil }}
				lc := LogConfig{URL: srv.URL, API: api, Start: "0", Key: c.key, Origin: "example.test/log"}
				if err := lc.Validate(); err != nil {
					t.Fatal(err)
				}
				n, err := m.Sync(t.Context(), lc)
				if n != c.want || (c.want == 0) != errors.Is(err, ErrBadSignature) {
					t.Errorf("key %d: moved %d (%v), want %d", len(c.key), n, err, c.want)
				}
				if c.want == 0 && got != 0 {
					t.Errorf("entries handed over from a log whose tree head does not verify: %d", got)
				}
			}
		})
	}
}

func FuzzParseLogList(f *testing.F) {
	b, _ := os.ReadFile("testdata/log_list_google.json")
	f.Add(b)
	f.Add([]byte(`{"operators": [{"logs": [{"key": "", "state": {"usable": {}}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLogList(b)
		if err != nil {
			return
		}
		logs, _ := l.Follow(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "now")
		for _, lc := range logs {
			if len(lc.Key) == 0 || lc.URL == "" {
				t.Errorf("followed a log without a key or URL: %+v", lc)
			}
		}
	})
}

func FuzzVerifyTreeHead(f *testing.F) {
	cp, _ := os.ReadFile("testdata/willow-2025h1b.checkpoint")
	sth, _ := os.ReadFile("testdata/argon2027h1_sth1.json")
	f.Add(cp, sth)
	f.Fuzz(func(t *testing.T, cp, sth []byte) {
		key, _ := base64.StdEncoding.DecodeString(willowKey)
		VerifyCheckpoint(cp, "willow.ct.letsencrypt.org/2025h1b", key)
		if s, err := ParseSTH(sth); err == nil {
			VerifySTH(key, s)
		}
	})
}
