package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/cli"
	"github.com/omen-tip/omen/internal/demo"
	"github.com/omen-tip/omen/internal/lookup"
)

// omen runs the CLI in-process and returns its exit code, stdout and stderr.
func omen(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := cli.Run(t.Context(), args, strings.NewReader(stdin), &out, &errw)
	return code, out.String(), errw.String()
}

// samples writes the bundled genuine feed samples to a folder and returns it.
func samples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, demo.Files()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func lookupJSON(t *testing.T, data, value string) lookup.Result {
	t.Helper()
	code, out, errs := omen(t, "", "--data", data, "lookup", "--json", value)
	if code != 0 {
		t.Fatalf("lookup %s: exit %d: %s", value, code, errs)
	}
	var r lookup.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("lookup %s: %v: %s", value, err, out)
	}
	return r
}

// The walk-through: import the genuine Feodo, Tor exit, Spamhaus DROP, IPsum and CISA KEV
// samples, then look values up.
func TestImportAndLookup(t *testing.T) {
	src, data := samples(t), filepath.Join(t.TempDir(), "omen-data")
	imports := []struct {
		file, source, rel string
		newCount          int
	}{
		{"feodo-ipblocklist.csv", "feodotracker", "B", 28},
		{"tor-exit-nodes.lst", "tor-exit", "A", 1746},
		{"drop_v4.json", "spamhaus-drop", "A", 1669}, // 62.60.226.0/24 is listed twice
		{"ipsum.head.txt", "ipsum", "C", 2993},
		{"known_exploited_vulnerabilities.head.json", "cisa-kev", "A", 80},
	}
	for _, im := range imports {
		code, out, errs := omen(t, "", "--data", data, "import", "--json", "--source", im.source, "--reliability", im.rel,
			"--confidence", "80", "--tlp", "clear", filepath.Join(src, im.file))
		if code != 0 {
			t.Fatalf("import %s: exit %d\n%s\n%s", im.file, code, out, errs)
		}
		var sum struct {
			Imports []struct{ New, Rejected, Read int }
		}
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("import %s: %v: %s", im.file, err, out)
		}
		got := sum.Imports[0]
		if got.Rejected != 0 || (im.newCount >= 0 && got.New != im.newCount) || got.New == 0 {
			t.Errorf("import %s: %+v, want %d new and no rejects", im.file, got, im.newCount)
		}
	}
	// A text summary for a human, and re-importing the same file updates rather than duplicates.
	code, out, _ := omen(t, "", "--data", data, "import", "--source", "feodotracker", filepath.Join(src, "feodo-ipblocklist.csv"))
	if code != 0 || !strings.Contains(out, "28 read, 0 new, 28 updated") {
		t.Errorf("re-import: exit %d: %s", code, out)
	}

	r := lookupJSON(t, data, "192.9.135.73") // Feodo Tracker's first C2
	if r.Verdict != "malicious" || r.Matches[0].Match != "exact" || r.Matches[0].Indicator.Sources[0].Name != "feodotracker" {
		t.Errorf("feodo C2: %+v", r)
	}
	if len(r.Matches[0].Indicator.Entities) == 0 || r.Matches[0].Indicator.Entities[0].Name != "Pikabot" {
		t.Errorf("feodo C2 entities: %+v", r.Matches[0].Indicator.Entities)
	}
	r = lookupJSON(t, data, "1.10.16.77") // inside DROP's 1.10.16.0/20
	if len(r.Matches) == 0 || r.Matches[0].Match != "cidr" || r.Matches[0].Indicator.Value != "1.10.16.0/20" {
		t.Errorf("DROP range: %+v", r)
	}
	r = lookupJSON(t, data, "cve-2025-48384") // the newest KEV entry of the sample
	if r.Verdict != "malicious" || r.Value != "CVE-2025-48384" {
		t.Errorf("KEV: %+v", r)
	}
	r = lookupJSON(t, data, "3.130.168.2") // an AWS address on IPsum: warninglisted and dampened
	if len(r.Warninglists) == 0 || r.Verdict != "benign" || r.Score >= 20 {
		t.Errorf("AWS address on IPsum: %+v", r)
	}

	// A Cloudflare address reported by an analyst: it shows its warninglist and a dampened score.
	code, _, errs := omen(t, "104.16.123.96\nhttps://evil.com/a\n", "--data", data, "import", "--source", "analyst", "--reliability", "B", "--confidence", "90", "-")
	if code != 0 {
		t.Fatalf("import from stdin: %s", errs)
	}
	r = lookupJSON(t, data, "104.16.123.96")
	if len(r.Warninglists) == 0 || !strings.Contains(r.Warninglists[0].Name, "Cloudflare") || r.Score != 8 || r.Matches[0].Indicator.Score != 8 {
		t.Errorf("Cloudflare address: score %d warninglists %+v evidence %q", r.Score, r.Warninglists, r.Evidence)
	}
	r = lookupJSON(t, data, "hxxps://Evil[.]COM/a")
	if r.Value != "https://evil.com/a" || len(r.Matches) == 0 || r.Matches[0].Indicator.Value != "https://evil.com/a" {
		t.Errorf("defanged URL: %+v", r)
	}

	// Text output for a person, several values at once.
	code, out, _ = omen(t, "", "--data", data, "lookup", "192.9.135.73", "8.8.8.8")
	if code != 0 || !strings.Contains(out, "ipv4 192.9.135.73: MALICIOUS") || !strings.Contains(out, "feodotracker [B]") {
		t.Errorf("text lookup: %s", out)
	}
	code, out, _ = omen(t, "", "--data", data, "sources", "list")
	if code != 0 || !strings.Contains(out, "spamhaus-drop") || !strings.Contains(out, "RELIABILITY") {
		t.Errorf("sources list: %s", out)
	}
}

