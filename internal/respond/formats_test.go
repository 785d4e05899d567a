package respond

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// textFormats are the formats of formats_*.go tested here (stix and misp-feed have their own).
var textFormats = []string{
	"plain-ip", "plain-domain", "plain-url", "rpz", "suricata-dataset", "suricata-rules",
	"suricata-iprep", "zeek-intel", "nftables", "ipset", "csv", "json", "splunk-csv", "wazuh-cdb",
	"qradar-json",
}

func init() {
	// Other test files of the package may define -update too; define it only once.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var (
	t0       = time.Date(2026, 9, 29, 12, 0, 0, 0, time.UTC)
	goldOpts = WriteOptions{Name: "omen", Generated: t0}
)

func norm(t testing.TB, typ intel.Type, raw string) intel.Observable {
	t.Helper()
	o, err := intel.Normalize(typ, raw)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// fixedEntries is the golden entry set: every type, IPv6, networks aligned and not, an IDN, URLs
// with quotes, ";" and "|", one over 255 bytes, descriptions with commas, quotes, tabs and line
// breaks, and a formula in a free-text field.
func fixedEntries(t testing.TB) []Entry {
	t.Helper()
	e := func(typ intel.Type, raw string, score int, threat, malware string, sources ...string) Entry {
		return Entry{
			Observable: norm(t, typ, raw), Score: score, TLP: intel.TLPGreen,
			FirstSeen: t0.Add(-48 * time.Hour), LastSeen: t0.Add(-time.Hour),
			Sources: sources, ThreatType: threat, Malware: malware, ID: int64(score),
		}
	}
	long := "http://long.example.com/" + strings.Repeat("a", 260)
	es := []Entry{
		e(intel.IPv4, "198.51.100.7", 92, "c2", "QakBot", "Feodo Tracker"),
		e(intel.IPv4, "203.0.113.5", 40, "scanner", "", "blocklist.de"),
		e(intel.CIDR, "203.0.113.0/24", 70, "", "", "Spamhaus DROP"),
		e(intel.CIDR, "198.18.0.0/15", 55, "spam", "", "Spamhaus DROP"),
		e(intel.CIDR, "192.0.2.128/25", 60, "botnet", "", "test"),
		e(intel.IPv6, "2001:db8::1", 80, "c2", "", "ThreatFox"),
		e(intel.CIDR, "2001:db8:bad::/48", 65, "", "", "Spamhaus DROPv6"),
		e(intel.Domain, "evil.example.com", 88, "c2", "Cobalt \"Beacon\", v4\tstaged\nloader", "ThreatFox", "URLhaus"),
		e(intel.Domain, "пример.рф", 75, "phishing", "", "OpenPhish"),
		e(intel.Domain, "_dmarc.bad.example.net", 30, "", "", "analyst"),
		e(intel.URL, `http://evil.example.com/gate.php?id=1&x="q"`, 85, "malware_download", "=HYPERLINK(\"http://x\")", "URLhaus"),
		e(intel.URL, "https://evil.example.com:8443/a;b|c", 77, "phishing", "", "OpenPhish"),
		e(intel.URL, "http://user:pw@[2001:db8::5]:8080/p?q=1", 50, "", "", "test"),
		e(intel.URL, "ftp://files.example.org/x.exe", 45, "malware_download", "", "test"),
		e(intel.URL, long, 60, "", "", "test"),
		e(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e", 20, "", "", "MalwareBazaar"),
		e(intel.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", 20, "", "", "MalwareBazaar"),
		e(intel.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 95, "", "Emotet", "MalwareBazaar"),
		e(intel.Email, "bad@example.com", 60, "phishing", "", "phish, inc."),
		e(intel.Account, "svc-backup", 50, "", "", "analyst"),
		e(intel.JA3, "e7d705a3286e19ea42f587b344ee6865", 35, "", "", "sslbl"),
		e(intel.CVE, "CVE-2024-3400", 99, "", "", "CISA KEV"),
	}
	es[0].Tags = []string{"botnet", "tlp:green"}
	es[0].TLP = intel.TLPClear
	es[7].Tags = []string{"-leading-dash", "a;b"}
	return es
}

// render writes entries in format name: a Write format's output, or a WriteDir format's files
// concatenated with "==> file <==" headers.
func render(t testing.TB, name string, entries []Entry, o WriteOptions) []byte {
	t.Helper()
	f, ok := Lookup(name)
	if !ok {
		t.Fatalf("format %s not registered", name)
	}
	var buf bytes.Buffer
	if f.Write != nil {
		if err := f.Write(&buf, entries, o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return buf.Bytes()
	}
	dir := t.TempDir()
	if err := f.WriteDir(dir, entries, o); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("==> " + de.Name() + " <==\n")
		buf.Write(b)
	}
	return buf.Bytes()
}

// Every format on the fixed set, against testdata/golden/<format>.golden. Run with -update after a
// deliberate change, and read the diff.
func TestFormatsGolden(t *testing.T) {
	es := fixedEntries(t)
	for _, name := range textFormats {
		t.Run(name, func(t *testing.T) {
			got := render(t, name, es, goldOpts)
			path := filepath.Join("testdata", "golden", name+".golden")
			if updateGolden() {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestFormatsGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update and read the diff):\n%s", name, path, got)
			}
		})
	}
}

func TestFormatsRegistered(t *testing.T) {
	for _, name := range textFormats {
		f, ok := Lookup(name)
		if !ok {
			t.Errorf("%s not registered", name)
			continue
		}
		if f.Description == "" || f.ContentType == "" || (f.Write == nil) == (f.WriteDir == nil) {
			t.Errorf("%s: incomplete registration %+v", name, f)
		}
		ipOnly := len(f.Types) > 0
		for _, typ := range f.Types {
			ipOnly = ipOnly && typ.IsIP()
		}
		if ipOnly && slices.Contains(f.Types, intel.CIDR) && !f.Aggregate {
			t.Errorf("%s carries only IPs and networks but does not aggregate", name)
		}
	}
}

// The output depends on the set only, not on the order the pipeline ranked it in.
func TestFormatsDeterministic(t *testing.T) {
	es := fixedEntries(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range textFormats {
		want := render(t, name, es, goldOpts)
		for range 5 {
			sh := slices.Clone(es)
			r.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
			if got := render(t, name, sh, goldOpts); !bytes.Equal(got, want) {
				t.Errorf("%s: output depends on the entries' order", name)
				break
			}
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	es := fixedEntries(t)
	rows, err := csv.NewReader(bytes.NewReader(render(t, "csv", es, goldOpts))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVHeader) {
		t.Fatalf("header %q", rows[0])
	}
	if len(rows) != len(es)+1 {
		t.Fatalf("%d rows for %d entries", len(rows)-1, len(es))
	}
	byValue := map[string][]string{}
	for _, r := range rows[1:] {
		byValue[r[0]] = r
	}
	for _, e := range es {
		r := byValue[e.Observable.Value]
		if r == nil {
			t.Errorf("%s missing", e.Observable)
			continue
		}
		if r[1] != string(e.Observable.Type) {
			t.Errorf("%s: type %q", e.Observable, r[1])
		}
	}
	if got := byValue["evil.example.com"][8]; got != `Cobalt "Beacon", v4 staged loader` {
		t.Errorf("malware cell %q", got)
	}
	if got := byValue[`http://evil.example.com/gate.php?id=1&x="q"`][8]; !strings.HasPrefix(got, "'=") {
		t.Errorf("formula not neutralised: %q", got)
	}
	if got := byValue["evil.example.com"][9]; got != "'-leading-dash;a;b" {
		t.Errorf("tags cell %q", got)
	}
}

func TestJSONShape(t *testing.T) {
	es := fixedEntries(t)
	var doc JSONExport
	if err := json.Unmarshal(render(t, "json", es, goldOpts), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "omen" || doc.Generated != "2026-09-29T12:00:00Z" || doc.Count != len(es) || len(doc.Entries) != len(es) {
		t.Fatalf("document %+v", doc)
	}
	var empty JSONExport
	if err := json.Unmarshal(render(t, "json", nil, WriteOptions{}), &empty); err != nil || empty.Entries == nil || empty.Count != 0 {
		t.Fatalf("empty export %+v %v", empty, err)
	}
}

func TestZeekIntelShape(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(string(render(t, "zeek-intel", fixedEntries(t), goldOpts)), "\n"), "\n")
	if lines[0] != "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url" {
		t.Fatalf("header %q", lines[0])
	}
	types := map[string]bool{}
	for i, l := range lines[1:] {
		fs := strings.Split(l, "\t")
		if len(fs) != 5 {
			t.Fatalf("line %d: %d fields: %q", i+2, len(fs), l)
		}
		for _, f := range fs {
			if f == "" || strings.ContainsAny(f, "\r\n") {
				t.Errorf("line %d: empty or multi-line field in %q", i+2, l)
			}
		}
		if strings.Contains(fs[0], "://") {
			t.Errorf("line %d: URL with scheme %q", i+2, fs[0])
		}
		types[fs[1]] = true
	}
	for _, want := range []string{"Intel::ADDR", "Intel::SUBNET", "Intel::DOMAIN", "Intel::URL", "Intel::FILE_HASH", "Intel::EMAIL", "Intel::USER_NAME"} {
		if !types[want] {
			t.Errorf("no %s line", want)
		}
	}
}

func TestRPZIPOwner(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"198.51.100.7/32", "32.7.100.51.198.rpz-ip"},
		{"203.0.113.0/24", "24.0.113.0.203.rpz-ip"},
		{"0.0.0.0/0", "0.0.0.0.0.rpz-ip"},
		{"2001:db8::1/128", "128.1.zz.db8.2001.rpz-ip"},
		{"2001:db8:bad::/48", "48.zz.bad.db8.2001.rpz-ip"},
		{"1:0:0:2::/64", "64.zz.2.0.0.1.rpz-ip"},             // the longest run of zeros
		{"1:0:0:2:3:0:0:4/128", "128.4.0.0.3.2.zz.1.rpz-ip"}, // the first of equal runs
		{"2001:db8:0:1:1:1:1:1/128", "128.1.1.1.1.1.0.db8.2001.rpz-ip"},
		{"::/0", "0.zz.rpz-ip"},
		{"::1/128", "128.1.zz.rpz-ip"},
	} {
		if got := rpzIPOwner(netip.MustParsePrefix(tc.prefix)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.prefix, got, tc.want)
		}
	}
}

func TestRPZOptions(t *testing.T) {
	es := []Entry{{Observable: intel.Observable{Type: intel.Domain, Value: "evil.example.com"}, Score: 90}}
	out := string(render(t, "rpz", es, WriteOptions{Generated: t0, RPZ: RPZOptions{Origin: "Block.Example", CNAME: "garden.example.org", Serial: 42}}))
	for _, want := range []string{
		"$ORIGIN block.example.\n",
		"@ IN SOA localhost. hostmaster.block.example. 42 ",
		"evil.example.com CNAME garden.example.org.\n",
		"*.evil.example.com CNAME garden.example.org.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if !strings.Contains(string(render(t, "rpz", es, goldOpts)), " 1790683200 3600 ") {
		t.Error("default serial is not the generation time")
	}
	for _, o := range []RPZOptions{{Origin: "bad origin"}, {CNAME: "x y"}} {
		if err := rpz.Write(new(bytes.Buffer), es, WriteOptions{RPZ: o}); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestWazuhIPv4Keys(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"10.1.1.1/32", []string{"10.1.1.1"}},
		{"10.0.0.0/8", []string{"10."}},
		{"192.168.0.0/16", []string{"192.168."}},
		{"172.16.19.0/24", []string{"172.16.19."}},
		{"198.18.0.0/15", []string{"198.18.", "198.19."}},
		{"192.0.2.0/23", []string{"192.0.2.", "192.0.3."}},
		{"192.0.2.252/30", []string{"192.0.2.252", "192.0.2.253", "192.0.2.254", "192.0.2.255"}},
	} {
		if got := wazuhIPv4Keys(netip.MustParsePrefix(tc.prefix)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.prefix, got, tc.want)
		}
	}
	if n := len(wazuhIPv4Keys(netip.MustParsePrefix("128.0.0.0/1"))); n != 128 {
		t.Errorf("/1 gives %d keys", n)
	}
	if why := Unwritable("wazuh-cdb", Entry{Observable: intel.Observable{Type: intel.CIDR, Value: "2001:db8::/32"}}); why != SkipSyntax {
		t.Errorf("IPv6 network: %q", why)
	}
}

func TestSuricataEscaping(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"evil.example.com", "evil.example.com"},
		{"/a;b|c", "/a|3B|b|7C|c"},
		{`/x="q"\`, `/x=|22|q|22 5C|`},
		{"/sp ace", "/sp|20|ace"},
	} {
		if got := ruleContent(tc.in); got != tc.want {
			t.Errorf("content %q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := ruleText("a;b\"c\\d\te\nf"); got != `a\;b\"c\\d e f` {
		t.Errorf("msg %q", got)
	}
	for _, tc := range []struct{ score, want int }{{0, 1}, {1, 1}, {50, 64}, {100, 127}, {250, 127}, {-3, 1}} {
		if got := iprepScore(tc.score); got != tc.want {
			t.Errorf("iprep score %d: %d, want %d", tc.score, got, tc.want)
		}
	}
}

