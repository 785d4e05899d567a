package pattern_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix/pattern"
)

const (
	md5hex    = "d41d8cd98f00b204e9800998ecf8427e"
	sha1hex   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sha512hex = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)

// reduceTests are patterns and their reductions. atoms are "type:value" observables; invalid is
// the number of invalid atoms.
var reduceTests = []struct {
	in        string
	reducible bool
	atoms     []string
	reason    string
	invalid   int
}{
	// Addresses and networks.
	{"[ipv4-addr:value = '198.51.100.1']", true, []string{"ipv4:198.51.100.1"}, "", 0},
	{"[ipv4-addr:value = '112.64.0.0/15']", true, []string{"cidr:112.64.0.0/15"}, "", 0},
	{"[ipv4-addr:value = '10.1.2.3/8']", true, []string{"cidr:10.0.0.0/8"}, "", 0},
	{"[ipv4-addr:value = '198.51.100.7/32']", true, []string{"ipv4:198.51.100.7"}, "", 0},
	{"[ipv6-addr:value = '2001:DB8::1']", true, []string{"ipv6:2001:db8::1"}, "", 0},
	{"[ipv6-addr:value = '2001:db8::1/128']", true, []string{"ipv6:2001:db8::1"}, "", 0},
	{"[ipv6-addr:value = '2001:db8::/32']", true, []string{"cidr:2001:db8::/32"}, "", 0},
	{"[ipv4-addr:value = '2001:db8::1']", false, nil, "no valid observable", 1},
	{"[ipv4-addr:value = '2001:db8::/32']", false, nil, "no valid observable", 1},
	{"[ipv6-addr:value = '198.51.100.1']", false, nil, "no valid observable", 1},
	{"[ipv6-addr:value = '10.0.0.0/8']", false, nil, "no valid observable", 1},
	{"[ipv4-addr:value = '999.1.1.1']", false, nil, "no valid observable", 1},

	// Names, URLs, addresses, accounts, AS numbers.
	{"[domain-name:value = 'Example.COM']", true, []string{"domain:example.com"}, "", 0},
	{"[url:value = 'http://x4z9arb.cn/4712']", true, []string{"url:http://x4z9arb.cn/4712"}, "", 0},
	{"[email-addr:value = 'Bob@Example.com']", true, []string{"email:bob@example.com"}, "", 0},
	{"[email-message:from_ref.value = 'jdoe@example.com']", true, []string{"email:jdoe@example.com"}, "", 0},
	{"[email-message:sender_ref.value = 'jdoe@example.com']", true, []string{"email:jdoe@example.com"}, "", 0},
	{"[user-account:account_login = 'Administrator']", true, []string{"account:administrator"}, "", 0},
	{"[user-account:user_id = 'root']", true, []string{"account:root"}, "", 0},
	{"[autonomous-system:number = 15169]", true, []string{"asn:AS15169"}, "", 0},
	{"[autonomous-system:number = 'AS64500']", true, []string{"asn:AS64500"}, "", 0},
	{"[autonomous-system:number = -1]", false, nil, "no valid observable", 1},
	{"[domain-name:value = 5]", false, nil, "no valid observable", 1},
	{"[url:value = t'2016-01-01T00:00:00Z']", false, nil, "no valid observable", 1},

	// Hashes: names in any case, with or without hyphens, quoted or not.
	{"[file:hashes.MD5 = '" + strings.ToUpper(md5hex) + "']", true, []string{"md5:" + md5hex}, "", 0},
	{"[file:hashes.md5 = '" + md5hex + "']", true, []string{"md5:" + md5hex}, "", 0},
	{"[file:hashes.'SHA-1' = '" + sha1hex + "']", true, []string{"sha1:" + sha1hex}, "", 0},
	{"[file:hashes.SHA1 = '" + sha1hex + "']", true, []string{"sha1:" + sha1hex}, "", 0},
	{"[file:hashes.sha-1 = '" + sha1hex + "']", true, []string{"sha1:" + sha1hex}, "", 0},
	{"[file:hashes.'SHA-256' = '" + sha256hex + "']", true, []string{"sha256:" + sha256hex}, "", 0},
	{"[file:hashes.SHA256 = '" + sha256hex + "']", true, []string{"sha256:" + sha256hex}, "", 0},
	{"[file:hashes.'sha_256' = '" + sha256hex + "']", true, []string{"sha256:" + sha256hex}, "", 0},
	{"[file:hashes.'SHA-512' = '" + sha512hex + "']", true, []string{"sha512:" + sha512hex}, "", 0},
	{"[x509-certificate:hashes.'SHA-1' = '" + sha1hex + "']", true, []string{"sha1:" + sha1hex}, "", 0},
	{"[artifact:hashes.'SHA-256' = '" + sha256hex + "']", true, []string{"sha256:" + sha256hex}, "", 0},
	{"[file:hashes.MD5 = '" + sha1hex + "']", false, nil, "no valid observable", 1},
	{"[file:hashes.SSDEEP = '3:a:b']", false, nil, "path file:hashes.SSDEEP", 0},
	{"[process:hashes.MD5 = '" + md5hex + "']", false, nil, "path process:hashes.MD5", 0},

	// Network traffic, with and without a type test on the reference.
	{"[network-traffic:dst_ref.value = '198.51.100.7']", true, []string{"ipv4:198.51.100.7"}, "", 0},
	{"[network-traffic:src_ref.value = '2001:db8::/48']", true, []string{"cidr:2001:db8::/48"}, "", 0},
	{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']", true, []string{"ipv4:203.0.113.33"}, "", 0},
	{"[network-traffic:dst_ref.value = '203.0.113.0/24' AND network-traffic:dst_ref.type = 'ipv4-addr']", true, []string{"cidr:203.0.113.0/24"}, "", 0},
	{"[network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value IN ('2001:db8::1', '2001:db8::2')]", true, []string{"ipv6:2001:db8::1", "ipv6:2001:db8::2"}, "", 0},
	{"[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'evil.example.com']", true, []string{"domain:evil.example.com"}, "", 0},
	{"[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '198.51.100.7']", false, nil, "no valid observable", 1},
	{"[email-message:from_ref.type = 'email-addr' AND email-message:from_ref.value = 'a@example.com']", true, []string{"email:a@example.com"}, "", 0},
	{"[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7']", false, []string{"ipv4:198.51.100.7"}, "AND across properties", 0},
	{"[network-traffic:dst_ref.type = 'mac-addr' AND network-traffic:dst_ref.value = '198.51.100.7']", false, []string{"ipv4:198.51.100.7"}, "AND across properties", 0},
	{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '198.51.100.7']", false, []string{"ipv4:198.51.100.7"}, "AND across properties", 0},
	{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_port = 443]", false, nil, "AND across properties", 0},

	// OR chains and IN sets.
	{"[domain-name:value IN ('a.example.com', 'b.example.com')]", true, []string{"domain:a.example.com", "domain:b.example.com"}, "", 0},
	{"[domain-name:value = 'a.example.com' OR ipv4-addr:value = '1.2.3.4']", true, []string{"domain:a.example.com", "ipv4:1.2.3.4"}, "", 0},
	{"[domain-name:value = 'a.example.com'] OR [ipv4-addr:value = '1.2.3.4'] OR [url:value = 'https://a.example.com/x']", true,
		[]string{"domain:a.example.com", "ipv4:1.2.3.4", "url:https://a.example.com/x"}, "", 0},
	{"([domain-name:value = 'a.example.com'] OR ([ipv4-addr:value = '1.2.3.4'])) OR [(ipv4-addr:value = '1.2.3.5' OR (ipv4-addr:value = '1.2.3.6'))]", true,
		[]string{"domain:a.example.com", "ipv4:1.2.3.4", "ipv4:1.2.3.5", "ipv4:1.2.3.6"}, "", 0},
	{"[domain-name:value = 'a.example.com'] OR [domain-name:value = 'A.EXAMPLE.COM.']", true, []string{"domain:a.example.com"}, "", 0},
	{"[domain-name:value = 'domain autuo.xicp.net' OR domain-name:value = 'autuo.xicp.net']", true, []string{"domain:autuo.xicp.net"}, "", 1},
	{"[domain-name:value = 'domain autuo.xicp.net']", false, nil, "no valid observable", 1},
	{"[domain-name:value IN ()]", false, nil, "no valid observable", 0},

	// Not reducible.
	{"[file:name = 'x.exe' AND file:hashes.MD5 = '" + md5hex + "']", false, []string{"md5:" + md5hex}, "AND across properties", 0},
	{"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b']", false, nil, "AND across properties", 0},
	{"[domain-name:value = 'a.example.com'] AND [ipv4-addr:value = '1.2.3.4']", false, []string{"domain:a.example.com", "ipv4:1.2.3.4"}, "AND between observations", 0},
	{"[domain-name:value = 'a.example.com'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.4']", false, []string{"domain:a.example.com", "ipv4:1.2.3.4"}, "FOLLOWEDBY", 0},
	{"[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", false, []string{"ipv4:1.2.3.4"}, "qualifier WITHIN", 0},
	{"[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES WITHIN 5 SECONDS", false, []string{"ipv4:1.2.3.4"}, "qualifier REPEATS", 0},
	{"[ipv4-addr:value = '1.2.3.4'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", false, []string{"ipv4:1.2.3.4"}, "qualifier START/STOP", 0},
	{"[ipv4-addr:value NOT = '1.2.3.4']", false, nil, "operator NOT =", 0},
	{"[ipv4-addr:value NOT IN ('1.2.3.4')]", false, nil, "operator NOT IN", 0},
	{"[ipv4-addr:value != '1.2.3.4']", false, nil, "operator !=", 0},
	{"[file:size < 10]", false, nil, "operator <", 0},
	{"[file:size <= 10]", false, nil, "operator <=", 0},
	{"[file:size > 10]", false, nil, "operator >", 0},
	{"[file:size >= 10]", false, nil, "operator >=", 0},
	{"[domain-name:value LIKE '%.example.com']", false, nil, "operator LIKE", 0},
	{"[email-message:subject MATCHES '^[IMPORTANT]']", false, nil, "operator MATCHES", 0},
	{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", false, nil, "operator ISSUBSET", 0},
	{"[ipv4-addr:value ISSUPERSET '198.51.100.1']", false, nil, "operator ISSUPERSET", 0},
	{"[EXISTS file:hashes.MD5]", false, nil, "operator EXISTS", 0},
	{"[NOT EXISTS file:hashes.MD5]", false, nil, "operator NOT EXISTS", 0},
	{"[file:name = 'x.exe']", false, nil, "path file:name", 0},
	{"[email-message:to_refs[*].value = 'a@example.com']", false, nil, "path email-message:to_refs[*].value", 0},
	{"[domain-name:value = 'a.example.com' OR file:name = 'x.exe']", false, []string{"domain:a.example.com"}, "path file:name", 0},
	{"[domain-name:value = 'a.example.com' OR domain-name:value LIKE '%.evil.com']", false, []string{"domain:a.example.com"}, "operator LIKE", 0},
	{"[domain-name:value = 'a.example.com'] FOLLOWEDBY [file:name LIKE 'x%']", false, []string{"domain:a.example.com"}, "FOLLOWEDBY", 0},
}

func TestReduce(t *testing.T) {
	for _, tc := range reduceTests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := pattern.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			checkReduction(t, p.Reduce(), tc.reducible, tc.atoms, tc.reason, tc.invalid)
		})
	}
}

