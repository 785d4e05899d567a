package match_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
)

// Names of the embedded lists, as their files spell them.
const (
	awsList       = "List of known Amazon AWS IP address ranges"
	analysisList  = "List of known domains used by automated malware analysis services & security vendors"
	ciscoList     = "Top 5000 websites from Cisco Umbrella"
	cloudflare    = "List of known Cloudflare IP ranges"
	contactList   = "Common contact e-mail addresses"
	emptyHashes   = "List of known hashes for empty files"
	gmailList     = "List of known Gmail sending IP ranges"
	linkLocalList = "List of IPv6 link local blocks"
	multicastList = "List of RFC 5771 multicast CIDR blocks"
	omenResolvers = "omen: well-known public DNS resolvers"
	dnsV4List     = "List of known IPv4 public DNS resolvers"
	dnsV6List     = "List of known IPv6 public DNS resolvers"
	rfc1918List   = "List of RFC 1918 CIDR blocks"
	rfc5735List   = "List of RFC 5735 CIDR blocks"
	rfc6598List   = "List of RFC 6598 CIDR blocks"
	sldList       = "Second level TLDs as known by Mozilla Foundation"
	tldList       = "TLDs as known by IANA"
	shortenerList = "List of known URL Shorteners domains"
)

func defaultSet(t testing.TB) *match.WarninglistSet {
	t.Helper()
	s, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatalf("DefaultWarninglistSet: %v", err)
	}
	return s
}

func obs(t intel.Type, v string) intel.Observable { return intel.Observable{Type: t, Value: v} }

func hit(list, entry string) match.Hit { return match.Hit{List: list, Entry: entry} }

func TestDefaultWarninglists(t *testing.T) {
	lists, err := match.DefaultWarninglists()
	if err != nil {
		t.Fatalf("DefaultWarninglists: %v", err)
	}
	// 17 genuine MISP lists and omen's resolver list.
	if len(lists) != 18 {
		t.Errorf("got %d lists, want 18", len(lists))
	}
	total := 0
	for _, l := range lists {
		total += len(l.Entries)
		if l.Category != match.WarninglistFalsePositive {
			t.Errorf("%s: category %q, want %q", l.Name, l.Category, match.WarninglistFalsePositive)
		}
	}
	s := defaultSet(t)
	if s.Len() != total {
		t.Errorf("Len() = %d, want %d", s.Len(), total)
	}
	if got := len(s.Lists()); got != len(lists) {
		t.Errorf("Lists() has %d lists, want %d", got, len(lists))
	}
	if s2, _ := match.DefaultWarninglistSet(); s2 != s {
		t.Error("DefaultWarninglistSet built twice")
	}
}

