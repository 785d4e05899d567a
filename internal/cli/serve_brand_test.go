package cli_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/cli"
)

// fakeCTLog serves an RFC 6962 log of one certificate per name.
func fakeCTLog(t *testing.T, names []string) *httptest.Server {
	t.Helper()
	return signedCTLog(t, names, nil, false)
}

// signedCTLog is fakeCTLog with its tree heads signed by logKey (when not nil); with growLater,
// the first tree head is empty and the names appear after it (a log followed from "now").
func signedCTLog(t *testing.T, names []string, logKey *ecdsa.PrivateKey, growLater bool) *httptest.Server {
	t.Helper()
	var sthMu sync.Mutex
	sths := 0
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	for i, n := range names {
		tpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: n}, DNSNames: []string{n},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.Write([]byte{0, 0}) // version v1, leaf type timestamped_entry
		binary.Write(&b, binary.BigEndian, uint64(time.Now().UnixMilli()))
		b.Write([]byte{0, 0}) // x509_entry
		b.Write([]byte{byte(len(der) >> 16), byte(len(der) >> 8), byte(len(der))})
		b.Write(der)
		b.Write([]byte{0, 0}) // no extensions
		leaves = append(leaves, b.Bytes())
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ct/v1/get-sth":
			sthMu.Lock()
			sths++
			size := len(leaves)
			if growLater && sths == 1 {
				size = 0
			}
			sthMu.Unlock()
			ts, root, sig := uint64(time.Now().UnixMilli()), make([]byte, 32), []byte{0}
			if logKey != nil {
				var in bytes.Buffer
				in.Write([]byte{0, 1}) // v1, tree_hash
				binary.Write(&in, binary.BigEndian, ts)
				binary.Write(&in, binary.BigEndian, uint64(size))
				in.Write(root)
				d := sha256.Sum256(in.Bytes())
				der, err := ecdsa.SignASN1(rand.Reader, logKey, d[:])
				if err != nil {
					panic(err)
				}
				sig = append([]byte{4, 3, byte(len(der) >> 8), byte(len(der))}, der...)
			}
			json.NewEncoder(w).Encode(map[string]any{"tree_size": size, "timestamp": ts, "sha256_root_hash": root, "tree_head_signature": sig})
		case "/ct/v1/get-entries":
			start, _ := strconv.Atoi(r.URL.Query().Get("start"))
			end, _ := strconv.Atoi(r.URL.Query().Get("end"))
			var es []map[string][]byte
			for i := start; i <= end && i < len(leaves); i++ {
				es = append(es, map[string][]byte{"leaf_input": leaves[i], "extra_data": {0, 0, 0}})
			}
			json.NewEncoder(w).Encode(map[string]any{"entries": es})
		default:
			http.NotFound(w, r)
		}
	}))
}

// TestServeBrandMonitor: serve follows a CT log; the lookalikes of the organisation's brand among
// its certificates become findings, the benign names do not.
func TestServeBrandMonitor(t *testing.T) {
	log := fakeCTLog(t, append(append([]string{}, planted...), benign...))
	defer log.Close()
	serveBrand(t, "sources: []\nbrand:\n  ct_logs:\n    - {name: fake, url: \""+log.URL+"\", api: rfc6962, start: \"0\"}\n")
}

// TestServeBrandLogList: serve follows the usable logs of a log list (in Chrome's v3 format, like
// the genuine one in internal/collect/ctlog/testdata) from their current size, with their tree
// heads verified with the listed key; the retired log is not read.
func TestServeBrandLogList(t *testing.T) {
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&logKey.PublicKey)
	log := signedCTLog(t, append(append([]string{}, planted...), benign...), logKey, true)
	defer log.Close()
	retired := signedCTLog(t, []string{"paypal-retired.com"}, logKey, false)
	defer retired.Close()
	entry := func(desc, url, state string) map[string]any {
		return map[string]any{"description": desc, "log_id": base64.StdEncoding.EncodeToString(der[:32]),
			"key": base64.StdEncoding.EncodeToString(der), "url": url + "/", "mmd": 86400,
			"state": map[string]any{state: map[string]any{"timestamp": "2026-01-01T00:00:00Z"}}}
	}
	list, _ := json.Marshal(map[string]any{"version": "1.0", "log_list_timestamp": "2026-11-01T00:00:00Z",
		"operators": []any{map[string]any{"name": "Test", "email": []string{"ct@example.test"},
			"logs": []any{entry("Test 'Fake' log", log.URL, "usable"), entry("Test 'Old' log", retired.URL, "retired")}}}})
	path := filepath.Join(t.TempDir(), "log_list.json")
	os.WriteFile(path, list, 0o644)
	found := serveBrand(t, "sources: []\nbrand:\n  ct_log_list: \""+path+"\"\n")
	if _, ok := found["paypal-retired.com"]; ok {
		t.Error("the retired log was read")
	}
}

var (
	planted = []string{"xn--pypal-4ve.com", "paypal-secure-login.com", "paypa1.com"}
	benign  = []string{"example.org", "www.paypal.com", "golang.org"}
)

// serveBrand runs omen serve with config and the PayPal brand, waits for the planted lookalikes
// to become findings and checks the benign names did not; it returns the findings by value.
func serveBrand(t *testing.T, config string) map[string]int {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "omen-data")
	cfg := filepath.Join(dir, "omen.yaml")
	os.WriteFile(cfg, []byte(config), 0o644)
	assets := filepath.Join(dir, "assets.csv")
	os.WriteFile(assets, []byte("kind,name,values,criticality,exposure\nbrand,PayPal,paypal.com,extreme,internet-facing\n"), 0o644)
	var errb bytes.Buffer
	if code := cli.Run(t.Context(), []string{"--data", data, "--config", cfg, "assets", "import", assets}, strings.NewReader(""), io.Discard, &errb); code != 0 {
		t.Fatalf("assets import: %s", errb.String())
	}
	srv := startServe(t, "--data", data, "--config", cfg, "serve", "--collect=false")
	defer srv.stop()
	var found map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+srv.addr+"/api/v1/findings?limit=100", nil)
		req.Header.Set("Authorization", "Bearer "+srv.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Findings []struct {
				Kind       string
				Priority   int
				Evidence   []string
				Observable *struct{ Value string }
			}
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		found = map[string]int{}
		for _, f := range body.Findings {
			if f.Kind == "lookalike-domain" && f.Observable != nil && len(f.Evidence) > 1 && f.Priority > 0 {
				found[f.Observable.Value] = f.Priority
			}
		}
		if len(found) >= len(planted) || time.Now().After(deadline) {
			break
		}
	}
	for _, n := range planted {
		if found[n] == 0 {
			t.Errorf("%s: no lookalike finding (found %v): %s", n, found, srv.log.String())
		}
	}
	for _, n := range benign {
		if _, ok := found[n]; ok {
			t.Errorf("benign %s raised a finding", n)
		}
	}
	return found
}
