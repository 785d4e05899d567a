package enrich_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
)

// corpusFormat tells the format of a testdata file by its name.
func corpusFormat(name string) (enrich.Format, bool) {
	switch {
	case strings.HasPrefix(name, "ecs-"):
		return enrich.FormatECS, true
	case strings.HasPrefix(name, "zeek-"):
		return enrich.FormatZeek, true
	case strings.HasPrefix(name, "suricata-"):
		return enrich.FormatSuricata, true
	case strings.HasSuffix(name, ".log"):
		return enrich.FormatCEF, true
	}
	return "", false
}

// corpusLines returns the non-empty lines of a testdata file.
func corpusLines(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// corpusFiles lists the event files of testdata.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if _, ok := corpusFormat(e.Name()); ok && !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

func decoder(t testing.TB, f enrich.Format) *enrich.Decoder {
	t.Helper()
	d, err := enrich.NewDecoder(f, nil)
	if err != nil {
		t.Fatalf("NewDecoder(%s): %v", f, err)
	}
	return d
}

// TestDecodeCorpus decodes every event of every corpus file: none may fail, Raw must be a JSON
// object, and for JSON input Raw is the line itself.
func TestDecodeCorpus(t *testing.T) {
	files := corpusFiles(t)
	if len(files) < 10 {
		t.Fatalf("only %d corpus files", len(files))
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			f, _ := corpusFormat(name)
			d := decoder(t, f)
			var ev enrich.Event
			for i, line := range corpusLines(t, name) {
				if err := d.Decode(line, &ev); err != nil {
					t.Errorf("line %d: %v", i+1, err)
					continue
				}
				if !json.Valid(ev.Raw) || ev.Raw[0] != '{' {
					t.Errorf("line %d: Raw is not a JSON object: %.200s", i+1, ev.Raw)
				}
				if f != enrich.FormatCEF && !bytes.Equal(ev.Raw, bytes.TrimSpace(line)) {
					t.Errorf("line %d: Raw is not the line", i+1)
				}
			}
		})
	}
}

// f is an ECS field as extracted from ECS input; m a field of mapped input.
func f(path, typ, value string) enrich.Field { return m(path, path, typ, value) }

func m(path, ecs, typ, value string) enrich.Field {
	return enrich.Field{Path: path, ECS: ecs, Observable: intel.Observable{Type: intel.Type(typ), Value: value}}
}