// checkReduction compares r with the expected values; atoms are "type:value".
func checkReduction(t *testing.T, r pattern.Reduction, reducible bool, atoms []string, reason string, invalid int) {
	t.Helper()
	var got []string
	for _, a := range r.Atoms {
		got = append(got, a.Observable.String())
		if a.Observable == (intel.Observable{}) {
			t.Errorf("atom %+v has no observable", a)
		}
	}
	if r.Reducible != reducible || r.Reason != reason {
		t.Errorf("Reducible, Reason = %v, %q; want %v, %q", r.Reducible, r.Reason, reducible, reason)
	}
	if !slices.Equal(got, atoms) {
		t.Errorf("atoms = %q, want %q", got, atoms)
	}
	if len(r.Invalid) != invalid {
		t.Errorf("Invalid = %q, want %d entries", r.Invalid, invalid)
	}
}

// TestReduceAtoms checks the fields of atoms and the text of invalid entries.
func TestReduceAtoms(t *testing.T) {
	p, err := pattern.Parse("[file:hashes.sha256 = '" + strings.ToUpper(sha256hex) + "' OR network-traffic:dst_ref.value = '198.51.100.7' OR domain-name:value = 'domain autuo.xicp.net']")
	if err != nil {
		t.Fatal(err)
	}
	r := p.Reduce()
	want := []pattern.Atom{
		{Object: "file", Path: "hashes.SHA-256", Value: strings.ToUpper(sha256hex), Observable: intel.Observable{Type: intel.SHA256, Value: sha256hex}},
		{Object: "network-traffic", Path: "dst_ref.value", Value: "198.51.100.7", Observable: intel.Observable{Type: intel.IPv4, Value: "198.51.100.7"}},
	}
	if !slices.Equal(r.Atoms, want) {
		t.Errorf("Atoms = %+v, want %+v", r.Atoms, want)
	}
	if len(r.Invalid) != 1 || !strings.HasPrefix(r.Invalid[0], "domain-name:value = 'domain autuo.xicp.net': invalid domain") {
		t.Errorf("Invalid = %q", r.Invalid)
	}
	if !r.Reducible {
		t.Errorf("not reducible: %s", r.Reason)
	}
}

func TestReduceNil(t *testing.T) {
	var p *pattern.Pattern
	if r := p.Reduce(); r.Reducible || r.Reason == "" {
		t.Errorf("nil pattern: %+v", r)
	}
}
