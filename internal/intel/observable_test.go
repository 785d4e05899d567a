package intel_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
)

// normalizeTests are the cases of TestNormalize; they also seed FuzzNormalize.
// An empty want.Type means an error containing wantErr.
var normalizeTests = []struct {
	t       intel.Type
	in      string
	want    intel.Observable
	wantErr string
}{
	// ipv4
	{intel.IPv4, "1.2.3.4", obs(intel.IPv4, "1.2.3.4"), ""},
	{intel.IPv4, " 1.2.3.4\n", obs(intel.IPv4, "1.2.3.4"), ""},
	{intel.IPv4, "1.2.3[.]4", obs(intel.IPv4, "1.2.3.4"), ""},
	{intel.IPv4, "1(.)2(dot)3{.}4", obs(intel.IPv4, "1.2.3.4"), ""},
	{intel.IPv4, `"8.8.8.8"`, obs(intel.IPv4, "8.8.8.8"), ""},
	{intel.IPv4, "::ffff:1.2.3.4", obs(intel.IPv4, "1.2.3.4"), ""},
	{intel.IPv4, "1.2.3.4/32", obs(intel.IPv4, "1.2.3.4"), ""},
	{intel.IPv4, "1.2.3.999", none, `invalid ipv4 "1.2.3.999": IPv4 field has value >255`},
	{intel.IPv4, "999.1.1.1", none, "value >255"},
	{intel.IPv4, "01.2.3.4", none, "leading zero"},
	{intel.IPv4, "1.2.3.010", none, "leading zero"},
	{intel.IPv4, "1.2.3", none, "IPv4 address too short"},
	{intel.IPv4, "1.2.3.4.5", none, "invalid ipv4"},
	{intel.IPv4, "1.2.3.0/24", none, "is a network (1.2.3.0/24), not an address"},
	{intel.IPv4, "2001:db8::1", none, "is an IPv6 address"},
	{intel.IPv4, "1.2.3.4:80", none, "invalid ipv4"},
	{intel.IPv4, "0x7f.0.0.1", none, "invalid ipv4"},
	{intel.IPv4, "", none, `invalid ipv4 "": empty`},
	// ipv6
	{intel.IPv6, "2001:DB8:0:0:0:0:0:1", obs(intel.IPv6, "2001:db8::1"), ""},
	{intel.IPv6, "2001:0db8::0001", obs(intel.IPv6, "2001:db8::1"), ""},
	{intel.IPv6, "[2001:db8::1]", obs(intel.IPv6, "2001:db8::1"), ""},
	{intel.IPv6, "2001:db8::1/128", obs(intel.IPv6, "2001:db8::1"), ""},
	{intel.IPv6, "::ffff:1.2.3.4", obs(intel.IPv4, "1.2.3.4"), ""},
	{intel.IPv6, "2001[:]db8[:][:]1", obs(intel.IPv6, "2001:db8::1"), ""},
	{intel.IPv6, "fe80::1%eth0", none, "zones are not allowed"},
	{intel.IPv6, "1.2.3.4", none, "is an IPv4 address"},
	{intel.IPv6, "12:30:45", none, "invalid ipv6"},
	{intel.IPv6, "00:1a:2b:3c:4d:5e", none, "invalid ipv6"},
	{intel.IPv6, "2001:db8::g", none, "invalid ipv6"},
	// cidr
	{intel.CIDR, "10.1.2.3/8", obs(intel.CIDR, "10.0.0.0/8"), ""},
	{intel.CIDR, "192.168.1.0/24", obs(intel.CIDR, "192.168.1.0/24"), ""},
	{intel.CIDR, "10.1.2.3/32", obs(intel.IPv4, "10.1.2.3"), ""},
	{intel.CIDR, "10.1.2.3", obs(intel.IPv4, "10.1.2.3"), ""},
	{intel.CIDR, "2001:DB8:1::5/32", obs(intel.CIDR, "2001:db8::/32"), ""},
	{intel.CIDR, "2001:db8::5/128", obs(intel.IPv6, "2001:db8::5"), ""},
	{intel.CIDR, "::ffff:10.1.0.0/104", obs(intel.CIDR, "10.0.0.0/8"), ""},
	{intel.CIDR, "0.0.0.0/0", obs(intel.CIDR, "0.0.0.0/0"), ""},
	{intel.CIDR, "10.0.0.0/33", none, "prefix length out of range"},
	{intel.CIDR, "10.0.0.0/08", none, "bad bits"},
	{intel.CIDR, "10.1.0.0/255.0.0.0", obs(intel.CIDR, "10.0.0.0/8"), ""},
	{intel.CIDR, "192.168.1.7/255.255.255.255", obs(intel.IPv4, "192.168.1.7"), ""},
	{intel.CIDR, "10.0.0.0/0.0.0.255", none, `netmask "0.0.0.255" is not contiguous`},
	{intel.CIDR, "10.0.0.0/255.0.0.01", none, "invalid netmask"},
	{intel.CIDR, "fe80::/10%eth0", none, "invalid cidr"},
	// domain
	{intel.Domain, "evil.com", obs(intel.Domain, "evil.com"), ""},
	{intel.Domain, "EVIL.Com.", obs(intel.Domain, "evil.com"), ""},
	{intel.Domain, "evil[.]com", obs(intel.Domain, "evil.com"), ""},
	{intel.Domain, "evil dot com", obs(intel.Domain, "evil.com"), ""},
	{intel.Domain, "a.b.co.uk", obs(intel.Domain, "a.b.co.uk"), ""},
	{intel.Domain, "xn--80ak6aa92e.com", obs(intel.Domain, "xn--80ak6aa92e.com"), ""},
	{intel.Domain, "XN--80AK6AA92E.COM", obs(intel.Domain, "xn--80ak6aa92e.com"), ""},
	{intel.Domain, "bücher.de", obs(intel.Domain, "xn--bcher-kva.de"), ""},
	{intel.Domain, "BÜCHER.de", obs(intel.Domain, "xn--bcher-kva.de"), ""},
	{intel.Domain, "faß.de", obs(intel.Domain, "xn--fa-hia.de"), ""},
	{intel.Domain, "пример。рф", obs(intel.Domain, "xn--e1afmkfd.xn--p1ai"), ""},
	{intel.Domain, "ＥＶＩＬ．com", obs(intel.Domain, "evil.com"), ""},
	{intel.Domain, "a_b.evil.com", obs(intel.Domain, "a_b.evil.com"), ""},
	{intel.Domain, "_dmarc.evil.com", obs(intel.Domain, "_dmarc.evil.com"), ""},
	{intel.Domain, "r3---sn-abc.googlevideo.com", obs(intel.Domain, "r3---sn-abc.googlevideo.com"), ""},
	{intel.Domain, "blogspot.com", obs(intel.Domain, "blogspot.com"), ""},
	{intel.Domain, "x.blogspot.com", obs(intel.Domain, "x.blogspot.com"), ""},
	{intel.Domain, "duckdns.org", obs(intel.Domain, "duckdns.org"), ""},
	{intel.Domain, "abc.onion", obs(intel.Domain, "abc.onion"), ""},
	{intel.Domain, "install.sh", obs(intel.Domain, "install.sh"), ""},
	{intel.Domain, "readme.txt", none, `invalid domain "readme.txt": unknown public suffix "txt"`},
	{intel.Domain, "v1.2.3", none, `unknown public suffix "3"`},
	{intel.Domain, "setup.exe", none, "unknown public suffix"},
	{intel.Domain, "file.dll", none, "unknown public suffix"},
	{intel.Domain, "image.png", none, "unknown public suffix"},
	{intel.Domain, "evil.local", none, "unknown public suffix"},
	{intel.Domain, "com", none, "a single label is not a domain"},
	{intel.Domain, "co.uk", none, `"co.uk" is a public suffix`},
	{intel.Domain, "localhost", none, "single label"},
	{intel.Domain, "1.2.3.4", none, "is an IP address"},
	{intel.Domain, "evil..com", none, "empty label"},
	{intel.Domain, ".evil.com", none, "empty label"},
	{intel.Domain, "-evil.com", none, "starts with a hyphen"},
	{intel.Domain, "ev il.com", none, "invalid character"},
	{intel.Domain, "evil.com/path", none, "invalid character '/'"},
	{intel.Domain, "http://evil.com", none, "invalid character ':'"},
	{intel.Domain, "*.evil.com", none, "invalid character '*'"},
	{intel.Domain, strings.Repeat("a", 64) + ".com", none, "label longer than 63"},
	{intel.Domain, strings.Repeat("abcdefghi.", 26) + "com", none, "longer than 253 bytes"},
	{intel.Domain, "xn--zzzzzz.com", none, "invalid punycode"},
	{intel.Domain, "xn--abc.com", none, "invalid punycode"},
	{intel.Domain, "\xff.com", none, "invalid UTF-8"},
	{intel.Domain, "evil\x00.com", none, "invalid character"},
	// url
	{intel.URL, "https://evil.com", obs(intel.URL, "https://evil.com/"), ""},
	{intel.URL, "https://evil.com/", obs(intel.URL, "https://evil.com/"), ""},
	{intel.URL, "HTTPS://EVIL.COM:443/#frag", obs(intel.URL, "https://evil.com/"), ""},
	{intel.URL, "hxxps://evil[.]com/Path/A.php?Q=1#x", obs(intel.URL, "https://evil.com/Path/A.php?Q=1"), ""},
	{intel.URL, "hXXp[://]evil(.)com/a", obs(intel.URL, "http://evil.com/a"), ""},
	{intel.URL, "http://evil.com:80/a", obs(intel.URL, "http://evil.com/a"), ""},
	{intel.URL, "http://evil.com:0080/a", obs(intel.URL, "http://evil.com/a"), ""},
	{intel.URL, "http://evil.com:/a", obs(intel.URL, "http://evil.com/a"), ""},
	{intel.URL, "https://evil.com:8443/a", obs(intel.URL, "https://evil.com:8443/a"), ""},
	{intel.URL, "http://evil.com:443/", obs(intel.URL, "http://evil.com:443/"), ""},
	{intel.URL, "https://evil.com?q=1", obs(intel.URL, "https://evil.com/?q=1"), ""},
	{intel.URL, "http://evil.com./a", obs(intel.URL, "http://evil.com/a"), ""},
	{intel.URL, "http://a/b/../c%2F?x=%41&y", none, "invalid host"},
	{intel.URL, "http://evil.com/a/../B%2f?x=%41", obs(intel.URL, "http://evil.com/a/../B%2f?x=%41"), ""},
	{intel.URL, "evil.com/a/b.php", obs(intel.URL, "http://evil.com/a/b.php"), ""},
	{intel.URL, "www.evil.com", obs(intel.URL, "http://www.evil.com/"), ""},
	{intel.URL, "evil.com/r?u=http://x.com/", obs(intel.URL, "http://evil.com/r?u=http://x.com/"), ""},
	{intel.URL, "http://user:pass@Evil.com/", obs(intel.URL, "http://user:pass@evil.com/"), ""},
	{intel.URL, "http://paypal.com@evil.com/login", obs(intel.URL, "http://paypal.com@evil.com/login"), ""},
	{intel.URL, "http://evil.com\\@good.com/", obs(intel.URL, "http://evil.com\\@good.com/"), ""},
	{intel.URL, "http://bücher.de/straße", obs(intel.URL, "http://xn--bcher-kva.de/straße"), ""},
	{intel.URL, "http://%65vil.com/", obs(intel.URL, "http://evil.com/"), ""},
	{intel.URL, "http://1.2.3.4:8080/gate.php", obs(intel.URL, "http://1.2.3.4:8080/gate.php"), ""},
	{intel.URL, "http://0x7f.1/", obs(intel.URL, "http://127.0.0.1/"), ""},
	{intel.URL, "http://2130706433/", obs(intel.URL, "http://127.0.0.1/"), ""},
	{intel.URL, "http://0177.0.0.1/", obs(intel.URL, "http://127.0.0.1/"), ""},
	{intel.URL, "http://[2001:DB8::1]:8080/x", obs(intel.URL, "http://[2001:db8::1]:8080/x"), ""},
	{intel.URL, "http://[::ffff:1.2.3.4]/", obs(intel.URL, "http://1.2.3.4/"), ""},
	{intel.URL, "tcp://1.2.3.4:4444", obs(intel.URL, "tcp://1.2.3.4:4444/"), ""},
	{intel.URL, "ldap://1.2.3.4:1389/Exploit", obs(intel.URL, "ldap://1.2.3.4:1389/Exploit"), ""},
	{intel.URL, "FTP://files.evil.com:21/x.exe", obs(intel.URL, "ftp://files.evil.com/x.exe"), ""},
	{intel.URL, "wss://evil.com:443/ws", obs(intel.URL, "wss://evil.com/ws"), ""},
	{intel.URL, "javascript://evil.com/%0aalert(1)", none, `unsupported scheme "javascript"`},
	{intel.URL, "file:///etc/passwd", none, `unsupported scheme "file"`},
	{intel.URL, "ht!tp://evil.com/", none, "invalid scheme"},
	{intel.URL, "http:///path", none, "no host"},
	{intel.URL, "//evil.com/x", none, "no host"},
	{intel.URL, "http://evil.com:99999/", none, "out of range"},
	{intel.URL, "http://evil.com:8o/", none, "invalid port"},
	{intel.URL, "http://readme.txt/", none, "unknown public suffix"},
	{intel.URL, "http://localhost/", none, "single label"},
	{intel.URL, "http://256.1.1.1/", none, "invalid IPv4 host"},
	{intel.URL, "http://1.2.3.4.5/", none, "invalid IPv4 host"},
	{intel.URL, "http://[fe80::1%25eth0]/", none, "IPv6 zones are not allowed"},
	{intel.URL, "http://[1.2.3.4]/", none, "invalid IPv6 host"},
	{intel.URL, "http://evil.com/a b", none, "invalid character ' '"},
	{intel.URL, "http://evil.com/\xff", none, "invalid UTF-8"},
	{intel.URL, "http://evil.com/\x00", none, "invalid character"},
	{intel.URL, "http://evil.com/" + strings.Repeat("a", 8200), none, "longer than 8192 bytes"},
	{intel.URL, "http://evil.com/" + strings.Repeat("a", 40000), none, "too long (40016 bytes; at most 8192)"},
	// email
	{intel.Email, "User.Name+tag@Evil.COM", obs(intel.Email, "user.name+tag@evil.com"), ""},
	{intel.Email, "user[@]evil[.]com", obs(intel.Email, "user@evil.com"), ""},
	{intel.Email, "user(at)evil(dot)com", obs(intel.Email, "user@evil.com"), ""},
	{intel.Email, "user [at] evil [dot] com", obs(intel.Email, "user@evil.com"), ""},
	{intel.Email, "mailto:Alice@Example.org", obs(intel.Email, "alice@example.org"), ""},
	{intel.Email, "<alice@bücher.de>", obs(intel.Email, "alice@xn--bcher-kva.de"), ""},
	{intel.Email, "alice@readme.txt", none, "domain part: unknown public suffix"},
	{intel.Email, "alice@localhost", none, "domain part"},
	{intel.Email, "alice", none, "no @"},
	{intel.Email, "@evil.com", none, "empty local part"},
	{intel.Email, ".alice@evil.com", none, "misplaced dot"},
	{intel.Email, "a..b@evil.com", none, "misplaced dot"},
	{intel.Email, `"a b"@evil.com`, none, "invalid character"},
	{intel.Email, "ålice@evil.com", none, "invalid character"},
	{intel.Email, strings.Repeat("a", 65) + "@evil.com", none, "local part longer than 64"},
	// hashes
	{intel.MD5, "D41D8CD98F00B204E9800998ECF8427E", obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e"), ""},
	{intel.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", obs(intel.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"), ""},
	{intel.SHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", obs(intel.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), ""},
	{intel.SHA512, strings.Repeat("Ab", 64), obs(intel.SHA512, strings.Repeat("ab", 64)), ""},
	{intel.JA3, "e7d705a3286e19ea42f587b344ee6865", obs(intel.JA3, "e7d705a3286e19ea42f587b344ee6865"), ""},
	{intel.MD5, "d41d8cd98f00b204e9800998ecf8427", none, "want 32 hex digits, have 31 bytes"},
	{intel.MD5, "da39a3ee5e6b4b0d3255bfef95601890afd80709", none, "want 32 hex digits"},
	{intel.MD5, "g41d8cd98f00b204e9800998ecf8427e", none, "not hexadecimal"},
	{intel.SHA1, "0x39a3ee5e6b4b0d3255bfef95601890afd80709", none, "not hexadecimal"},
	{intel.JA3, "e7d705a3286e19ea42f587b344ee686", none, "want 32 hex digits"},
	// asn
	{intel.ASN, "AS12345", obs(intel.ASN, "AS12345"), ""},
	{intel.ASN, "as12345", obs(intel.ASN, "AS12345"), ""},
	{intel.ASN, "ASN12345", obs(intel.ASN, "AS12345"), ""},
	{intel.ASN, "12345", obs(intel.ASN, "AS12345"), ""},
	{intel.ASN, "AS4294967295", obs(intel.ASN, "AS4294967295"), ""},
	{intel.ASN, "AS4294967296", none, "out of range"},
	{intel.ASN, "AS0", none, "out of range"},
	{intel.ASN, "AS", none, "want AS and a decimal number"},
	{intel.ASN, "AS-1", none, "want AS"},
	{intel.ASN, "AS 12345", none, "want AS"},
	// cve
	{intel.CVE, "cve-2021-44228", obs(intel.CVE, "CVE-2021-44228"), ""},
	{intel.CVE, "CVE-2014-0160", obs(intel.CVE, "CVE-2014-0160"), ""},
	{intel.CVE, "CVE-2024-1234567", obs(intel.CVE, "CVE-2024-1234567"), ""},
	{intel.CVE, "CVE-2021-442", none, "want CVE-YYYY-NNNN"},
	{intel.CVE, "CVE-21-44228", none, "want CVE-YYYY-NNNN"},
	{intel.CVE, "CVE-1988-0001", none, "year from 1999"},
	{intel.CVE, "CVE-2021-44228a", none, "want CVE"},
	{intel.CVE, "2021-44228", none, "want CVE"},
	// account
	{intel.Account, "Administrator", obs(intel.Account, "administrator"), ""},
	{intel.Account, "  CORP\\J.Doe ", obs(intel.Account, "corp\\j.doe"), ""},
	{intel.Account, "svc_backup$", obs(intel.Account, "svc_backup$"), ""},
	{intel.Account, "[root]", obs(intel.Account, "[root]"), ""},
	{intel.Account, "Jürgen", obs(intel.Account, "jürgen"), ""},
	{intel.Account, "john doe", none, "invalid character ' '"},
	{intel.Account, "a\x00b", none, "invalid character"},
	{intel.Account, "a\xffb", none, "invalid UTF-8"},
	{intel.Account, " ", none, "empty"},
	{intel.Account, strings.Repeat("a", 257), none, "longer than 256 bytes"},
	// unknown type
	{intel.Type("bogus"), "x", none, `unknown type "bogus"`},
}

var none intel.Observable

// testName names a subtest by its input, shortened.
func testName(in string) string {
	if len(in) > 48 {
		return fmt.Sprintf("%s...(%d_bytes)", in[:40], len(in))
	}
	return in
}

func obs(t intel.Type, v string) intel.Observable { return intel.Observable{Type: t, Value: v} }

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeTests {
		t.Run(string(tc.t)+"/"+testName(tc.in), func(t *testing.T) {
			got, err := intel.Normalize(tc.t, tc.in)
			if tc.want.Type == "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Normalize(%s, %q) = %v, %v; want error containing %q", tc.t, tc.in, got, err, tc.wantErr)
				}
				if got != none {
					t.Errorf("Normalize(%s, %q) returned %v with its error", tc.t, tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%s, %q) = %v, %v; want %v", tc.t, tc.in, got, err, tc.want)
			}
			again, err := intel.Normalize(got.Type, got.Value)
			if err != nil || again != got {
				t.Errorf("Normalize(%s, %q) = %v, %v; not idempotent", got.Type, got.Value, again, err)
			}
		})
	}
}