// fieldTests are the exact fields extracted from chosen corpus events (file, line number).
var fieldTests = []struct {
	file string
	line int
	want []enrich.Field
}{
	{"cef.log", 1, []enrich.Field{
		f("http.request.referrer", "url", "https://www.google.com/"),
		f("source.ip", "ipv4", "1.128.3.4"),
		f("destination.ip", "ipv4", "192.168.10.1"),
		f("url.original", "url", "https://www.example.com/cart"),
	}},
	{"cef.log", 2, []enrich.Field{
		f("source.ip", "ipv4", "1.128.3.4"),
		f("source.user.name", "account", "bob"),
		f("destination.ip", "ipv4", "81.2.69.143"),
		f("destination.user.name", "account", "alice"),
		f("destination.nat.ip", "ipv4", "10.10.10.10"),
		f("file.hash.md5", "md5", "bc8bbe52f041fd17318f08a0f73762ce"),
	}},
	{"cef.log", 6, []enrich.Field{
		f("source.ip", "ipv4", "10.37.205.252"),
		f("destination.ip", "ipv4", "10.1.1.40"),
	}},
	{"cef.log", 8, []enrich.Field{
		f("source.user.name", "account", "alice"),
	}},
	{"cef.log", 9, []enrich.Field{
		f("destination.ip", "ipv4", "10.0.0.1"),
		f("destination.user.name", "account", `ntauthority\system`),
	}},
	{"ecs-auth.ndjson", 1, []enrich.Field{
		f("related.ip", "ipv4", "202.196.224.106"),
		f("related.user", "account", "root"),
		f("source.ip", "ipv4", "202.196.224.106"),
		f("user.name", "account", "root"),
	}},
	{"ecs-auth.ndjson", 3, []enrich.Field{}},
	{"ecs-email.ndjson", 1, []enrich.Field{
		f("email.attachments.file.hash.md5", "md5", "b10a8db164e0754105b7a99be72e3fe5"),
		f("email.attachments.file.hash.sha256", "sha256", "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e"),
		f("email.from.address", "email", "info@example.com"),
		f("email.sender.address", "email", "info@example.com"),
		f("email.to.address", "email", "mailer-daemon@example.com"),
		f("related.hash", "md5", "b10a8db164e0754105b7a99be72e3fe5"),
		f("related.hash", "sha256", "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e"),
		f("related.ip", "ipv4", "1.128.3.4"),
		f("source.ip", "ipv4", "1.128.3.4"),
	}},
	{"ecs-email.ndjson", 2, []enrich.Field{
		f("destination.domain", "domain", "example.com"),
		f("email.from.address", "email", "testing@sublimesecurity.com"),
		f("email.reply_to.address", "email", "user@example.com"),
		f("email.to.address", "email", "user@example.com"),
		f("related.hosts", "domain", "example.com"),
		f("related.hosts", "domain", "test.com"),
		f("related.hosts", "domain", "sublimesecurity.com"),
		f("related.ip", "ipv4", "1.128.0.0"),
		f("related.user", "account", "user12"),
		f("related.user", "account", "user@example.com"),
		f("related.user", "account", "testing@sublimesecurity.com"),
		f("source.domain", "domain", "sublimesecurity.com"),
		f("url.domain", "domain", "example.com"),
		f("url.full", "url", "https://example.com/search?q=elasticsearch"),
	}},
	{"ecs-endpoint.ndjson", 1, []enrich.Field{
		f("dll.hash.sha1", "sha1", "5d2a67b664d976a7bb0666371ab9ef83f6f06f2d"),
		f("dll.hash.sha256", "sha256", "9f37f1c77b3425e024d82f36b84364d1a964ebf0741edd3a8096cd7ae8b17b31"),
		f("dll.hash.md5", "md5", "491414a072b93ff2223ef51b9c5e7299"),
		f("user.name", "account", "administrator"),
	}},
	{"ecs-proxy.ndjson", 1, []enrich.Field{
		f("destination.ip", "ipv4", "81.2.69.145"),
		f("related.ip", "ipv4", "81.2.69.193"),
		f("related.ip", "ipv4", "81.2.69.145"),
		f("source.nat.ip", "ipv4", "81.2.69.193"),
		f("source.user.name", "account", "administrator1"),
		f("url.original", "url", "http://www.example.com/"),
		f("user.email", "email", "test@example.com"),
	}},
	{"ecs-proxy.ndjson", 3, []enrich.Field{
		f("source.ip", "ipv4", "192.168.0.1"),
		f("related.ip", "ipv4", "192.168.0.1"),
		f("related.hosts", "domain", "www.binance.com"),
		f("related.hosts", "domain", "api42-api.example.com"),
		f("related.hosts", "domain", "binance.com"),
		f("server.domain", "domain", "api42-api.example.com"),
		f("source.address", "ipv4", "192.168.0.1"),
		f("destination.domain", "domain", "www.binance.com"),
		f("destination.address", "domain", "www.binance.com"),
	}},
	{"ecs-sysmon.ndjson", 1, []enrich.Field{
		f("file.hash.md5", "md5", "c7c45610f644906e6f7d664ef2e45b08"),
		f("file.hash.sha1", "sha1", "9955a1c071c44a7ceecc0d928a9cfb7f64cc3f93"),
		f("file.hash.sha256", "sha256", "4808f1101f4e42387d8ddb7a355668bae3bf6f781c42d3bcd82e23446b1deb3e"),
		f("related.hash", "sha256", "4808f1101f4e42387d8ddb7a355668bae3bf6f781c42d3bcd82e23446b1deb3e"),
		f("related.hash", "sha1", "9955a1c071c44a7ceecc0d928a9cfb7f64cc3f93"),
		f("related.hash", "md5", "c7c45610f644906e6f7d664ef2e45b08"),
		f("related.hash", "md5", "194f3797b52231028c718b6d776c6853"),
	}},
	{"ecs-sysmon.ndjson", 2, []enrich.Field{
		f("process.hash.sha1", "sha1", "b6d237154f2e528f0b503b58b025862d66b02b73"),
		f("related.hash", "sha1", "b6d237154f2e528f0b503b58b025862d66b02b73"),
		f("related.user", "account", "vagrant"),
		f("user.name", "account", "vagrant"),
	}},
	{"ecs-zeek.ndjson", 1, []enrich.Field{
		f("destination.address", "ipv4", "192.168.86.1"),
		f("destination.ip", "ipv4", "192.168.86.1"),
		f("dns.answers.data", "domain", "proxy-production-us-west1.gcp.cloud.es.io"),
		f("dns.answers.data", "domain", "proxy-production-us-west1-v1-009.gcp.cloud.es.io"),
		f("dns.answers.data", "ipv4", "35.199.178.4"),
		f("dns.question.name", "domain", "dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io"),
		f("source.address", "ipv4", "192.168.86.167"),
		f("source.ip", "ipv4", "192.168.86.167"),
	}},
	{"ecs-zeek.ndjson", 2, []enrich.Field{
		f("destination.address", "ipv6", "ff02::fb"),
		f("destination.ip", "ipv6", "ff02::fb"),
		f("source.address", "ipv6", "fe80::4ef:15cf:769f:ff21"),
		f("source.ip", "ipv6", "fe80::4ef:15cf:769f:ff21"),
	}},
	{"ecs-zeek.ndjson", 4, []enrich.Field{
		f("destination.address", "ipv4", "17.253.5.203"),
		f("destination.ip", "ipv4", "17.253.5.203"),
		f("related.ip", "ipv4", "10.178.98.102"),
		f("related.ip", "ipv4", "17.253.5.203"),
		f("related.user", "account", "user"),
		f("source.address", "ipv4", "10.178.98.102"),
		f("source.ip", "ipv4", "10.178.98.102"),
		f("url.domain", "domain", "ocsp.apple.com"),
		f("user.name", "account", "user"),
	}},
	{"ecs-zeek.ndjson", 6, []enrich.Field{
		f("client.address", "ipv4", "10.0.0.1"),
		f("destination.address", "ipv4", "192.168.50.1"),
		f("destination.ip", "ipv4", "192.168.50.1"),
		f("related.ip", "ipv4", "10.0.0.1"),
		f("related.ip", "ipv4", "192.168.50.1"),
		f("server.address", "ipv4", "192.168.50.1"),
		f("source.address", "ipv4", "10.0.0.1"),
		f("source.ip", "ipv4", "10.0.0.1"),
		f("tls.client.ja3", "ja3", "74927e242d6c3febf8cb9cab10a7f889"),
		f("tls.server.ja3s", "ja3", "80b3a14bccc8598a1f3bbe83e71f735f"),
	}},
	{"suricata-eve.ndjson", 2, []enrich.Field{
		m("src_ip", "source.ip", "ipv4", "192.168.86.85"),
		m("dest_ip", "destination.ip", "ipv4", "192.168.156.70"),
		m("tls.sni", "destination.domain", "domain", "l2.io"),
	}},
	{"suricata-eve.ndjson", 3, []enrich.Field{
		m("src_ip", "source.ip", "ipv4", "192.168.86.85"),
		m("dest_ip", "destination.ip", "ipv4", "192.168.86.28"),
		m("http.hostname", "url.domain", "ipv4", "192.168.86.28"),
	}},
	{"suricata-eve.ndjson", 4, []enrich.Field{
		m("src_ip", "source.ip", "ipv4", "192.168.86.28"),
		m("dest_ip", "destination.ip", "ipv4", "192.168.86.85"),
		m("http.hostname", "url.domain", "ipv4", "192.168.86.28"),
		m("fileinfo.md5", "file.hash.md5", "md5", "427b7337ff37eeb24d74f47d8e04cf21"),
		m("fileinfo.sha1", "file.hash.sha1", "sha1", "313573490192c685e9e53abef25453ed0d5e2aee"),
		m("fileinfo.sha256", "file.hash.sha256", "sha256", "f610428ebddf6f8cf9e39322e672583c45fcdcf885efad0ab48fd53a3dfc2c4b"),
	}},
	{"suricata-eve.ndjson", 5, []enrich.Field{
		m("src_ip", "source.ip", "ipv4", "192.168.86.1"),
		m("dest_ip", "destination.ip", "ipv4", "192.168.86.85"),
		m("dns.rrname", "dns.question.name", "domain", "clients.l.google.com"),
		m("dns.rdata", "dns.answers.data", "ipv4", "172.217.13.110"),
	}},
	{"suricata-eve.ndjson", 10, []enrich.Field{
		m("src_ip", "source.ip", "ipv4", "10.0.2.3"),
		m("dest_ip", "destination.ip", "ipv4", "10.0.2.15"),
		m("dns.rrname", "dns.question.name", "domain", "www.elastic.co"),
		m("dns.answers.rdata", "dns.answers.data", "domain", "dualstack.r2.shared.global.fastly.net"),
		m("dns.answers.rdata", "dns.answers.data", "ipv4", "151.101.130.217"),
		m("dns.answers.rdata", "dns.answers.data", "ipv4", "151.101.194.217"),
		m("dns.answers.rdata", "dns.answers.data", "ipv4", "151.101.2.217"),
		m("dns.answers.rdata", "dns.answers.data", "ipv4", "151.101.66.217"),
	}},
	{"zeek-dns.ndjson", 1, []enrich.Field{
		m("id.orig_h", "source.ip", "ipv4", "192.168.86.167"),
		m("id.resp_h", "destination.ip", "ipv4", "192.168.86.1"),
		m("query", "dns.question.name", "domain", "dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io"),
		m("answers", "dns.answers.data", "domain", "proxy-production-us-west1.gcp.cloud.es.io"),
		m("answers", "dns.answers.data", "domain", "proxy-production-us-west1-v1-009.gcp.cloud.es.io"),
		m("answers", "dns.answers.data", "ipv4", "35.199.178.4"),
	}},
	{"zeek-files.ndjson", 1, []enrich.Field{
		m("tx_hosts", "server.ip", "ipv4", "35.199.178.4"),
		m("rx_hosts", "client.ip", "ipv4", "10.178.98.102"),
		m("md5", "file.hash.md5", "md5", "79e4a9840d7d3a96d7c04fe2434c892e"),
		m("sha1", "file.hash.sha1", "sha1", "a8985d3a65e5e5c4b2d7d66d40c6dd2fb19c5436"),
	}},
	{"zeek-http.ndjson", 1, []enrich.Field{
		m("id.orig_h", "source.ip", "ipv4", "10.178.98.102"),
		m("id.resp_h", "destination.ip", "ipv4", "17.253.5.203"),
		m("username", "user.name", "account", "user"),
		m("host", "url.domain", "domain", "ocsp.apple.com"),
		m("host+uri", "url.full", "url", "http://ocsp.apple.com/ocsp04-aaica02/ME4wTKADAgEAMEUwQzBBMAkGBSsOAwIaBQAEFNqvF+Za6oA4ceFRLsAWwEInjUhJBBQx6napI3Sl39T97qDBpp7GEQ4R7AIIUP1IOZZ86ns="),
	}},
	{"zeek-ssl.ndjson", 1, []enrich.Field{
		m("id.orig_h", "source.ip", "ipv4", "10.0.0.1"),
		m("id.resp_h", "destination.ip", "ipv4", "192.168.50.1"),
		m("ja3", "tls.client.ja3", "ja3", "74927e242d6c3febf8cb9cab10a7f889"),
		m("ja3s", "tls.server.ja3s", "ja3", "80b3a14bccc8598a1f3bbe83e71f735f"),
	}},
}