// A value keeps its sid whatever else the export holds; sids are unique.
func TestSuricataSIDsStable(t *testing.T) {
	es := fixedEntries(t)
	sids := func(es []Entry) map[string]string { // msg to sid
		out := map[string]string{}
		used := map[string]bool{}
		for _, l := range strings.Split(string(render(t, "suricata-rules", es, goldOpts)), "\n") {
			if !strings.HasPrefix(l, "alert") {
				continue
			}
			_, after, _ := strings.Cut(l, `msg:"`)
			msg, _, _ := strings.Cut(after, `";`)
			_, after, _ = strings.Cut(l, "sid:")
			sid, _, _ := strings.Cut(after, ";")
			if used[sid] {
				t.Fatalf("sid %s used twice", sid)
			}
			used[sid] = true
			out[msg] = sid
		}
		return out
	}
	all := sids(es)
	half := sids(es[len(es)/2:])
	if len(half) == 0 {
		t.Fatal("no rules")
	}
	for msg, sid := range half {
		if all[msg] != sid {
			t.Errorf("sid of %q changed with the set: %s, then %s", msg, all[msg], sid)
		}
	}
}

func TestUnwritable(t *testing.T) {
	long := Entry{Observable: norm(t, intel.URL, "http://long.example.com/"+strings.Repeat("a", 260))}
	for _, tc := range []struct {
		format string
		e      Entry
		want   string
	}{
		{"plain-url", long, SkipTooLong},
		{"plain-url", Entry{Observable: norm(t, intel.URL, "http://x.example.com/a*b")}, SkipSyntax},
		{"plain-url", Entry{Observable: intel.Observable{Type: intel.Domain, Value: "x.example.com"}}, SkipType},
		{"plain-ip", Entry{Observable: intel.Observable{Type: intel.IPv4, Value: "300.1.1.1"}}, SkipInvalid},
		{"ipset", Entry{Observable: intel.Observable{Type: intel.CIDR, Value: "0.0.0.0/0"}}, SkipSyntax},
		{"suricata-rules", Entry{Observable: norm(t, intel.URL, "ftp://x.example.com/a")}, SkipType},
		{"rpz", Entry{Observable: intel.Observable{Type: intel.Domain, Value: "x.rpz-ip"}}, SkipSyntax},
		{"zeek-intel", long, ""},
		{"csv", long, ""},
		{"no-such-format", long, ""},
	} {
		if got := Unwritable(tc.format, tc.e); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.format, tc.e.Observable, got, tc.want)
		}
	}
	// The written lines and Unwritable agree.
	out := string(render(t, "plain-url", fixedEntries(t), goldOpts))
	if strings.Contains(out, "long.example.com") || strings.Contains(out, "://") {
		t.Errorf("plain-url wrote a skipped URL or a scheme:\n%s", out)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	es := fixedEntries(t)
	for _, name := range textFormats {
		f, _ := Lookup(name)
		var err error
		if f.Write != nil {
			err = f.Write(failWriter{}, es, goldOpts)
		} else {
			err = f.WriteDir(filepath.Join(t.TempDir(), "missing", "dir"), es, goldOpts)
		}
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the format", name, err)
		}
	}
}