// TestWarninglistMatchDefault runs the genuine MISP lists (and omen's resolver list) through
// every match type.
func TestWarninglistMatchDefault(t *testing.T) {
	s := defaultSet(t)
	tests := []struct {
		o    intel.Observable
		want []match.Hit
	}{
		// cidr: addresses inside listed networks, v4 and v6, every overlapping list reported.
		{obs(intel.IPv4, "104.16.1.1"), []match.Hit{hit(cloudflare, "104.16.0.0/13")}},
		{obs(intel.IPv4, "10.1.2.3"), []match.Hit{hit(rfc1918List, "10.0.0.0/8"), hit(rfc5735List, "10.0.0.0/8")}},
		{obs(intel.IPv4, "100.64.1.1"), []match.Hit{hit(rfc6598List, "100.64.0.0/10")}},
		{obs(intel.IPv4, "224.0.0.1"), []match.Hit{hit(multicastList, "224.0.0.0/8"), hit(rfc5735List, "224.0.0.0/4")}},
		{obs(intel.IPv4, "209.85.128.1"), []match.Hit{hit(gmailList, "209.85.128.0/17")}},
		{obs(intel.IPv4, "3.5.140.1"), []match.Hit{hit(awsList, "3.5.128.0/19")}},
		{obs(intel.IPv6, "2606:4700::1"), []match.Hit{hit(cloudflare, "2606:4700::/32")}},
		{obs(intel.IPv6, "fe80::1"), []match.Hit{hit(linkLocalList, "FE80::/10")}},
		{obs(intel.IPv6, "::ffff:10.1.2.3"), []match.Hit{hit(rfc1918List, "10.0.0.0/8"), hit(rfc5735List, "10.0.0.0/8")}},
		// cidr observables: inside a listed network, or equal to it, but not larger.
		{obs(intel.CIDR, "104.16.0.0/16"), []match.Hit{hit(cloudflare, "104.16.0.0/13")}},
		{obs(intel.CIDR, "10.0.0.0/8"), []match.Hit{hit(rfc1918List, "10.0.0.0/8"), hit(rfc5735List, "10.0.0.0/8")}},
		{obs(intel.CIDR, "104.0.0.0/8"), nil},
		{obs(intel.CIDR, "2606:4700:10::/48"), []match.Hit{hit(cloudflare, "2606:4700::/32")}},
		// Resolvers: 1.1.1.1 is on MISP's truncated list, 8.8.8.8 only on omen's.
		{obs(intel.IPv4, "1.1.1.1"), []match.Hit{hit(omenResolvers, "1.1.1.1"), hit(dnsV4List, "1.1.1.1")}},
		{obs(intel.IPv4, "8.8.8.8"), []match.Hit{hit(omenResolvers, "8.8.8.8")}},
		{obs(intel.IPv4, "9.9.9.9"), []match.Hit{hit(omenResolvers, "9.9.9.9")}},
		{obs(intel.IPv4, "208.67.222.222"), []match.Hit{hit(omenResolvers, "208.67.222.222")}},
		{obs(intel.IPv6, "2001:4860:4860::8888"), []match.Hit{hit(omenResolvers, "2001:4860:4860::8888"), hit(dnsV6List, "2001:4860:4860::8888")}},
		{obs(intel.IPv4, "8.8.8.9"), nil},
		// string: exact, case-insensitive; TLD and suffix lists only match the bare suffix.
		{obs(intel.Domain, "google.com"), []match.Hit{hit(ciscoList, "google.com")}},
		{obs(intel.Domain, "evil-google.com"), nil},
		{obs(intel.Domain, "com"), []match.Hit{hit(sldList, "com"), hit(tldList, "COM")}},
		{obs(intel.Domain, "uk"), []match.Hit{hit(tldList, "UK")}},
		{obs(intel.Domain, "co.uk"), []match.Hit{hit(sldList, "co.uk")}},
		{obs(intel.Domain, "evil.com"), nil},
		{obs(intel.Domain, "evil.co.uk"), nil},
		{obs(intel.URL, "https://google.com/search?q=x"), []match.Hit{hit(ciscoList, "google.com")}},
		{obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e"), []match.Hit{hit(emptyHashes, "d41d8cd98f00b204e9800998ecf8427e")}},
		{obs(intel.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"), []match.Hit{hit(emptyHashes, "da39a3ee5e6b4b0d3255bfef95601890afd80709")}},
		{obs(intel.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), []match.Hit{hit(emptyHashes, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")}},
		{obs(intel.SHA512, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"), []match.Hit{hit(emptyHashes, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")}},
		{obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427f"), nil},
		// hostname: the domain and its subdomains; URLs by their host.
		{obs(intel.Domain, "bit.ly"), []match.Hit{hit(shortenerList, "bit.ly")}},
		{obs(intel.Domain, "x.bit.ly"), []match.Hit{hit(shortenerList, "bit.ly")}},
		{obs(intel.Domain, "BIT.LY."), []match.Hit{hit(shortenerList, "bit.ly")}},
		{obs(intel.URL, "https://bit.ly/abc"), []match.Hit{hit(shortenerList, "bit.ly")}},
		{obs(intel.URL, "http://user@x.bit.ly:8080/abc"), []match.Hit{hit(shortenerList, "bit.ly")}},
		{obs(intel.Domain, "t.co"), []match.Hit{hit(ciscoList, "t.co"), hit(shortenerList, "t.co")}},
		{obs(intel.Domain, "notbit.ly"), nil},
		// regex: MISP's /^(security|noc|soc|abuse)\@.*\..*$/i on email addresses.
		{obs(intel.Email, "abuse@example.com"), []match.Hit{hit(contactList, `/^(security|noc|soc|abuse)\@.*\..*$/i`)}},
		{obs(intel.Email, "SOC@example.org"), []match.Hit{hit(contactList, `/^(security|noc|soc|abuse)\@.*\..*$/i`)}},
		{obs(intel.Email, "john@example.com"), nil},
		// substring: the value contains the entry.
		{obs(intel.Domain, "www.virustotal.com"), []match.Hit{hit(analysisList, "virustotal.com")}},
		{obs(intel.URL, "https://www.VirusTotal.com/gui/file/abc"), []match.Hit{hit(analysisList, "virustotal.com")}},
		// Type gating by matching_attributes.
		{obs(intel.URL, "http://10.1.2.3/admin"), nil},                // cidr lists apply to IPs only
		{obs(intel.MD5, "10.1.2.3"), nil},                             // a cidr list never matches a hash
		{obs(intel.Email, "someone@bit.ly"), nil},                     // url-shortener does not list email attributes
		{obs(intel.Domain, "abuse.example.com"), nil},                 // the contact regex applies to emails only
		{obs(intel.Account, "d41d8cd98f00b204e9800998ecf8427e"), nil}, // empty-hashes applies to hashes only
		{obs(intel.Type("bogus"), "10.1.2.3"), nil},
		{obs(intel.IPv4, ""), nil},
		{obs(intel.IPv4, "not-an-ip"), nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.o.Type)+"/"+tc.o.Value, func(t *testing.T) {
			got := s.Match(tc.o)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Match(%v) = %v, want %v", tc.o, got, tc.want)
			}
		})
	}
}

// TestWarninglistMatchSemantics checks overlaps, specificity and type gating on small lists.
func TestWarninglistMatchSemantics(t *testing.T) {
	lists := []*match.Warninglist{
		{Name: "nets-a", Type: "cidr", Entries: []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "2001:db8::/32"}},
		{Name: "nets-b", Type: "cidr", Entries: []string{"10.1.0.0/16", "10.1.2.0/24", "::ffff:192.0.2.0/120"}, MatchingAttributes: []string{"ip-dst"}},
		{Name: "nets-domain-only", Type: "cidr", Entries: []string{"10.0.0.0/8"}, MatchingAttributes: []string{"domain"}},
		{Name: "exact", Type: "string", Entries: []string{"Example.COM", "https://example.com/Landing", "2001:DB8:0::1", "d41d8cd98f00b204e9800998ecf8427e"}},
		{Name: "exact-hashes", Type: "string", Entries: []string{"d41d8cd98f00b204e9800998ecf8427e"}, MatchingAttributes: []string{"md5", "sha1"}},
		{Name: "hosts", Type: "hostname", Entries: []string{".example.com", "deep.sub.example.com", "*.wild.test"}, MatchingAttributes: []string{"domain", "URL", "email-src"}},
		{Name: "hosts-domain-only", Type: "hostname", Entries: []string{"example.com"}, MatchingAttributes: []string{"domain", "hostname"}},
		{Name: "subs", Type: "substring", Entries: []string{"Sandbox", "tracker"}, MatchingAttributes: []string{"domain", "url"}},
		{Name: "res", Type: "regex", Entries: []string{`#^admin-\d+\.#`, `/ PAYLOAD  # a comment
			\.exe$ /xi`}},
	}
	s, err := match.NewWarninglistSet(lists...)
	if err != nil {
		t.Fatalf("NewWarninglistSet: %v", err)
	}
	if got, want := s.Len(), 21; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	tests := []struct {
		o    intel.Observable
		want []match.Hit
	}{
		{obs(intel.IPv4, "10.9.9.9"), []match.Hit{hit("nets-a", "10.0.0.0/8")}},
		{obs(intel.IPv4, "10.1.9.9"), []match.Hit{hit("nets-a", "10.1.0.0/16"), hit("nets-b", "10.1.0.0/16")}},
		{obs(intel.IPv4, "10.1.2.3"), []match.Hit{hit("nets-a", "10.1.2.3"), hit("nets-b", "10.1.2.0/24")}},
		{obs(intel.IPv4, "10.1.2.4"), []match.Hit{hit("nets-a", "10.1.0.0/16"), hit("nets-b", "10.1.2.0/24")}},
		{obs(intel.CIDR, "10.1.2.0/24"), []match.Hit{hit("nets-a", "10.1.0.0/16"), hit("nets-b", "10.1.2.0/24")}},
		{obs(intel.CIDR, "10.1.0.0/15"), []match.Hit{hit("nets-a", "10.0.0.0/8")}},
		{obs(intel.IPv4, "192.0.2.7"), []match.Hit{hit("nets-b", "::ffff:192.0.2.0/120")}},
		{obs(intel.IPv6, "2001:db8::1"), []match.Hit{hit("nets-a", "2001:db8::/32"), hit("exact", "2001:DB8:0::1")}},
		{obs(intel.Domain, "example.com"), []match.Hit{hit("exact", "Example.COM"), hit("hosts", ".example.com"), hit("hosts-domain-only", "example.com")}},
		{obs(intel.Domain, "a.deep.sub.example.com"), []match.Hit{hit("hosts", "deep.sub.example.com"), hit("hosts-domain-only", "example.com")}},
		{obs(intel.Domain, "x.wild.test"), []match.Hit{hit("hosts", "*.wild.test")}},
		// URLs: a string list compares the whole URL first, then the host; hostname lists
		// without a url attribute do not apply.
		{obs(intel.URL, "https://example.com/Landing"), []match.Hit{hit("exact", "https://example.com/Landing"), hit("hosts", ".example.com")}},
		{obs(intel.URL, "https://example.com/other"), []match.Hit{hit("exact", "Example.COM"), hit("hosts", ".example.com")}},
		{obs(intel.URL, "https://a.example.com./x"), []match.Hit{hit("hosts", ".example.com")}},
		// Emails: whole for string lists, domain part for hostname lists with email attributes.
		{obs(intel.Email, "x@mail.example.com"), []match.Hit{hit("hosts", ".example.com")}},
		{obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e"), []match.Hit{hit("exact", "d41d8cd98f00b204e9800998ecf8427e"), hit("exact-hashes", "d41d8cd98f00b204e9800998ecf8427e")}},
		{obs(intel.SHA256, "d41d8cd98f00b204e9800998ecf8427e"), []match.Hit{hit("exact", "d41d8cd98f00b204e9800998ecf8427e")}},
		// substring: ASCII case-insensitive, on the whole value.
		{obs(intel.Domain, "my-sandbox.net"), []match.Hit{hit("subs", "Sandbox")}},
		{obs(intel.URL, "https://cdn.net/TRACKER.js"), []match.Hit{hit("subs", "tracker")}},
		{obs(intel.Email, "sandbox@x.net"), nil},
		// regex: other delimiters, x and i flags.
		{obs(intel.Domain, "admin-42.example.org"), []match.Hit{hit("res", `#^admin-\d+\.#`)}},
		{obs(intel.URL, "http://x.org/Payload.EXE"), []match.Hit{hit("res", lists[8].Entries[1])}},
		{obs(intel.URL, "http://x.org/payload-exe"), nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.o.Type)+"/"+tc.o.Value, func(t *testing.T) {
			got := s.Match(tc.o)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Match(%v) = %v, want %v", tc.o, got, tc.want)
			}
		})
	}
}

func TestWarninglistRegexTranslation(t *testing.T) {
	tests := []struct {
		entry   string
		match   []string
		nomatch []string
		wantErr string
	}{
		{entry: `/^(security|noc|soc|abuse)\@.*\..*$/i`, match: []string{"abuse@a.b", "NOC@x.y"}, nomatch: []string{"john@a.b", "abuse@ab"}},
		{entry: `/^a.b$/s`, match: []string{"a\nb"}},
		{entry: `/^a.b$/`, match: []string{"a-b"}, nomatch: []string{"a\nb"}},
		{entry: `/^b$/m`, match: []string{"a\nb\nc"}, nomatch: []string{"abc"}},
		{entry: `/b/A`, match: []string{"bc"}, nomatch: []string{"abc"}},
		{entry: `/abc\Z/`, match: []string{"xabc", "xabc\n"}, nomatch: []string{"abcx"}},
		{entry: `{a{2}b}`, match: []string{"aab"}, nomatch: []string{"ab"}},
		{entry: `(^x(y)z$)`, match: []string{"xyz"}},
		{entry: `/a\/b/`, match: []string{"a/b"}},
		{entry: `/[ ]x # not a comment in a class/x`, match: []string{" x"}, nomatch: []string{"x"}},
		{entry: `/[]a]+z/`, match: []string{"]az"}},
		{entry: `/[[:digit:]]{3}\Q.+\E/`, match: []string{"123.+"}, nomatch: []string{"123ab"}},
		{entry: `  /lead/  `, match: []string{"leading"}},
		{entry: `/(?=a)b/`, wantErr: "not supported by RE2"},
		{entry: `/(a)\1/`, wantErr: "not supported by RE2"},
		{entry: `/a/e`, wantErr: "unknown modifier"},
		{entry: `abc`, wantErr: "delimiter"},
		{entry: `\abc\`, wantErr: "delimiter"},
		{entry: `/abc`, wantErr: "no ending delimiter"},
		{entry: `/a*/`, wantErr: "matches the empty string"},
		{entry: `//`, wantErr: "matches the empty string"},
		{entry: `/abc\/`, wantErr: "no ending delimiter"},
	}
	for _, tc := range tests {
		t.Run(tc.entry, func(t *testing.T) {
			l := &match.Warninglist{Name: "re", Type: "regex", Entries: []string{tc.entry}}
			s, err := match.NewWarninglistSet(l)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewWarninglistSet error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewWarninglistSet: %v", err)
			}
			for _, v := range tc.match {
				if s.Match(obs(intel.Account, v)) == nil {
					t.Errorf("%q does not match %q", tc.entry, v)
				}
			}
			for _, v := range tc.nomatch {
				if s.Match(obs(intel.Account, v)) != nil {
					t.Errorf("%q matches %q", tc.entry, v)
				}
			}
		})
	}
}

func TestNewWarninglistSetErrors(t *testing.T) {
	good := &match.Warninglist{Name: "a", Type: "string", Entries: []string{"x"}}
	tests := []struct {
		name    string
		lists   []*match.Warninglist
		wantErr string
	}{
		{"nil list", []*match.Warninglist{good, nil}, "nil"},
		{"duplicate name", []*match.Warninglist{good, {Name: "a", Type: "cidr", Entries: []string{"10.0.0.0/8"}}}, `"a": duplicate name`},
		{"unknown type", []*match.Warninglist{{Name: "b", Type: "glob", Entries: []string{"x"}}}, "unknown type"},
		{"bad cidr", []*match.Warninglist{{Name: "b", Type: "cidr", Entries: []string{"10.0.0.0/40"}}}, `entry "10.0.0.0/40"`},
		{"everything", []*match.Warninglist{{Name: "b", Type: "cidr", Entries: []string{"::/0"}}}, "every address"},
		{"empty hostname", []*match.Warninglist{{Name: "b", Type: "hostname", Entries: []string{"."}}}, "empty hostname"},
		{"empty substring", []*match.Warninglist{{Name: "b", Type: "substring", Entries: []string{" "}}}, "empty entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := match.NewWarninglistSet(tc.lists...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	s, err := match.NewWarninglistSet()
	if err != nil || s.Match(obs(intel.IPv4, "10.0.0.1")) != nil || s.Len() != 0 {
		t.Errorf("empty set: %v, %v", s, err)
	}
}

func TestParseWarninglist(t *testing.T) {
	const valid = `{"name": "n", "version": 2, "description": "d", "type": "string", "list": ["a", " b ", ""], "matching_attributes": ["domain"]}`
	wl, err := match.ParseWarninglist(strings.NewReader(valid), "valid.json")
	if err != nil {
		t.Fatalf("ParseWarninglist: %v", err)
	}
	want := &match.Warninglist{Name: "n", Description: "d", Type: "string", Version: 2, Entries: []string{"a", "b"},
		MatchingAttributes: []string{"domain"}, Category: match.WarninglistFalsePositive}
	if !reflect.DeepEqual(wl, want) {
		t.Errorf("got %+v, want %+v", wl, want)
	}

	tests := []struct {
		name, json string
		want       *match.Warninglist // nil: a fatal error is expected
		wantErr    string
	}{
		{name: "missing list", json: `{"name": "n", "version": 1, "description": "d", "type": "string"}`, wantErr: `missing required field "list"`},
		{name: "missing description", json: `{"name": "n", "version": 1, "type": "string", "list": ["a"]}`, wantErr: `missing required field "description"`},
		{name: "missing version", json: `{"name": "n", "description": "d", "type": "string", "list": ["a"]}`, wantErr: `missing required field "version"`},
		{name: "missing name", json: `{"version": 1, "description": "d", "type": "string", "list": ["a"]}`, wantErr: `missing required field "name"`},
		{name: "missing type", json: `{"name": "n", "version": 1, "description": "d", "list": ["a"]}`, wantErr: `missing required field "type"`},
		{name: "null list", json: `{"name": "n", "version": 1, "description": "d", "type": "string", "list": null}`, wantErr: `missing required field "list"`},
		{name: "empty name", json: `{"name": " ", "version": 1, "description": "d", "type": "string", "list": ["a"]}`, wantErr: `"name" is empty`},
		{name: "unknown type", json: `{"name": "n", "version": 1, "description": "d", "type": "glob", "list": ["a"]}`, wantErr: `unknown type "glob"`},
		{name: "type not a string", json: `{"name": "n", "version": 1, "description": "d", "type": 3, "list": ["a"]}`, wantErr: `field "type": want a string`},
		{name: "version not an integer", json: `{"name": "n", "version": 1.5, "description": "d", "type": "string", "list": ["a"]}`, wantErr: `field "version": want an integer`},
		{name: "list not an array", json: `{"name": "n", "version": 1, "description": "d", "type": "string", "list": "a"}`, wantErr: `field "list": want an array`},
		{name: "list empty", json: `{"name": "n", "version": 1, "description": "d", "type": "string", "list": []}`, wantErr: `field "list" is empty`},
		{name: "unknown category", json: `{"name": "n", "version": 1, "description": "d", "type": "string", "list": ["a"], "category": "bad"}`, wantErr: `unknown category "bad"`},
		{name: "not JSON", json: `{"name": `, wantErr: "parsing JSON"},
		{name: "trailing garbage", json: `{"name": "n", "version": 1, "description": "d", "type": "string", "list": ["a"]} x`, wantErr: "parsing JSON"},
		{name: "matching_attributes not strings", json: `{"name": "n", "version": 1, "description": "d", "type": "string", "list": ["a"], "matching_attributes": [1]}`, wantErr: "parsing JSON"},
		{
			name: "version as string, type as array, known category",
			json: `{"name": "n", "version": "7", "description": "d", "type": ["HostName"], "list": ["a.b"], "category": "known"}`,
			want: &match.Warninglist{Name: "n", Description: "d", Type: "hostname", Version: 7, Entries: []string{"a.b"}, Category: match.WarninglistKnown},
		},
		{
			name: "list with comments",
			json: `{"name": "n", "version": 1, "description": "d", "type": "string", "list": {"b": "second", "a": "first"}, "category": "false_positive"}`,
			want: &match.Warninglist{Name: "n", Description: "d", Type: "string", Version: 1, Entries: []string{"b", "a"}, Category: match.WarninglistFalsePositive},
		},
		{
			name:    "item not a string",
			json:    `{"name": "n", "version": 1, "description": "d", "type": "string", "list": ["a", 3, null]}`,
			want:    &match.Warninglist{Name: "n", Description: "d", Type: "string", Version: 1, Entries: []string{"a"}, Category: match.WarninglistFalsePositive},
			wantErr: "item 1 is not a string",
		},
		{
			name:    "bad regex skipped",
			json:    `{"name": "n", "version": 1, "description": "d", "type": "regex", "list": ["/(?<=a)b/", "/ok/"]}`,
			want:    &match.Warninglist{Name: "n", Description: "d", Type: "regex", Version: 1, Entries: []string{"/ok/"}, Category: match.WarninglistFalsePositive},
			wantErr: `entry "/(?<=a)b/": regular expression not supported by RE2`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wl, err := match.ParseWarninglist(strings.NewReader(tc.json), "t.json")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "t.json") {
					t.Errorf("error = %v, want one naming t.json and containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Errorf("ParseWarninglist: %v", err)
			}
			if !reflect.DeepEqual(wl, tc.want) {
				t.Errorf("got %+v, want %+v", wl, tc.want)
			}
			if wl != nil {
				if _, err := match.NewWarninglistSet(wl); err != nil {
					t.Errorf("NewWarninglistSet of a parsed list: %v", err)
				}
			}
		})
	}
}

// TestParseWarninglistBadEntries checks that bad entries are reported one by one with the file
// and the entry, and that the rest of the list loads.
func TestParseWarninglistBadEntries(t *testing.T) {
	f, err := os.Open("testdata/warninglists-mixed/bad-cidr.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wl, err := match.ParseWarninglist(f, "bad-cidr.json")
	if wl == nil {
		t.Fatalf("no list: %v", err)
	}
	if want := []string{"192.0.2.0/24", "198.51.100.7", "2001:db8::/32"}; !slices.Equal(wl.Entries, want) {
		t.Errorf("entries %q, want %q", wl.Entries, want)
	}
	var bad []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ee *match.EntryError
		if !errors.As(e, &ee) {
			t.Errorf("%v is not an *EntryError", e)
			continue
		}
		if ee.File != "bad-cidr.json" || !strings.Contains(e.Error(), "bad-cidr.json") || !strings.Contains(e.Error(), ee.Entry) {
			t.Errorf("error %q does not name the file and the entry", e)
		}
		bad = append(bad, ee.Entry)
	}
	if want := []string{"10.0.0.0/33", "not-an-ip", "fe80::1%eth0"}; !slices.Equal(bad, want) {
		t.Errorf("reported %q, want %q", bad, want)
	}
	s, err := match.NewWarninglistSet(wl)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Match(obs(intel.IPv4, "198.51.100.7")); len(got) != 1 {
		t.Errorf("198.51.100.7: %v", got)
	}

	// Past ten bad entries the rest are counted, not listed.
	var b strings.Builder
	b.WriteString(`{"name": "n", "version": 1, "description": "d", "type": "cidr", "list": ["10.0.0.0/8"`)
	for i := range 25 {
		fmt.Fprintf(&b, `, "bad-%d"`, i)
	}
	b.WriteString("]}")
	wl, err = match.ParseWarninglist(strings.NewReader(b.String()), "many.json")
	if wl == nil || len(wl.Entries) != 1 {
		t.Fatalf("got %v", wl)
	}
	if errs := err.(interface{ Unwrap() []error }).Unwrap(); len(errs) != 11 || !strings.Contains(errs[10].Error(), "15 more invalid entries") {
		t.Errorf("got %d errors, last %v", len(errs), errs[len(errs)-1])
	}
}

func TestLoadWarninglistDirMixed(t *testing.T) {
	dir := filepath.Join("testdata", "warninglists-mixed")
	lists, errs := match.LoadWarninglistDir(dir)
	var names []string
	for _, l := range lists {
		names = append(names, l.Name)
	}
	if want := []string{"test: bad cidr entries", "test: good"}; !slices.Equal(names, want) {
		t.Errorf("loaded %q, want %q", names, want)
	}
	wantErrs := []string{
		filepath.Join(dir, "bad-cidr.json") + `: entry "10.0.0.0/33"`,
		filepath.Join(dir, "bad-cidr.json") + `: entry "not-an-ip"`,
		filepath.Join(dir, "bad-cidr.json") + `: entry "fe80::1%eth0"`,
		filepath.Join(dir, "missing-list.json") + `: missing required field "list"`,
		filepath.Join(dir, "not-json.json") + ": parsing JSON",
		filepath.Join(dir, "wrong-type.json") + `: field "type": unknown type "glob"`,
		filepath.Join(dir, "zz-duplicate-name.json") + `: name "test: good" already used`,
	}
	var msgs []string
	for _, err := range errs {
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				msgs = append(msgs, e.Error())
			}
			continue
		}
		msgs = append(msgs, err.Error())
	}
	if len(msgs) != len(wantErrs) {
		t.Fatalf("got errors:\n%s\nwant %d", strings.Join(msgs, "\n"), len(wantErrs))
	}
	for i, w := range wantErrs {
		if !strings.Contains(msgs[i], w) {
			t.Errorf("error %d = %q, want it to contain %q", i, msgs[i], w)
		}
	}
	if _, err := match.NewWarninglistSet(lists...); err != nil {
		t.Errorf("loaded lists do not build: %v", err)
	}
}

// TestLoadWarninglistDirLayouts loads the embedded genuine lists laid out as the published
// repository, as its lists folder, and flat.
func TestLoadWarninglistDirLayouts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("warninglists", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded lists: %v", err)
	}
	write := func(t *testing.T, path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo := t.TempDir()
	flat := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".json"), ".truncated")
		write(t, filepath.Join(repo, "lists", name, "list.json"), data)
		write(t, filepath.Join(flat, filepath.Base(f)), data)
	}
	// What else the repository holds at its root and in lists/.
	write(t, filepath.Join(repo, "schema.json"), []byte(`{"title": "Validator for misp-warninglists"}`))
	write(t, filepath.Join(repo, "README.md"), []byte("# misp-warninglists\n"))
	write(t, filepath.Join(repo, "lists", "no-list-here", "README.md"), []byte("x"))
	write(t, filepath.Join(flat, "_schema.json"), []byte(`{"title": "Validator for misp-warninglists"}`))

	want, err := match.DefaultWarninglists()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{repo, filepath.Join(repo, "lists"), flat} {
		t.Run(dir, func(t *testing.T) {
			lists, errs := match.LoadWarninglistDir(dir)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(lists) != len(want) {
				t.Fatalf("loaded %d lists, want %d", len(lists), len(want))
			}
			s, err := match.NewWarninglistSet(lists...)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Match(obs(intel.URL, "https://bit.ly/abc")); len(got) != 1 || got[0].List != shortenerList {
				t.Errorf("bit.ly: %v", got)
			}
		})
	}
	if _, errs := match.LoadWarninglistDir(filepath.Join(repo, "missing")); len(errs) != 1 {
		t.Errorf("missing dir: %v", errs)
	}
	if _, errs := match.LoadWarninglistDir(t.TempDir()); len(errs) != 1 || !strings.Contains(errs[0].Error(), "no list files") {
		t.Errorf("empty dir: %v", errs)
	}
}