func TestDecodeFields(t *testing.T) {
	for _, tc := range fieldTests {
		t.Run(tc.file+":"+itoa(tc.line), func(t *testing.T) {
			format, _ := corpusFormat(tc.file)
			lines := corpusLines(t, tc.file)
			var ev enrich.Event
			if err := decoder(t, format).Decode(lines[tc.line-1], &ev); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ev.Fields, tc.want) {
				t.Errorf("fields:\n got %v\nwant %v", ev.Fields, tc.want)
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// requiredFields are the ECS fields the issue asks for (hash fields by set).
var requiredFields = []string{
	"source.ip", "destination.ip", "client.ip", "server.ip",
	"source.address", "destination.address", "client.address", "server.address",
	"source.domain", "destination.domain", "client.domain", "server.domain",
	"dns.question.name", "dns.answers.data", "url.full", "url.original", "url.domain", "http.request.referrer",
	"file.hash.", "process.hash.", "process.parent.hash.", "dll.hash.",
	"email.from.address", "email.to.address", "email.sender.address", "email.reply_to.address",
	"email.attachments.file.hash.", "user.name", "user.email",
	"related.ip", "related.hosts", "related.hash", "related.user", "tls.server.ja3s", "tls.client.ja3",
}

// shapeOnly are required fields no genuine sample in testdata holds; TestDecodeShapes covers them.
var shapeOnly = []string{"client.domain", "process.parent.hash."}

// TestFieldCoverage checks that the genuine-event table covers every required field but the few in
// shapeOnly.
func TestFieldCoverage(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range fieldTests {
		for _, fl := range tc.want {
			covered[fl.ECS] = true
		}
	}
	for _, req := range requiredFields {
		ok := covered[req]
		if strings.HasSuffix(req, ".") {
			for ecs := range covered {
				if strings.HasPrefix(ecs, req) && !strings.HasPrefix(ecs, req+"parent") && strings.Count(ecs, ".") == strings.Count(req, ".") {
					ok = true
				}
			}
		}
		if !ok && !slices.Contains(shapeOnly, req) {
			t.Errorf("no genuine event in the table covers %s", req)
		}
		if ok && slices.Contains(shapeOnly, req) {
			t.Errorf("%s is covered now: drop it from shapeOnly", req)
		}
	}
	for _, req := range requiredFields {
		if !strings.HasSuffix(req, ".") && !slices.Contains(enrich.ExtractedFields(), req) {
			t.Errorf("%s is not extracted", req)
		}
	}
}

// TestDecodeShapes covers the ECS shapes: nested objects, dotted keys, mixtures, arrays of strings
// and of objects, escapes, exclusions and skipped values.
func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []enrich.Field
	}{
		{"nested", `{"source":{"ip":"1.2.3.4"}}`, []enrich.Field{f("source.ip", "ipv4", "1.2.3.4")}},
		{"dotted", `{"source.ip":"1.2.3.4"}`, []enrich.Field{f("source.ip", "ipv4", "1.2.3.4")}},
		{"mixed", `{"client":{"geo.name":"x","domain":"WWW.Example.COM."},"process.parent":{"hash.sha256":"` + strings.Repeat("AB", 32) + `"}}`,
			[]enrich.Field{f("client.domain", "domain", "www.example.com"), f("process.parent.hash.sha256", "sha256", strings.Repeat("ab", 32))}},
		{"array of objects", `{"dns":{"answers":[{"data":"a.example.com","ttl":1},{"data":"10.0.0.1"},{"data":"v=spf1 -all"}]}}`,
			[]enrich.Field{f("dns.answers.data", "domain", "a.example.com"), f("dns.answers.data", "ipv4", "10.0.0.1")}},
		{"nested arrays", `{"email.to.address":[["a@example.com"],"b@example.com"]}`,
			[]enrich.Field{f("email.to.address", "email", "a@example.com"), f("email.to.address", "email", "b@example.com")}},
		{"duplicates once", `{"related.ip":["1.2.3.4","1.2.3.4"],"related":{"ip":"1.2.3.4"}}`, []enrich.Field{f("related.ip", "ipv4", "1.2.3.4")}},
		{"escapes", `{"url":{"full":"http:\/\/evil.example.com\/a\u0062"},"user\u002ename":"Bob"}`,
			[]enrich.Field{f("url.full", "url", "http://evil.example.com/ab"), f("user.name", "account", "bob")}},
		{"threat excluded", `{"threat":{"indicator":{"ip":"1.2.3.4"},"enrichments":[{"indicator":{"url":{"full":"http://a.example.com/"}},"matched":{"atomic":"1.2.3.4"}}]},"threat.indicator.ip":"5.6.7.8"}`, nil},
		{"skipped values", `{"source.ip":"-","user.name":"","url.original":"/only/a/path","destination.ip":"999.1.1.1","source.address":null,"client.ip":42,"related.hash":"4d5e6f","user":{"name":"a b"}}`, nil},
		{"ipv4-mapped and v6", `{"source.ip":"::ffff:10.1.2.3","destination.ip":"2001:DB8::1"}`,
			[]enrich.Field{f("source.ip", "ipv4", "10.1.2.3"), f("destination.ip", "ipv6", "2001:db8::1")}},
		{"ja3 and hashes", `{"tls":{"client":{"ja3":"74927E242D6C3FEBF8CB9CAB10A7F889"}},"file.hash.sha512":"` + strings.Repeat("0f", 64) + `","process.hash.md5":"b10a8db164e0754105b7a99be72e3fe5"}`,
			[]enrich.Field{f("tls.client.ja3", "ja3", "74927e242d6c3febf8cb9cab10a7f889"), f("file.hash.sha512", "sha512", strings.Repeat("0f", 64)), f("process.hash.md5", "md5", "b10a8db164e0754105b7a99be72e3fe5")}},
		{"unwanted deep skipped", `{"winlog":{"event_data":{"a":[1,2,{"b":"1.2.3.4"}]}},"source":{"geo":{"location":{"lat":1.5e3}}}}`, nil},
	}
	d := decoder(t, enrich.FormatECS)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev enrich.Event
			if err := d.Decode([]byte(tc.in), &ev); err != nil {
				t.Fatal(err)
			}
			if len(ev.Fields) == 0 && len(tc.want) == 0 {
				return
			}
			if !slices.Equal(ev.Fields, tc.want) {
				t.Errorf("fields:\n got %v\nwant %v", ev.Fields, tc.want)
			}
		})
	}
}

