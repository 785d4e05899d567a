package list_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/intel"
)

// result is everything one Parse call produced.
type result struct {
	recs    []list.Record
	rejects []list.Reject
	st      list.Stats
	err     error
}

func parse(t testing.TB, r io.Reader, opts list.Options) result {
	t.Helper()
	var res result
	res.st, res.err = list.Parse(context.Background(), r, opts,
		func(rec list.Record) error { res.recs = append(res.recs, rec); return nil },
		func(rej list.Reject) { res.rejects = append(res.rejects, rej) })
	return res
}

func parseString(t testing.TB, s string, opts list.Options) result {
	t.Helper()
	return parse(t, strings.NewReader(s), opts)
}

// sum renders a record in one line for comparison: "line type:value" and the fields that are set.
func sum(r list.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", r.Line, r.Observable)
	if len(r.Tags) > 0 {
		fmt.Fprintf(&b, " tags=%s", strings.Join(r.Tags, ","))
	}
	if r.Malware != "" {
		fmt.Fprintf(&b, " malware=%s", r.Malware)
	}
	if r.ThreatType != "" {
		fmt.Fprintf(&b, " threat=%s", r.ThreatType)
	}
	if r.Confidence != 0 {
		fmt.Fprintf(&b, " conf=%d", r.Confidence)
	}
	for _, tm := range []struct {
		name string
		t    time.Time
	}{{"first", r.FirstSeen}, {"last", r.LastSeen}, {"until", r.ValidUntil}} {
		if !tm.t.IsZero() {
			fmt.Fprintf(&b, " %s=%s", tm.name, tm.t.Format(time.RFC3339))
		}
	}
	return b.String()
}

func sums(recs []list.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = sum(r)
	}
	return out
}

// rejectLines renders rejects as "line: error".
func rejectLines(rej []list.Reject) []string {
	out := make([]string, len(rej))
	for i, r := range rej {
		out[i] = fmt.Sprintf("%d: %v", r.Line, r.Err)
	}
	return out
}

// checkRejects compares rejects with want, each "line: substring of the error".
func checkRejects(t *testing.T, got []list.Reject, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("rejects = %q, want %d like %q", rejectLines(got), len(want), want)
	}
	for i, w := range want {
		line, sub, _ := strings.Cut(w, ": ")
		g := got[i]
		if fmt.Sprint(g.Line) != line || !strings.Contains(g.Err.Error(), sub) || !strings.HasPrefix(g.Err.Error(), "line "+line+": ") {
			t.Errorf("reject %d = %d: %v, want line %s with %q", i, g.Line, g.Err, line, sub)
		}
		if len(g.Input) > 200 {
			t.Errorf("reject %d input is %d bytes", i, len(g.Input))
		}
	}
}