// Bad input: counted and reported with file and line, the rest imported, no panic.
func TestImportBadInput(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	bad := filepath.Join(dir, "bad.txt")
	body := "1.2.3.4\nnot-an-ioc!!\n\x00\x01\x02binary\n" + strings.Repeat("x", 10<<20) + "\n5.6.7.8\n999.1.1.1\n"
	if err := os.WriteFile(bad, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := omen(t, "", "--data", data, "import", "--format", "text", bad)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(out, "2 new") || !strings.Contains(out, "4 rejected") {
		t.Errorf("summary: %s", out)
	}
	for _, line := range []string{"bad.txt:2:", "bad.txt:3:", "bad.txt:4:", "bad.txt:6:"} {
		if !strings.Contains(errs, line) {
			t.Errorf("rejects lack %s: %s", line, errs)
		}
	}
	if code, _, errs := omen(t, "", "--data", data, "import", filepath.Join(dir, "missing.csv")); code == 0 || !strings.Contains(errs, "missing.csv") {
		t.Errorf("missing file: exit %d %s", code, errs)
	}
	if code, _, errs := omen(t, "", "--data", data, "import", "--tlp", "purple", bad); code == 0 || !strings.Contains(errs, "invalid TLP") {
		t.Errorf("bad flag: exit %d %s", code, errs)
	}
}

func TestKeysAndVersion(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, _ := omen(t, "", "--data", data, "keys", "create", "--role", "analyst", "--name", "soc")
	if code != 0 || !strings.HasPrefix(out, "omen_") {
		t.Fatalf("keys create: %d %q", code, out)
	}
	secret := strings.TrimSpace(out)
	code, out, _ = omen(t, "", "--data", data, "keys", "list")
	if code != 0 || !strings.Contains(out, "soc") || strings.Contains(out, secret) {
		t.Errorf("keys list: %s", out)
	}
	if code, _, errs := omen(t, "", "--data", data, "keys", "create", "--role", "god", "--name", "x"); code == 0 || !strings.Contains(errs, "invalid role") {
		t.Errorf("bad role: %d %s", code, errs)
	}
	if code, out, _ := omen(t, "", "version"); code != 0 || !strings.HasPrefix(out, "omen ") {
		t.Errorf("version: %d %s", code, out)
	}
}

// The README's run command: serve --demo on an empty data directory creates the admin key, and the
// API answers a lookup of a Feodo Tracker address with its source and evidence.
func TestServeDemo(t *testing.T) {
	data := filepath.Join(t.TempDir(), "omen-data")
	srv := startServe(t, "--data", data, "serve", "--demo", "--collect=false")
	defer srv.stop()
	addr, key, errw := srv.addr, srv.key, srv.log
	keyFile := filepath.Join(data, "initial-admin-key")
	if key == "" {
		t.Fatalf("no initial key: %s", errw.String())
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	if !strings.Contains(errw.String(), key) {
		t.Errorf("the key was not printed")
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/lookup/192.9.135.73", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r lookup.Result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("lookup: %d %v", resp.StatusCode, err)
	}
	if r.Verdict != "malicious" || len(r.Matches) == 0 || r.Matches[0].Indicator.Sources[0].Name != "feodotracker" || len(r.Evidence) == 0 {
		t.Errorf("demo lookup: %+v", r)
	}
	if _, err := fs.Stat(demo.Files(), "SOURCES.md"); err != nil {
		t.Errorf("demo data without SOURCES.md: %v", err)
	}
}

// server is an `omen serve` started by [startServe].
type server struct {
	addr string      // host:port on 127.0.0.1
	key  string      // the initial admin key, "" when the data directory had keys already
	log  *syncBuffer // its standard error
	stop func()      // ends it and checks its exit status; also run at cleanup
}

// startServe runs omen with args (which name the serve command) and --listen on a free 127.0.0.1
// port, and waits until /healthz answers 200.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{addr: ln.Addr().String(), log: &syncBuffer{}}
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, append(args, "--listen", srv.addr), strings.NewReader(""), io.Discard, srv.log)
	}()
	var once sync.Once
	srv.stop = func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d: %s", code, srv.log.String())
			}
		})
	}
	t.Cleanup(srv.stop)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d: %s", code, srv.log.String())
		default:
		}
		if resp, err := http.Get("http://" + srv.addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not healthy: %s", srv.log.String())
		}
	}
	for i, a := range args {
		if a == "--data" && i+1 < len(args) {
			if b, err := os.ReadFile(filepath.Join(args[i+1], "initial-admin-key")); err == nil {
				srv.key = strings.TrimSpace(string(b))
			}
		}
	}
	return srv
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