// detectTests are the cases of TestDetect; they also seed FuzzDetect.
var detectTests = []struct {
	in      string
	want    intel.Observable
	wantErr string
}{
	{"1.2.3.4", obs(intel.IPv4, "1.2.3.4"), ""},
	{"  1.2.3[.]4 ", obs(intel.IPv4, "1.2.3.4"), ""},
	{"1.2.3.4:443", obs(intel.IPv4, "1.2.3.4"), ""},
	{"::ffff:1.2.3.4", obs(intel.IPv4, "1.2.3.4"), ""},
	{"2001:db8::1", obs(intel.IPv6, "2001:db8::1"), ""},
	{"[2001:db8::1]", obs(intel.IPv6, "2001:db8::1"), ""},
	{"[2001:db8::1]:443", obs(intel.IPv6, "2001:db8::1"), ""},
	{"10.1.2.3/8", obs(intel.CIDR, "10.0.0.0/8"), ""},
	{"1.2.3.4/32", obs(intel.IPv4, "1.2.3.4"), ""},
	{"2001:db8::/32", obs(intel.CIDR, "2001:db8::/32"), ""},
	{"10.0.0.0/255.255.0.0", obs(intel.CIDR, "10.0.0.0/16"), ""},
	{"evil.com", obs(intel.Domain, "evil.com"), ""},
	{"www.evil.com", obs(intel.Domain, "www.evil.com"), ""},
	{"evil.com:8443", obs(intel.Domain, "evil.com"), ""},
	{"EVIL[.]COM.", obs(intel.Domain, "evil.com"), ""},
	{"'evil.com'", obs(intel.Domain, "evil.com"), ""},
	{"“evil.com”", obs(intel.Domain, "evil.com"), ""},
	{"bücher.de", obs(intel.Domain, "xn--bcher-kva.de"), ""},
	{"https://evil.com", obs(intel.URL, "https://evil.com/"), ""},
	{"<hxxps://evil[.]com/a>", obs(intel.URL, "https://evil.com/a"), ""},
	{"(https://evil.com/a)", obs(intel.URL, "https://evil.com/a"), ""},
	{"www.evil.com/path", obs(intel.URL, "http://www.evil.com/path"), ""},
	{"evil.com/a/b.php", obs(intel.URL, "http://evil.com/a/b.php"), ""},
	{"evil.com:8080/gate", obs(intel.URL, "http://evil.com:8080/gate"), ""},
	{"1.2.3.4/a.php", obs(intel.URL, "http://1.2.3.4/a.php"), ""},
	{"1.2.3.4:80/a.php", obs(intel.URL, "http://1.2.3.4/a.php"), ""},
	{"evil.com/r?u=http://x.com/", obs(intel.URL, "http://evil.com/r?u=http://x.com/"), ""},
	{"user@evil.com", obs(intel.Email, "user@evil.com"), ""},
	{"user[at]evil[dot]com", obs(intel.Email, "user@evil.com"), ""},
	{"mailto:User@Evil.com", obs(intel.Email, "user@evil.com"), ""},
	{"d41d8cd98f00b204e9800998ecf8427e", obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e"), ""},
	{"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", obs(intel.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"), ""},
	{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", obs(intel.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), ""},
	{strings.Repeat("cf", 64), obs(intel.SHA512, strings.Repeat("cf", 64)), ""},
	{"cve-2021-44228", obs(intel.CVE, "CVE-2021-44228"), ""},
	{"AS13335", obs(intel.ASN, "AS13335"), ""},
	{"asn13335", obs(intel.ASN, "AS13335"), ""},
	{"13335", none, "a bare number"},
	{"d41d8cd98f00b204e9800998ecf8427", none, "cannot detect"},
	{"readme.txt", none, `cannot detect the type of "readme.txt": not a domain: unknown public suffix "txt"`},
	{"v1.2.3", none, "unknown public suffix"},
	{"setup.exe", none, "unknown public suffix"},
	{"1.2.3.4.5", none, "unknown public suffix"},
	{"1.2.3.999", none, `invalid ipv4 "1.2.3.999": IPv4 field has value >255`},
	{"999.1.1.1", none, "invalid ipv4"},
	{"01.1.1.1", none, "leading zero"},
	{"12:30:45", none, "cannot detect"},
	{"00:1a:2b:3c:4d:5e", none, "cannot detect"},
	{"fe80::1%eth0", none, "zones are not allowed"},
	{"2021-09-14", none, "cannot detect"},
	{"co.uk", none, "is a public suffix"},
	{"javascript://x", none, "unsupported scheme"},
	{"user@localhost", none, "invalid email"},
	{"hello world", none, "cannot detect"},
	{"", none, "empty"},
	{"[]", none, "empty"},
	{"\x00", none, "cannot detect"},
	{"\xff\xfe", none, "cannot detect"},
}

func TestDetect(t *testing.T) {
	for _, tc := range detectTests {
		t.Run(testName(tc.in), func(t *testing.T) {
			got, err := intel.Detect(tc.in)
			if tc.want.Type == "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Detect(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Detect(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			again, err := intel.Normalize(got.Type, got.Value)
			if err != nil || again != got {
				t.Errorf("Normalize(%s, %q) = %v, %v; want it unchanged", got.Type, got.Value, again, err)
			}
		})
	}
}

// TestDetectNeverJA3OrAccount checks the types Detect must not return.
func TestDetectNeverJA3OrAccount(t *testing.T) {
	for _, in := range []string{"e7d705a3286e19ea42f587b344ee6865", "administrator", "root", "CORP\\jdoe"} {
		o, err := intel.Detect(in)
		if err == nil && (o.Type == intel.JA3 || o.Type == intel.Account) {
			t.Errorf("Detect(%q) = %v", in, o)
		}
	}
}

// TestHugeInput checks that very long and hostile values are rejected quickly and with a short
// error.
func TestHugeInput(t *testing.T) {
	huge := map[string]string{
		"a":       strings.Repeat("a", 10<<20),
		"dots":    strings.Repeat("a.", 5<<20),
		"defang":  strings.Repeat("[.]", 3<<20),
		"url":     "http://evil.com/" + strings.Repeat("x", 10<<20),
		"nul":     strings.Repeat("\x00", 10<<20),
		"invalid": strings.Repeat("\xff", 10<<20),
		"spaces":  strings.Repeat(" ", 10<<20) + "evil.com",
	}
	for name, in := range huge {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			for _, typ := range intel.Types {
				if o, err := intel.Normalize(typ, in); err == nil {
					t.Errorf("Normalize(%s, <%d bytes>) = %v", typ, len(in), o)
				} else if len(err.Error()) > 512 || !utf8.ValidString(err.Error()) {
					t.Errorf("Normalize(%s, <%d bytes>): error of %d bytes", typ, len(in), len(err.Error()))
				}
			}
			if o, err := intel.Detect(in); err == nil {
				t.Errorf("Detect(<%d bytes>) = %v", len(in), o)
			} else if len(err.Error()) > 512 {
				t.Errorf("Detect: error of %d bytes", len(err.Error()))
			}
			t.Logf("rejected %d bytes in %v", len(in), time.Since(start)) // timing is logged, never asserted: machines are shared
		})
	}
}