func openTestdata(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func countTag(recs []list.Record, tag string) int {
	n := 0
	for _, r := range recs {
		if slices.Contains(r.Tags, tag) {
			n++
		}
	}
	return n
}

func allOfType(t *testing.T, recs []list.Record, types ...intel.Type) {
	t.Helper()
	for _, r := range recs {
		if !slices.Contains(types, r.Observable.Type) {
			t.Fatalf("line %d: %s, want types %v", r.Line, r.Observable, types)
		}
	}
}

// TestParseSamples parses each genuine feed sample with its format and with auto-detection.
func TestParseSamples(t *testing.T) {
	tests := []struct {
		file                              string
		format                            list.Format
		lines, records, rejected, skipped int
		check                             func(t *testing.T, recs []list.Record)
	}{
		{
			// 8 banner lines, a plain quoted header, 28 rows, "# END 28 entries" without a newline.
			file: "feodo-ipblocklist.csv", format: list.CSV, lines: 38, records: 28, skipped: 10,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.IPv4)
				if got, want := sum(recs[0]), "10 ipv4:192.9.135.73 malware=Pikabot first=2023-05-23T17:51:44Z last=2024-04-01T00:00:00Z"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				if got, want := sum(recs[27]), "37 ipv4:172.233.221.61 malware=Pikabot first=2024-04-04T07:03:03Z last=2024-04-04T00:00:00Z"; got != want {
					t.Errorf("last record = %s, want %s", got, want)
				}
				for _, r := range recs {
					if r.FirstSeen.IsZero() || r.LastSeen.IsZero() || r.Malware == "" {
						t.Errorf("incomplete record %s", sum(r))
					}
				}
			},
		},
		{
			// The bulk exit list: 1,127 IPv4 and 619 IPv6 addresses, one a line, no header.
			file: "tor-exit-nodes.lst", format: list.Text, lines: 1746, records: 1746,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.IPv4, intel.IPv6)
				if got, want := sum(recs[0]), "1 ipv4:101.99.92.179"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				// Written out in full in the list; canonical in compressed form.
				if got, want := sum(recs[701]), "702 ipv6:2001:470:1:908::9001"; got != want {
					t.Errorf("record 702 = %s, want %s", got, want)
				}
				n := 0
				for _, r := range recs {
					if r.Observable.Type == intel.IPv6 {
						n++
					}
				}
				if n != 619 {
					t.Errorf("%d IPv6 records, want 619", n)
				}
			},
		},
		{
			// 7 "#" header lines, then "IP<TAB>count" to line 3000.
			file: "ipsum.head.txt", format: list.Text, lines: 3000, records: 2993, skipped: 7,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.IPv4)
				if got, want := sum(recs[0]), "8 ipv4:77.90.185.20 tags=count:10"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				for _, r := range recs {
					if len(r.Tags) != 1 || !strings.HasPrefix(r.Tags[0], "count:") {
						t.Fatalf("record %s: want one count tag", sum(r))
					}
				}
			},
		},
		{
			// 1,670 {"cidr","sblid","rir"} lines and the metadata trailer.
			file: "drop_v4.json", format: list.NDJSON, lines: 1671, records: 1670, skipped: 1,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.CIDR)
				if got, want := sum(recs[0]), "1 cidr:1.10.16.0/20 tags=SBL256894"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				if got, want := sum(recs[1669]), "1670 cidr:223.254.0.0/16 tags=SBL212803"; got != want {
					t.Errorf("last record = %s, want %s", got, want)
				}
			},
		},
		{
			// 201 {"asn":932,...} lines and the metadata trailer.
			file: "asn_drop.json", format: list.NDJSON, lines: 202, records: 201, skipped: 1,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.ASN)
				if got, want := sum(recs[0]), "1 asn:AS932"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				if got, want := sum(recs[200]), "201 asn:AS400506"; got != want {
					t.Errorf("last record = %s, want %s", got, want)
				}
			},
		},
		{
			// {"title",...,"vulnerabilities":[80 objects]}, pretty-printed, no final newline.
			file: "known_exploited_vulnerabilities.head.json", format: list.JSON, lines: 1202, records: 80,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.CVE)
				if got, want := sum(recs[0]), "7 cve:CVE-2025-48384 tags=kev first=2025-08-25T00:00:00Z"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				if got, want := recs[1].Line, 23; got != want {
					t.Errorf("second record on line %d, want %d", got, want)
				}
				if got := countTag(recs, "kev"); got != 80 {
					t.Errorf("%d records tagged kev, want 80", got)
				}
				if got := countTag(recs, "ransomware"); got != 6 {
					t.Errorf("%d records tagged ransomware, want 6", got)
				}
			},
		},
		{
			// The same 80 entries as CSV with a plain header.
			file: "known_exploited_vulnerabilities.head.csv", format: list.CSV, lines: 81, records: 80, skipped: 1,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.CVE)
				if got, want := sum(recs[0]), "2 cve:CVE-2025-48384 tags=kev first=2025-08-25T00:00:00Z"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				if got, want := sum(recs[20]), "22 cve:CVE-2025-49704 tags=kev,ransomware first=2025-07-22T00:00:00Z"; got != want {
					t.Errorf("record on line 22 = %s, want %s", got, want)
				}
				if got := countTag(recs, "ransomware"); got != 6 {
					t.Errorf("%d records tagged ransomware, want 6", got)
				}
			},
		},
		{
			// "#model_version:..." then the header "cve,epss,percentile" and 39 rows.
			file: "epss_scores-current.head.csv", format: list.CSV, lines: 41, records: 39, skipped: 2,
			check: func(t *testing.T, recs []list.Record) {
				allOfType(t, recs, intel.CVE)
				if got, want := sum(recs[0]), "3 cve:CVE-1999-0001"; got != want {
					t.Errorf("first record = %s, want %s", got, want)
				}
				if got, want := sum(recs[38]), "41 cve:CVE-1999-0040"; got != want {
					t.Errorf("last record = %s, want %s", got, want)
				}
			},
		},
	}
	for _, tc := range tests {
		for _, format := range []list.Format{tc.format, list.Auto} {
			t.Run(tc.file+"/"+string(format), func(t *testing.T) {
				res := parse(t, openTestdata(t, tc.file), list.Options{Format: format})
				if res.err != nil {
					t.Fatalf("Parse: %v", res.err)
				}
				want := list.Stats{Format: tc.format, Lines: tc.lines, Records: tc.records, Rejected: tc.rejected, Skipped: tc.skipped}
				if res.st != want {
					t.Errorf("stats = %+v, want %+v; rejects %q", res.st, want, rejectLines(res.rejects))
				}
				if len(res.recs) != tc.records {
					t.Fatalf("%d records emitted, want %d", len(res.recs), tc.records)
				}
				tc.check(t, res.recs)
			})
		}
	}
}