// oddEntries are entries no store holds but a format must survive.
func oddEntries() []Entry {
	var es []Entry
	values := []string{
		"", " ", "-", "\x00", "a\tb\nc", "\"quoted\"", "(empty)", "300.1.1.1", "::ffff:1.2.3.4",
		"1.2.3.4/33", "fe80::1%eth0", "0.0.0.0/0", "::/0", "[", "http://", "http://[::1", "://x",
		"http://h/" + strings.Repeat("x", 9000), strings.Repeat("a.", 200) + "com", "xn--.com",
		"http://évil.com/ü", "\xff\xfe", "a:b:c", "*.example.com", "x.rpz-nsdname", "ZZ",
	}
	types := append(slices.Clone(intel.Types), "", "bogus")
	for i, v := range values {
		for _, typ := range types {
			es = append(es, Entry{
				Observable: intel.Observable{Type: typ, Value: v}, Score: i*37 - 100,
				TLP: intel.TLP(i), ThreatType: v, Malware: v, Sources: []string{v, ""}, Tags: []string{v},
			})
		}
	}
	return es
}

func writeAll(t testing.TB, dir string, es []Entry, o WriteOptions) {
	for _, name := range textFormats {
		f, _ := Lookup(name)
		var err error
		if f.Write != nil {
			err = f.Write(new(bytes.Buffer), es, o)
		} else {
			err = f.WriteDir(dir, es, o)
		}
		if err != nil && !strings.Contains(err.Error(), "invalid origin") && !strings.Contains(err.Error(), "invalid walled-garden") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFormatsOddEntries(t *testing.T) {
	es := oddEntries()
	writeAll(t, t.TempDir(), es, WriteOptions{})
	writeAll(t, t.TempDir(), es, WriteOptions{Name: "we;ird \"name\"\n\t/../x", SIDBase: -5, RPZ: RPZOptions{Origin: "x..y"}})
	writeAll(t, t.TempDir(), nil, goldOpts)
}

// FuzzFormats writes one fuzzed entry (and the fixed set) in every format: no panic, no error.
func FuzzFormats(f *testing.F) {
	for _, e := range fixedEntries(f) {
		f.Add(string(e.Observable.Type), e.Observable.Value, e.Malware, e.Score)
	}
	for _, e := range oddEntries()[:60] {
		f.Add(string(e.Observable.Type), e.Observable.Value, e.Malware, e.Score)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, typ, value, malware string, score int) {
		e := Entry{Observable: intel.Observable{Type: intel.Type(typ), Value: value}, Score: score, Malware: malware, ThreatType: malware, Sources: []string{malware}}
		writeAll(t, dir, []Entry{e, e}, goldOpts)
		for _, name := range textFormats {
			Unwritable(name, e)
		}
	})
}

// BenchmarkPlainIP1M writes a million addresses as plain-ip, beside sorting and writing the same
// strings: the format's own cost.
func BenchmarkPlainIP1M(b *testing.B) {
	es := make([]Entry, 1_000_000)
	strs := make([]string, len(es))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range es {
		a := netip.AddrFrom4([4]byte{byte(r.IntN(223) + 1), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		es[i] = Entry{Observable: intel.Observable{Type: intel.IPv4, Value: a.String()}, Score: 50}
		strs[i] = a.String()
	}
	b.Run("plain-ip", func(b *testing.B) {
		for b.Loop() {
			var buf bytes.Buffer
			if err := plainIP.Write(&buf, es, goldOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-sort-write", func(b *testing.B) {
		for b.Loop() {
			s := slices.Clone(strs)
			slices.Sort(s)
			var buf bytes.Buffer
			for _, v := range s {
				buf.WriteString(v)
				buf.WriteByte('\n')
			}
		}
	})
}
