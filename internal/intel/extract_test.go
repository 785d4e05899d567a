package intel_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// extractTests are the cases of TestExtract; they also seed FuzzExtract.
var extractTests = []struct {
	in   string
	want []intel.Observable
}{
	// URLs and their surroundings
	{"hxxps://evil[.]com/x", []intel.Observable{obs(intel.URL, "https://evil.com/x")}},
	{"(see https://evil.com/a).", []intel.Observable{obs(intel.URL, "https://evil.com/a")}},
	{"<https://evil.com/a>,", []intel.Observable{obs(intel.URL, "https://evil.com/a")}},
	{`"https://evil.co/z";`, []intel.Observable{obs(intel.URL, "https://evil.co/z")}},
	{"'https://evil.co/z'", []intel.Observable{obs(intel.URL, "https://evil.co/z")}},
	{"https://evil.com/a?b=1, then", []intel.Observable{obs(intel.URL, "https://evil.com/a?b=1")}},
	{"Visit https://evil.com!", []intel.Observable{obs(intel.URL, "https://evil.com/")}},
	{"**https://evil.com/bold**", []intel.Observable{obs(intel.URL, "https://evil.com/bold")}},
	{"[click](https://evil.com/a)", []intel.Observable{obs(intel.URL, "https://evil.com/a")}},
	{"[https://evil.com/a](https://evil.com/a)", []intel.Observable{obs(intel.URL, "https://evil.com/a")}},
	{"<a href=\"http://evil.com/x\">here</a>", []intel.Observable{obs(intel.URL, "http://evil.com/x")}},
	{"https://en.wikipedia.org/wiki/Foo_(bar)", []intel.Observable{obs(intel.URL, "https://en.wikipedia.org/wiki/Foo_(bar)")}},
	{"(https://en.wikipedia.org/wiki/Foo_(bar))", []intel.Observable{obs(intel.URL, "https://en.wikipedia.org/wiki/Foo_(bar)")}},
	{"https://a.com/x,https://b.com/y", []intel.Observable{obs(intel.URL, "https://a.com/x"), obs(intel.URL, "https://b.com/y")}},
	{"${jndi:ldap://1.2.3.4:1389/Exploit}", []intel.Observable{obs(intel.URL, "ldap://1.2.3.4:1389/Exploit")}},
	{"url=https://evil.com/a", []intel.Observable{obs(intel.URL, "https://evil.com/a")}},
	{"请访问https://evil.cn/x 谢谢", []intel.Observable{obs(intel.URL, "https://evil.cn/x")}},
	{`{"u":"https:\/\/evil.com\/a"}`, []intel.Observable{obs(intel.URL, "https://evil.com/a")}},
	{"hxxp://evil dot com/a", []intel.Observable{obs(intel.URL, "http://evil.com/a")}},
	{"https://web.archive.org/web/2019/https://weblog.rubyonrails.org/x", []intel.Observable{obs(intel.URL, "https://web.archive.org/web/2019/https://weblog.rubyonrails.org/x")}},
	{"HTTPS://EVIL.COM:443/A#frag", []intel.Observable{obs(intel.URL, "https://evil.com/A")}},
	{"http://intranet/login and http://localhost:8080/", nil},
	{"foo://evil.com/x", []intel.Observable{obs(intel.Domain, "evil.com")}},
	// scheme-less URLs
	{"evil.com/gate.php?id=1.", []intel.Observable{obs(intel.URL, "http://evil.com/gate.php?id=1")}},
	{"1.2.3.4:8080/bins/mirai.arm7", []intel.Observable{obs(intel.URL, "http://1.2.3.4:8080/bins/mirai.arm7")}},
	{"/var/www/evil.com/index.php", []intel.Observable{obs(intel.Domain, "evil.com")}},
	{"TCP/IP and/or UDP", nil},
	// host of a URL is not repeated; on its own it is
	{"https://evil.com/a and evil.com", []intel.Observable{obs(intel.URL, "https://evil.com/a"), obs(intel.Domain, "evil.com")}},
	// domains
	{"C2: evil[.]com.", []intel.Observable{obs(intel.Domain, "evil.com")}},
	{"Evil.COM, a.b.co.uk; bücher.de", []intel.Observable{obs(intel.Domain, "evil.com"), obs(intel.Domain, "a.b.co.uk"), obs(intel.Domain, "xn--bcher-kva.de")}},
	{"evil [.] com and evil(dot)org", []intel.Observable{obs(intel.Domain, "evil.com"), obs(intel.Domain, "evil.org")}},
	{"_dmarc.evil.com _ldap._tcp.dc.evil.org", []intel.Observable{obs(intel.Domain, "_dmarc.evil.com"), obs(intel.Domain, "_ldap._tcp.dc.evil.org")}},
	{"--evil.com and ...evil.org..", []intel.Observable{obs(intel.Domain, "evil.com"), obs(intel.Domain, "evil.org")}},
	{"user@evil.com:hunter2", []intel.Observable{obs(intel.Email, "user@evil.com")}},
	{"http://пример.рф/путь?q=да", []intel.Observable{obs(intel.URL, "http://xn--e1afmkfd.xn--p1ai/путь?q=да")}},
	{"访问evil.cn的", []intel.Observable{obs(intel.Domain, "evil.cn")}},
	{"readme.txt v1.2.3 setup.exe file.dll image.png e.g. i.e. etc. U.S.", nil},
	{"install.sh README.md payload.py invoice.one Calculator.app", nil},
	{"transfer[.]sh and www.evil.sh", []intel.Observable{obs(intel.Domain, "transfer.sh"), obs(intel.Domain, "www.evil.sh")}},
	{"a dot com company", nil},
	{"co.uk com", nil},
	// IPv4 and CIDR
	{"1.2.3[.]4", []intel.Observable{obs(intel.IPv4, "1.2.3.4")}},
	{"1[.]2[.]3[.]4:443", []intel.Observable{obs(intel.IPv4, "1.2.3.4")}},
	{"src=10.0.0.1,dst=8.8.8.8.", []intel.Observable{obs(intel.IPv4, "10.0.0.1"), obs(intel.IPv4, "8.8.8.8")}},
	{"1.2.3.4-1.2.3.9", []intel.Observable{obs(intel.IPv4, "1.2.3.4"), obs(intel.IPv4, "1.2.3.9")}},
	{"10.1.2.3/8 and 192.168.0.0/16, 1.2.3.4/32", []intel.Observable{obs(intel.CIDR, "10.0.0.0/8"), obs(intel.CIDR, "192.168.0.0/16"), obs(intel.IPv4, "1.2.3.4")}},
	{"10.0.0.0/8. 10.0.0.0/8x", []intel.Observable{obs(intel.CIDR, "10.0.0.0/8"), obs(intel.URL, "http://10.0.0.0/8x")}},
	{"10.1.0.0/255.255.0.0, 1.2.3.4/5.6.7.8.", []intel.Observable{obs(intel.CIDR, "10.1.0.0/16"), obs(intel.IPv4, "1.2.3.4"), obs(intel.IPv4, "5.6.7.8")}},
	{"1.2.3.4.5 999.1.1.1 01.2.3.4 v1.2.3.4 1.2.3 10.0.19041.1", nil},
	// IPv6
	{"2001:db8::1 and [2001:DB8:0:0:0:0:0:2]:443", []intel.Observable{obs(intel.IPv6, "2001:db8::1"), obs(intel.IPv6, "2001:db8::2")}},
	{"fe80::1%eth0", []intel.Observable{obs(intel.IPv6, "fe80::1")}},
	{"::ffff:5.6.7.8", []intel.Observable{obs(intel.IPv4, "5.6.7.8")}},
	{"2001:db8::/32.", []intel.Observable{obs(intel.CIDR, "2001:db8::/32")}},
	{"address 2001:db8:85a3::8a2e:370:7334: bad", []intel.Observable{obs(intel.IPv6, "2001:db8:85a3::8a2e:370:7334")}},
	{"at 12:30:45 on 2024-01-02T10:00:00Z", nil},
	{"MAC 00:1a:2b:3c:4d:5e", nil},
	{"Foo::Bar std::vector a::b ::1 ::", nil},
	// hashes
	{"md5 d41d8cd98f00b204e9800998ecf8427e.", []intel.Observable{obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e")}},
	{"sha1:DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", []intel.Observable{obs(intel.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709")}},
	{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.exe", []intel.Observable{obs(intel.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")}},
	{"sample-d41d8cd98f00b204e9800998ecf8427e", []intel.Observable{obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e")}},
	{"d41d8cd98f00b204e9800998ecf8427e0 xd41d8cd98f00b204e9800998ecf8427e d41d8cd98f00b204e9800998ecf8427 d41d8cd98f00b204e9800998ecf8427g", nil},
	{strings.Repeat("ab", 40), nil}, // 80 hex digits: no hash length
	{"uuid 57c5300c-0560-4146-bfaa-40e802de0b81", nil},
	// emails
	{"Contact: user[@]evil[.]com.", []intel.Observable{obs(intel.Email, "user@evil.com")}},
	{"<John.Doe+x@Evil.com>", []intel.Observable{obs(intel.Email, "john.doe+x@evil.com")}},
	{"mailto:a@evil.com", []intel.Observable{obs(intel.Email, "a@evil.com")}},
	{"feodotracker [at] abuse.ch", []intel.Observable{obs(intel.Email, "feodotracker@abuse.ch")}},
	{"user@localhost and @evil.com", []intel.Observable{obs(intel.Domain, "evil.com")}},
	// CVE and ASN
	{"CVE-2021-44228 (Log4Shell), cve-2014-0160; CVE-2021-44228", []intel.Observable{obs(intel.CVE, "CVE-2021-44228"), obs(intel.CVE, "CVE-2014-0160")}},
	{"CVE-2021-44228-poc.py and poc_CVE-2022-22965", []intel.Observable{obs(intel.CVE, "CVE-2021-44228"), obs(intel.CVE, "CVE-2022-22965")}},
	{"XCVE-2021-44228 CVE-2021-442 CVE-21-44228", nil},
	{"AS13335, ASN15169 and AS0", []intel.Observable{obs(intel.ASN, "AS13335"), obs(intel.ASN, "AS15169")}},
	{"13335 as well", nil},
	// mixed, order of first appearance, deduplicated
	{
		"IOCs: hxxp://1.2.3[.]4/a.exe, evil[.]com (AS64500), d41d8cd98f00b204e9800998ecf8427e, evil.com again, CVE-2023-1234",
		[]intel.Observable{
			obs(intel.URL, "http://1.2.3.4/a.exe"), obs(intel.Domain, "evil.com"), obs(intel.ASN, "AS64500"),
			obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e"), obs(intel.CVE, "CVE-2023-1234"),
		},
	},
	{"", nil},
	{"\xff\xfe\x00 evil.com \x00", []intel.Observable{obs(intel.Domain, "evil.com")}},
}

func TestExtract(t *testing.T) {
	for _, tc := range extractTests {
		t.Run(testName(tc.in), func(t *testing.T) {
			got := intel.Extract(tc.in)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Extract(%q)\n got %v\nwant %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestExtractTestdata extracts from genuine documents (see testdata/SOURCES.md).
func TestExtractTestdata(t *testing.T) {
	tests := []struct {
		file string
		want []intel.Observable // exactly, in order
	}{
		{"misp-circl-osint-xorist.json", []intel.Observable{
			obs(intel.SHA256, "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"),
			obs(intel.URL, "https://www.virustotal.com/file/b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68/analysis/1469554268/"),
			obs(intel.URL, "http://www.xylibox.com/2011/06/have-fun-with-trojan-ransomwin32xorist.html"),
			// "Key: 85350044dF4AC3518D185678A9414A7F" is a TEA key, but any 32-hex token reads as an MD5.
			obs(intel.MD5, "85350044df4ac3518d185678a9414a7f"),
			obs(intel.MD5, "0749bae92ca336a02c83d126e04ec628"),
			obs(intel.SHA1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"),
			// Not "3Z4wnG9603it23y.exe", the registry key, UUIDs or timestamps.
		}},
		{"misp-event-with-sightings.json", []intel.Observable{
			obs(intel.Domain, "ooiasjdnqjwbeasdasd.com"),
			obs(intel.Domain, "eqowiesajenqweasd.com"),
			obs(intel.Domain, "dquohwdihaewqdcas.com"),
			obs(intel.Domain, "diqjwhebseqhbasdh.com"),
			obs(intel.URL, "http://sistemait.it/softaculous/backup/client.rar"),
			obs(intel.URL, "https://www.secureworks.com/research/gozi"),
			obs(intel.URL, "https://www.gdatasoftware.com/blog/2016/11/29325-analysis-ursnif-spying-on-your-data-since-2007"),
			obs(intel.URL, "https://lokalhost.pl/gozi_tree.txt"),
		}},
		{"feodo-ipblocklist.head.csv", []intel.Observable{
			obs(intel.Domain, "abuse.ch"),
			obs(intel.URL, "https://feodotracker.abuse.ch/blocklist/"),
			obs(intel.Email, "feodotracker@abuse.ch"), // "feodotracker [at] abuse.ch"
			obs(intel.IPv4, "192.9.135.73"),
			obs(intel.IPv4, "85.239.243.155"),
			obs(intel.IPv4, "37.60.242.85"),
			obs(intel.IPv4, "178.18.246.136"),
			obs(intel.IPv4, "23.226.138.143"),
			obs(intel.IPv4, "23.226.138.161"),
			obs(intel.IPv4, "86.38.225.106"),
			obs(intel.IPv4, "104.129.55.106"),
			obs(intel.IPv4, "103.82.243.5"),
			obs(intel.IPv4, "104.129.55.105"),
			obs(intel.IPv4, "154.12.248.41"),
			// Not the dates and times ("2024-04-04 07:03:03") or the ports.
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got := intel.Extract(readTestdata(t, tc.file))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Extract(%s)\n got %v\nwant %v", tc.file, got, tc.want)
			}
		})
	}

	t.Run("kev-head.json.txt", func(t *testing.T) {
		got := intel.Extract(readTestdata(t, "kev-head.json.txt"))
		var cves []string
		for _, o := range got {
			switch o.Type {
			case intel.CVE:
				cves = append(cves, o.Value)
			case intel.URL:
			default:
				t.Errorf("unexpected %v", o)
			}
		}
		wantCVEs := []string{"CVE-2025-48384", "CVE-2024-8068", "CVE-2024-8069", "CVE-2025-43300", "CVE-2025-54948", "CVE-2025-8876", "CVE-2025-8875", "CVE-2025-8088"}
		if !slices.Equal(cves, wantCVEs) {
			t.Errorf("CVEs\n got %v\nwant %v", cves, wantCVEs)
		}
		for _, want := range []intel.Observable{
			obs(intel.URL, "https://github.com/git/git/security/advisories/GHSA-vwqx-4fm8-6qc9"),
			obs(intel.URL, "https://access.redhat.com/errata/RHSA-2025:13933"),
			obs(intel.URL, "https://nvd.nist.gov/vuln/detail/CVE-2025-48384"),
			// the 32-hex cHash is part of the URL, not an MD5
			obs(intel.URL, "https://www.win-rar.com/singlenewsview.html?&L=0&tx_ttnews%5Btt_news%5D=283&cHash=a64b4a8f662d3639dec8d65f47bc93c5"),
		} {
			if !slices.Contains(got, want) {
				t.Errorf("missing %v", want)
			}
		}
	})
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExtractCanonical checks that everything Extract returns is canonical.
func TestExtractCanonical(t *testing.T) {
	var all []string
	for _, tc := range extractTests {
		all = append(all, tc.in)
	}
	for _, o := range intel.Extract(strings.Join(all, "\n")) {
		if n, err := intel.Normalize(o.Type, o.Value); err != nil || n != o {
			t.Errorf("Normalize(%s, %q) = %v, %v", o.Type, o.Value, n, err)
		}
	}
}

// TestExtractLarge runs Extract over large and hostile inputs: no panic, bounded output; the time
// each takes is logged (BenchmarkExtract measures throughput).
func TestExtractLarge(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("large inputs: slow with -short or -race")
	}
	const size = 10 << 20
	report := "APT report: the loader at hxxps://evil[.]com/a/b.php?id=1 drops d41d8cd98f00b204e9800998ecf8427e " +
		"and beacons to 1.2.3[.]4:443 and 2001:db8::1, exploiting CVE-2021-44228 (see https://nvd.nist.gov/x). " +
		"Version 10.0.19041.1 at 12:30:45, readme.txt, e.g. user@example.org. Ünïcödé тест 测试.\n"
	inputs := map[string]string{
		"report":       strings.Repeat(report, size/len(report)),
		"letters":      strings.Repeat("a", size),
		"dots":         strings.Repeat("a.", size/2),
		"hex":          strings.Repeat("0123456789abcdef", size/16),
		"hexcolons":    strings.Repeat("a:", size/2),
		"colons":       strings.Repeat(":", size),
		"defanged":     strings.Repeat("[.]", size/3),
		"nested":       strings.Repeat("[", size/2) + "." + strings.Repeat("]", size/2),
		"url":          "https://evil.com/" + strings.Repeat("a", size),
		"urls":         strings.Repeat("https://", size/8),
		"at":           strings.Repeat("a@", size/2),
		"dotword":      "hxxp://a" + strings.Repeat(" dot a", size/6),
		"dotwordnoctx": strings.Repeat("a", size/2) + strings.Repeat(" dot a", size/12),
		"cve":          strings.Repeat("CVE-", size/4),
		"brackets":     strings.Repeat("[(x)]", size/5),
		"unicode":      strings.Repeat("ü", size/2),
		"invalid":      strings.Repeat("\xff", size),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			intel.Extract(in)
			t.Logf("%d bytes in %v", len(in), time.Since(start)) // logged, never asserted: machines are shared
		})
	}
}