// TestParseText covers the text format's rules.
func TestParseText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opts    list.Options
		want    []string
		rejects []string
		skipped int
	}{
		{
			name:    "comments and blank lines",
			in:      "# header\n; semicolon\n// slashes\n\n   \n1.2.3.4\n# END 1 entries",
			want:    []string{"6 ipv4:1.2.3.4"},
			skipped: 6,
		},
		{
			name: "inline comments become tags",
			in:   "1.2.3.0/24 ; SBL123\n5.6.7.8 # scanner seen\n9.9.9.9\t// note\n",
			want: []string{"1 cidr:1.2.3.0/24 tags=SBL123", "2 ipv4:5.6.7.8 tags=scanner seen", "3 ipv4:9.9.9.9 tags=note"},
		},
		{
			name: "extra columns",
			in:   "77.90.185.20\t10\n1.2.3.4 c2 botnet\n5.6.7.8 " + strings.Repeat("x", 65) + "\n",
			want: []string{"1 ipv4:77.90.185.20 tags=count:10", "2 ipv4:1.2.3.4 tags=c2 botnet", "3 ipv4:5.6.7.8"},
		},
		{
			name: "CRLF and BOM",
			in:   "\xef\xbb\xbf1.2.3.4\r\n# c\r\n5.6.7.8\r\n",
			want: []string{"1 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"}, skipped: 1,
		},
		{
			name: "defanged and canonicalised",
			in:   "hxxps://Evil[.]COM/a\nEVIL-Domain[.]com\nCVE-2024-3400\n",
			want: []string{"1 url:https://evil.com/a", "2 domain:evil-domain.com", "3 cve:CVE-2024-3400"},
		},
		{
			name: "hosts file",
			in:   "127.0.0.1 localhost\n::1 ip6-localhost\n0.0.0.0 0.0.0.0\n0.0.0.0 evil-ads.com\n127.0.0.1 tracker.bad-domain.net # ads\n",
			want: []string{"4 domain:evil-ads.com", "5 domain:tracker.bad-domain.net tags=ads"}, skipped: 3,
		},
		{
			name:    "bad values are rejected, the rest goes on",
			in:      "1.2.3.4\nreadme.txt\n1.2.3.999\n5.6.7.8\n",
			want:    []string{"1 ipv4:1.2.3.4", "4 ipv4:5.6.7.8"},
			rejects: []string{"2: readme.txt", "3: 1.2.3.999"},
		},
		{
			name: "ip:port",
			in:   "45.9.74.36:443\n",
			want: []string{"1 ipv4:45.9.74.36 tags=port:443"},
		},
		{
			name:    "forced type",
			in:      "1.2.3.0/24\nevil.com\n",
			opts:    list.Options{Format: list.Text, Type: intel.CIDR},
			want:    []string{"1 cidr:1.2.3.0/24"},
			rejects: []string{"2: evil.com"},
		},
		{
			name: "custom comment prefix",
			in:   "! adblock comment\n1.2.3.4\n",
			opts: list.Options{Format: list.Text, Comment: []string{"!"}},
			want: []string{"2 ipv4:1.2.3.4"}, skipped: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.Format == "" {
				opts.Format = list.Text
			}
			res := parseString(t, tc.in, opts)
			if res.err != nil {
				t.Fatalf("Parse: %v", res.err)
			}
			if got := sums(res.recs); !slices.Equal(got, tc.want) {
				t.Errorf("records:\n got %q\nwant %q", got, tc.want)
			}
			checkRejects(t, res.rejects, tc.rejects)
			if res.st.Skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", res.st.Skipped, tc.skipped)
			}
			if n := res.st.Records + res.st.Rejected + res.st.Skipped; n != res.st.Lines {
				t.Errorf("records+rejected+skipped = %d, lines = %d", n, res.st.Lines)
			}
		})
	}
}