func TestWarninglistMatchNoAllocOnMiss(t *testing.T) {
	s := defaultSet(t)
	misses := []intel.Observable{
		obs(intel.IPv4, "8.8.8.9"),
		obs(intel.IPv6, "2a00:1450::1"),
		obs(intel.CIDR, "104.0.0.0/8"),
		obs(intel.Domain, "a.b.evil-google.com"),
		obs(intel.URL, "https://evil.example/Some/Long/Path?With=Query&And=More"),
		obs(intel.Email, "john@example.com"),
		obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427f"),
		obs(intel.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856"),
	}
	for _, o := range misses {
		t.Run(string(o.Type), func(t *testing.T) {
			if got := s.Match(o); got != nil {
				t.Fatalf("Match(%v) = %v, want a miss", o, got)
			}
			if raceEnabled {
				return // see raceEnabled
			}
			if n := testing.AllocsPerRun(100, func() { s.Match(o) }); n != 0 {
				t.Errorf("Match(%v) allocates %v times per miss", o, n)
			}
		})
	}
	// A hit allocates the result only.
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() { s.Match(obs(intel.IPv4, "10.1.2.3")) }); n != 1 {
		t.Errorf("a hit allocates %v times, want 1", n)
	}
}

// TestWarninglistSetConcurrent runs parallel readers on the shared default set; run with -race.
func TestWarninglistSetConcurrent(t *testing.T) {
	s := defaultSet(t)
	queries := []intel.Observable{
		obs(intel.IPv4, "10.1.2.3"), obs(intel.IPv4, "8.8.8.9"), obs(intel.IPv6, "2606:4700::1"),
		obs(intel.CIDR, "104.16.0.0/16"), obs(intel.Domain, "x.bit.ly"), obs(intel.URL, "https://bit.ly/a"),
		obs(intel.Email, "abuse@example.com"), obs(intel.Domain, "www.virustotal.com"), obs(intel.Domain, "evil.com"),
		obs(intel.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
	}
	want := make([][]match.Hit, len(queries))
	for i, q := range queries {
		want[i] = s.Match(q)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				q := (i + g) % len(queries)
				if got := s.Match(queries[q]); !reflect.DeepEqual(got, want[q]) {
					t.Errorf("goroutine %d: Match(%v) = %v, want %v", g, queries[q], got, want[q])
					return
				}
			}
		})
	}
	wg.Wait()
}