func TestDecodeContext(t *testing.T) {
	tests := []struct {
		file string
		line int
		want enrich.Context
	}{
		{"ecs-endpoint.ndjson", 1, enrich.Context{
			Timestamp: time.Date(2024, 5, 23, 12, 54, 16, 568609300, time.UTC),
			HostName:  "clauhvmvictim05",
			HostIPs:   []netip.Addr{netip.MustParseAddr("192.168.58.17"), netip.MustParseAddr("fe80::e587:78d4:d27f:eed4"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
			UserName:  "Administrator", Outcome: "success", Action: "rule_detection", Kind: "alert",
			Tactics: []string{"Defense Evasion"}, Dataset: "endpoint.alerts",
		}},
		{"ecs-auth.ndjson", 1, enrich.Context{HostName: "slave22", UserName: "root", Outcome: "failure", Action: "ssh_login", Kind: "event", Dataset: "system.auth"}},
		{"ecs-sysmon.ndjson", 2, enrich.Context{Timestamp: time.Date(2020, 10, 27, 20, 0, 14, 320000000, time.UTC), HostName: "vagrant", UserName: "vagrant", Action: "Process creation", Kind: "event", Dataset: "sysmon"}},
		{"zeek-dns.ndjson", 1, enrich.Context{Timestamp: time.Date(2019, 1, 11, 6, 33, 35, 857497000, time.UTC)}},
		{"suricata-eve.ndjson", 2, enrich.Context{Timestamp: time.Date(2018, 7, 5, 19, 7, 20, 910626000, time.UTC), Action: "allowed", Kind: "alert"}},
		{"cef.log", 6, enrich.Context{Timestamp: time.Date(2020, 1, 17, 8, 52, 9, 0, time.UTC), HostName: "10.1.1.40", Action: "Allow"}},
	}
	for _, tc := range tests {
		t.Run(tc.file+":"+itoa(tc.line), func(t *testing.T) {
			format, _ := corpusFormat(tc.file)
			var ev enrich.Event
			if err := decoder(t, format).Decode(corpusLines(t, tc.file)[tc.line-1], &ev); err != nil {
				t.Fatal(err)
			}
			got := ev.Context
			if !got.Timestamp.Equal(tc.want.Timestamp) || got.HostName != tc.want.HostName ||
				!slices.Equal(got.HostIPs, tc.want.HostIPs) || got.UserName != tc.want.UserName ||
				got.Outcome != tc.want.Outcome || got.Action != tc.want.Action || got.Kind != tc.want.Kind ||
				!slices.Equal(got.Tactics, tc.want.Tactics) || got.Dataset != tc.want.Dataset {
				t.Errorf("context:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestDecodeTimestamps covers the timestamp forms.
func TestDecodeTimestamps(t *testing.T) {
	want := time.Date(2019, 1, 11, 6, 33, 35, 857000000, time.UTC)
	for _, in := range []string{
		`{"@timestamp":"2019-01-11T06:33:35.857Z"}`,
		`{"@timestamp":"2019-01-11T07:33:35.857+01:00"}`,
		`{"@timestamp":1547188415857}`,
		`{"@timestamp":"1547188415857"}`,
		`{"@timestamp":"2019-01-11T01:33:35.857-0500"}`,
	} {
		var ev enrich.Event
		if err := decoder(t, enrich.FormatECS).Decode([]byte(in), &ev); err != nil {
			t.Fatal(err)
		}
		if !ev.Context.Timestamp.Equal(want) {
			t.Errorf("%s: timestamp %v, want %v", in, ev.Context.Timestamp, want)
		}
	}
}

// TestDecodeErrors checks that bad input gives a SyntaxError at the right offset and no panic.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{``, 0, "empty line"},
		{"  \n", 0, "empty line"},
		{`[1,2]`, 0, "must be a JSON object"},
		{`{"a":1`, 6, "unexpected end of input"},
		{`{"a":1,}`, 7, "expected a string for an object key"},
		{`{"a" 1}`, 5, "expected ':'"},
		{`{"source":{"ip":"1.2.3.4}}`, 16, "unterminated string"},
		{`{"a":tru}`, 5, "expected true"},
		{`{"a":01}`, 6, "expected ',' or '}'"},
		{`{"a":-}`, 6, "expected a digit"},
		{`{"a":1.}`, 7, "after the decimal point"},
		{`{"a":"\x"}`, 6, "invalid escape"},
		{`{"a":"\u12"}`, 6, "invalid \\u escape"},
		{"{\"a\":\"\x01\"}", 6, "control character"},
		{`{"a":[1 2]}`, 8, "expected ',' or ']'"},
		{`{"a":1}{}`, 7, "unexpected data after"},
		{`{"source.ip":"1.2.3.4","x":}`, 27, "expected a value"},
		{`  {"a":@}`, 7, "invalid character '@'"},
	}
	d := decoder(t, enrich.FormatECS)
	for _, tc := range tests {
		var ev enrich.Event
		err := d.Decode([]byte(tc.in), &ev)
		var se *enrich.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a SyntaxError", tc.in, err)
			continue
		}
		if se.Offset != tc.offset || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %q at %d, want %q at %d", tc.in, err, se.Offset, tc.msg, tc.offset)
		}
		if !strings.HasPrefix(err.Error(), "invalid ecs event: byte ") {
			t.Errorf("%q: error %q does not name the format and offset", tc.in, err)
		}
	}
	// Deep nesting is an error, not a stack overflow.
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	var ev enrich.Event
	if err := d.Decode([]byte(deep), &ev); err == nil || !strings.Contains(err.Error(), "nesting too deep") {
		t.Errorf("deep nesting: %v", err)
	}
}

// TestDecodeReuse checks that an Event is reset between decodes.
func TestDecodeReuse(t *testing.T) {
	d := decoder(t, enrich.FormatECS)
	var ev enrich.Event
	lines := corpusLines(t, "ecs-endpoint.ndjson")
	if err := d.Decode(lines[0], &ev); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode([]byte(`{"source":{"ip":"10.0.0.1"}}`), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Fields) != 1 || ev.Context.HostName != "" || len(ev.Context.HostIPs) != 0 || len(ev.Context.Tactics) != 0 || !ev.Context.Timestamp.IsZero() {
		t.Errorf("event not reset: %+v", ev)
	}
	if err := d.Decode([]byte(`{"x":`), &ev); err == nil || ev.Raw != nil || len(ev.Fields) != 0 {
		t.Errorf("failed decode left %v, %+v", err, ev)
	}
}

// TestDecoderConcurrent decodes with one Decoder from several goroutines (run with -race).
func TestDecoderConcurrent(t *testing.T) {
	d := decoder(t, enrich.FormatECS)
	var lines [][]byte
	for _, name := range corpusFiles(t) {
		if fm, _ := corpusFormat(name); fm == enrich.FormatECS {
			lines = append(lines, corpusLines(t, name)...)
		}
	}
	want := make([][]enrich.Field, len(lines))
	for i, l := range lines {
		var ev enrich.Event
		if err := d.Decode(l, &ev); err != nil {
			t.Fatal(err)
		}
		want[i] = slices.Clone(ev.Fields)
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			var ev enrich.Event
			for r := 0; r < 20; r++ {
				for i, l := range lines {
					if err := d.Decode(l, &ev); err != nil {
						done <- err
						return
					}
					if !slices.Equal(ev.Fields, want[i]) {
						done <- errors.New("different fields under concurrency")
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestNewDecoder(t *testing.T) {
	if _, err := enrich.NewDecoder("leef", nil); err == nil || !strings.Contains(err.Error(), `"leef"`) {
		t.Errorf("unknown format: %v", err)
	}
	m := &enrich.Mapping{Name: "custom", Fields: map[string]string{"threat.indicator.ip": "source.ip"}}
	if _, err := enrich.NewDecoder(enrich.FormatECS, m); err == nil || !strings.Contains(err.Error(), "threat.indicator.ip") {
		t.Errorf("excluded path: %v", err)
	}
	// A custom field added to ECS.
	m = &enrich.Mapping{Name: "custom", Fields: map[string]string{"labels.c2": "destination.domain"}}
	d, err := enrich.NewDecoder(enrich.FormatECS, m)
	if err != nil {
		t.Fatal(err)
	}
	var ev enrich.Event
	if err := d.Decode([]byte(`{"labels":{"c2":"Evil.Example.com"},"source.ip":"1.2.3.4"}`), &ev); err != nil {
		t.Fatal(err)
	}
	want := []enrich.Field{m2("labels.c2", "destination.domain", "domain", "evil.example.com"), f("source.ip", "ipv4", "1.2.3.4")}
	if !slices.Equal(ev.Fields, want) {
		t.Errorf("custom mapping: got %v, want %v", ev.Fields, want)
	}
	for _, s := range []string{"ECS", " zeek", "suricata", "cef"} {
		if _, err := enrich.ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	if _, err := enrich.ParseFormat("json"); err == nil {
		t.Error("ParseFormat(json): no error")
	}
}

var m2 = m