const threatFoxCSV = `################################################################
# ThreatFox IOCs: recent additions - CSV format                #
################################################################
#
# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","is_compromised","reference","tags","anonymous","reporter"
"2024-04-04 07:00:00", "1234", "Evil-C2.com", "domain", "botnet_cc", "win.cobalt_strike", "None", "Cobalt Strike", "", "100", "False", "", "c2,cobaltstrike", "0", "abuse_ch"
"2024-04-04 07:01:00", "1235", "45.9.74.36:443", "ip:port", "botnet_cc", "win.cobalt_strike", "None", "Cobalt Strike", "2024-04-05 00:00:00", "75", "False", "", "CobaltStrike", "0", "abuse_ch"
"2024-04-04 07:02:00", "1236", "44d88612fea8a8f36de82e1278abb02f", "md5_hash", "payload", "unknown", "None", "Unknown malware", "", "50", "False", "", "None", "0", "abuse_ch"
# Number of entries: 3
`

const urlhausCSV = `################################################################
# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #
# Last updated: 2026-07-01 00:15:03 (UTC)                      #
#                                                              #
# Terms Of Use: https://urlhaus.abuse.ch/api/                  #
# For questions please contact urlhaus [at] abuse.ch           #
################################################################
#
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
"3878701","2026-07-01 00:11:09","http://123.129.131.196:36697/i","online","2026-07-01 00:11:09","malware_download","Mozi","https://urlhaus.abuse.ch/url/3878701/","reporter"
"3878702","2026-07-01 00:12:09","HTTP://Malicious.TOP/bin.sh","offline","","malware_download","32-bit,elf,mips","https://urlhaus.abuse.ch/url/3878702/","reporter"
`

// TestParseCSV covers headers, delimiters, columns and broken rows.
func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opts    list.Options
		want    []string
		rejects []string
		skipped int
	}{
		{
			name: "ThreatFox: commented header, quote-space separators, ip:port",
			in:   threatFoxCSV,
			want: []string{
				"6 domain:evil-c2.com tags=c2,cobaltstrike malware=Cobalt Strike threat=botnet_cc conf=100 first=2024-04-04T07:00:00Z",
				"7 ipv4:45.9.74.36 tags=CobaltStrike,port:443 malware=Cobalt Strike threat=botnet_cc conf=75 first=2024-04-04T07:01:00Z last=2024-04-05T00:00:00Z",
				"8 md5:44d88612fea8a8f36de82e1278abb02f malware=Unknown malware threat=payload conf=50 first=2024-04-04T07:02:00Z",
			},
			skipped: 6,
		},
		{
			name: "URLhaus: commented header after a banner",
			in:   urlhausCSV,
			want: []string{
				"10 url:http://123.129.131.196:36697/i tags=Mozi threat=malware_download first=2026-07-01T00:11:09Z last=2026-07-01T00:11:09Z",
				"11 url:http://malicious.top/bin.sh tags=32-bit,elf,mips threat=malware_download first=2026-07-01T00:12:09Z",
			},
			skipped: 9,
		},
		{
			name: "column by name",
			in:   "name,addr,tags\nfoo,1.2.3.4,a b\n",
			opts: list.Options{Format: list.CSV, Column: "ADDR"},
			want: []string{"2 ipv4:1.2.3.4 tags=a,b"}, skipped: 1,
		},
		{
			name: "column by number",
			in:   "foo|1.2.3.4|x\nbar|5.6.7.8|y\n",
			opts: list.Options{Format: list.CSV, Column: "2"},
			want: []string{"1 ipv4:1.2.3.4", "2 ipv4:5.6.7.8"},
		},
		{
			name: "value column found by detection, semicolons",
			in:   "when;what;note\n2024-01-02;1.2.3.4;x\n2024-01-03;evil.com;y\n",
			want: []string{"2 ipv4:1.2.3.4", "3 domain:evil.com"}, skipped: 1,
		},
		{
			name: "tab separated with a header",
			in:   "indicator\tthreat_type\tconfidence\n1.2.3.4\tc2\t150\n",
			want: []string{"2 ipv4:1.2.3.4 threat=c2 conf=100"}, skipped: 1,
		},
		{
			name:    "missing column and wrong field counts",
			in:      "ip,threat\n1.2.3.4,c2\n5.6.7.8\n9.9.9.9,scanner\n8.8.4.4,x,y\n",
			want:    []string{"2 ipv4:1.2.3.4 threat=c2", "4 ipv4:9.9.9.9 threat=scanner"},
			rejects: []string{"3: 1 fields, the header has 2", "5: 3 fields, the header has 2"},
			skipped: 1,
		},
		{
			name:    "empty and bad values",
			in:      "ip,x\n,1\n1.2.3.999,2\n1.2.3.4,3\n",
			want:    []string{"4 ipv4:1.2.3.4"},
			rejects: []string{`2: empty value in column "ip"`, "3: 1.2.3.999"},
			skipped: 1,
		},
		{
			name: "quoted field over two lines",
			in:   "ip,comment\n1.2.3.4,\"two\nlines\"\n5.6.7.8,x\n",
			want: []string{"2 ipv4:1.2.3.4", "4 ipv4:5.6.7.8"}, skipped: 1,
		},
		{
			name:    "unterminated quote loses one line only",
			in:      "ip,comment\n1.2.3.4,\"oops\n5.6.7.8,x\n",
			want:    []string{"3 ipv4:5.6.7.8"},
			rejects: []string{"2: quoted field not terminated"},
			skipped: 1,
		},
		{
			name:    "text after a closing quote",
			in:      "ip,comment\n\"1.2.3.4\"x,y\n5.6.7.8,x\n",
			want:    []string{"3 ipv4:5.6.7.8"},
			rejects: []string{"2: text after the closing quote"},
			skipped: 1,
		},
		{
			name: "CRLF",
			in:   "ip,tags\r\n1.2.3.4,a b\r\n5.6.7.8,\"c,d\"\r\n",
			want: []string{"2 ipv4:1.2.3.4 tags=a,b", "3 ipv4:5.6.7.8 tags=c,d"}, skipped: 1,
		},
		{
			name: "dates",
			in:   "url,first_seen,last_seen,valid_until\nhttp://a.com/,1700000000,2024-01-02T03:04:05+02:00,2024-02-01\nhttp://b.com/,garbage,,\n",
			want: []string{
				"2 url:http://a.com/ first=2023-11-14T22:13:20Z last=2024-01-02T01:04:05Z until=2024-02-01T00:00:00Z",
				"3 url:http://b.com/",
			},
			skipped: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.Format == "" {
				opts.Format = list.CSV
			}
			res := parseString(t, tc.in, opts)
			if res.err != nil {
				t.Fatalf("Parse: %v", res.err)
			}
			if got := sums(res.recs); !slices.Equal(got, tc.want) {
				t.Errorf("records:\n got %q\nwant %q", got, tc.want)
			}
			checkRejects(t, res.rejects, tc.rejects)
			if res.st.Skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", res.st.Skipped, tc.skipped)
			}
			if n := res.st.Records + res.st.Rejected + res.st.Skipped; n > res.st.Lines {
				t.Errorf("records+rejected+skipped = %d > lines = %d", n, res.st.Lines)
			}
		})
	}
}

// TestParseJSON covers the JSON and NDJSON shapes.
func TestParseJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opts    list.Options
		want    []string
		rejects []string
		syntax  bool // the last reject wraps ErrSyntax
		skipped int
	}{
		{
			name: "array of strings",
			in:   `["1.2.3.4", "hxxp://bad[.]com/x", null]`,
			want: []string{"1 ipv4:1.2.3.4", "1 url:http://bad.com/x"}, skipped: 1,
		},
		{
			name: "array of objects",
			in: `[
  {"indicator": "1.2.3.4", "tags": ["a", "b"], "confidence": 80, "first_seen": 1700000000},
  {"indicator": "1.2.3.999"},
  {
    "indicator": "evil.com", "malware": "n/a", "threat_type": "phishing", "expiration": "2030-01-01T00:00:00Z"
  },
  {"other": "x"},
  "5.6.7.8",
  [1]
]`,
			want: []string{
				"2 ipv4:1.2.3.4 tags=a,b conf=80 first=2023-11-14T22:13:20Z",
				"4 domain:evil.com threat=phishing until=2030-01-01T00:00:00Z",
				"8 ipv4:5.6.7.8",
			},
			rejects: []string{"3: element 2: ", "7: element 4: no field holds an observable", "9: element 6: an array"},
		},
		{
			name: "object holding one array",
			in:   `{"count": 2, "data": [{"ip": "1.2.3.4"}, {"ip": "5.6.7.8"}]}`,
			want: []string{"1 ipv4:1.2.3.4", "1 ipv4:5.6.7.8"},
		},
		{
			name: "object of arrays (ThreatFox export)",
			in:   `{"1": [{"ioc_value": "evil.com", "malware_printable": "Emotet", "tags": null}], "2": [{"ioc_value": "1.2.3.4:8080", "confidence_level": 75}]}`,
			want: []string{"1 domain:evil.com malware=Emotet", "1 ipv4:1.2.3.4 tags=port:8080 conf=75"},
		},
		{
			name: "nested object holding the array",
			in:   "{\"meta\": {\"v\": 1},\n \"result\": {\"items\": [\n{\"domain\": \"evil.com\"}]}}",
			want: []string{"3 domain:evil.com"},
		},
		{
			name: "dotted column path",
			in:   `[{"indicator": {"value": "1.2.3.4"}}, {"indicator": {"value": "5.6.7.8"}, "details": [{"ip": "x"}]}]`,
			opts: list.Options{Format: list.JSON, Column: "indicator.value"},
			want: []string{"1 ipv4:1.2.3.4", "1 ipv4:5.6.7.8"},
		},
		{
			name: "array index in the column path",
			in:   `[{"details": [{"ip_address": "1.2.3.4"}]}]`,
			opts: list.Options{Format: list.JSON, Column: "details.0.ip_address"},
			want: []string{"1 ipv4:1.2.3.4"},
		},
		{
			name: "single object is one record",
			in:   `{"ioc": "1.2.3.4", "tags": ["x", "y"], "malware": "Qakbot"}`,
			want: []string{"1 ipv4:1.2.3.4 tags=x,y malware=Qakbot"},
		},
		{
			name: "auto value field by detection",
			in:   "[\n{\"name\": \"a\", \"addr\": \"1.2.3.4\"},\n{\"name\": \"evil.com\", \"addr\": \"5.6.7.8\"}\n]",
			want: []string{"2 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"},
		},
		{
			name: "concatenated documents",
			in:   `{"ip": "1.2.3.4"}{"ip": "5.6.7.8"} ["9.9.9.9"]`,
			want: []string{"1 ipv4:1.2.3.4", "1 ipv4:5.6.7.8", "1 ipv4:9.9.9.9"},
		},
		{
			name:    "truncated",
			in:      "[\n{\"ip\": \"1.2.3.4\"},\n{\"ip\": \"5.6.7.8\"},\n{\"ip\": \"9.9",
			want:    []string{"2 ipv4:1.2.3.4", "3 ipv4:5.6.7.8"},
			rejects: []string{"4: after element 2: JSON ends early"},
			syntax:  true,
		},
		{
			name:    "syntax error",
			in:      "[\n{\"ip\": \"1.2.3.4\"},\n{\"ip\" \"5.6.7.8\"}\n]",
			want:    []string{"2 ipv4:1.2.3.4"},
			rejects: []string{"3: after element 1: invalid JSON"},
			syntax:  true,
		},
		{
			name:    "element too large",
			in:      `["1.2.3.4", "` + strings.Repeat("a", 300<<10) + `", "5.6.7.8"]`,
			opts:    list.Options{Format: list.JSON, MaxLine: 100 << 10},
			want:    []string{"1 ipv4:1.2.3.4"},
			rejects: []string{"1: after element 1: JSON value longer than 102400 bytes"},
			syntax:  true,
		},
		{
			name:    "ndjson with a bad line and metadata",
			in:      "{\"ip\":\"1.2.3.4\"}\nnot json\n{\"ip\":\"5.6.7.8\"} trailing\n\n{\"cidr\":\"10.0.0.0/8\",\"sblid\":\"SBL1\"}\n{\"type\":\"metadata\",\"records\":2,\"terms\":\"https://example.com/terms\"}\n",
			opts:    list.Options{Format: list.NDJSON},
			want:    []string{"1 ipv4:1.2.3.4", "5 cidr:10.0.0.0/8 tags=SBL1"},
			rejects: []string{"2: ", "3: data after the JSON object"},
			skipped: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.Format == "" {
				opts.Format = list.JSON
			}
			res := parseString(t, tc.in, opts)
			if res.err != nil {
				t.Fatalf("Parse: %v", res.err)
			}
			if got := sums(res.recs); !slices.Equal(got, tc.want) {
				t.Errorf("records:\n got %q\nwant %q", got, tc.want)
			}
			checkRejects(t, res.rejects, tc.rejects)
			if n := len(res.rejects); n > 0 && tc.syntax != errors.Is(res.rejects[n-1].Err, list.ErrSyntax) {
				t.Errorf("last reject %v: ErrSyntax %v, want %v", res.rejects[n-1].Err, !tc.syntax, tc.syntax)
			}
			if res.st.Skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", res.st.Skipped, tc.skipped)
			}
		})
	}
}
