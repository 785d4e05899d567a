package respond_test

import (
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/respond"
)

func testGuard(t testing.TB) *respond.Guard {
	t.Helper()
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	assets := []intel.Asset{
		{ID: 1, Kind: "network", Name: "HQ egress", Values: []string{"194.53.20.0/24", "2001:db8:abcd::/48"}},
		{ID: 2, Kind: "domain", Name: "Corporate mail", Values: []string{"northwind-traders.com"}},
		{ID: 3, Kind: "host", Name: "VPN", Values: []string{"vpn.northwind-ops.net", "81.2.69.142"}},
		{ID: 4, Kind: "person", Name: "CEO", Values: []string{"ceo@gmail.com"}},
		{ID: 5, Kind: "technology", Name: "Exchange", Values: []string{"cpe:2.3:a:microsoft:exchange_server:2019:*:*:*:*:*:*:*"}},
	}
	allow := []intel.AllowEntry{
		{ID: 7, Observable: intel.Observable{Type: intel.Domain, Value: "partner-portal.net"}, Reason: "partner SSO"},
		{ID: 8, Observable: intel.Observable{Type: intel.CIDR, Value: "45.137.20.0/23"}},
		{ID: 9, Observable: intel.Observable{Type: intel.URL, Value: "http://updates.vendor-cdn.com/agent.exe"}},
		{ID: 10, Observable: intel.Observable{Type: intel.SHA256, Value: strings.Repeat("ab", 32)}},
	}
	return respond.NewGuard(assets, lists, allow)
}

func TestGuardCheck(t *testing.T) {
	g := testGuard(t)
	for _, c := range []struct {
		typ    intel.Type
		value  string
		reason string // "" keeps
		detail string // a part of the detail
	}{
		// Own networks, CIDR-aware.
		{intel.IPv4, "194.53.20.25", "own-asset", `asset "HQ egress" 194.53.20.0/24`},
		{intel.IPv4, "194.53.21.1", "", ""},
		{intel.CIDR, "194.53.20.128/25", "own-asset", "HQ egress"},
		{intel.CIDR, "194.53.0.0/16", "own-asset", "HQ egress"}, // contains the own network
		{intel.CIDR, "194.53.22.0/23", "", ""},
		{intel.IPv6, "2001:db8:abcd::25", "own-asset", "HQ egress"},
		{intel.IPv4, "81.2.69.142", "own-asset", `asset "VPN" 81.2.69.142`},
		{intel.CIDR, "81.2.69.0/24", "own-asset", "VPN"},
		// Own domains: the domain, subdomains, parents, URL hosts and email domains.
		{intel.Domain, "northwind-traders.com", "own-asset", "Corporate mail"},
		{intel.Domain, "mail.northwind-traders.com", "own-asset", "Corporate mail"},
		{intel.Domain, "northwind-traders.com.evil.ru", "", ""},
		{intel.Domain, "xnorthwind-traders.com", "", ""},
		{intel.Domain, "northwind-ops.net", "own-asset", "under northwind-ops.net"}, // a parent of vpn.northwind-ops.net
		{intel.URL, "https://mail.northwind-traders.com/owa/", "own-asset", "Corporate mail"},
		{intel.URL, "http://194.53.20.25:8080/x", "own-asset", "HQ egress"},
		{intel.URL, "http://evil.ru/?r=northwind-traders.com", "", ""},
		{intel.Email, "ceo@northwind-traders.com", "own-asset", "Corporate mail"},
		{intel.Email, "ceo@gmail.com", "own-asset", "CEO"},
		{intel.Email, "other@gmail.com", "", ""},
		// Warninglists, MISP semantics, and networks around listed addresses.
		{intel.IPv4, "8.8.8.8", "warninglist", "8.8.8.8"},
		{intel.CIDR, "8.8.8.0/24", "warninglist", "inside 8.8.8.0/24"},
		{intel.IPv4, "104.16.1.1", "warninglist", "104.16.0.0/13"},
		{intel.CIDR, "104.16.0.0/24", "warninglist", "Cloudflare"},
		{intel.IPv4, "10.1.2.3", "warninglist", ""},
		{intel.Domain, "google.com", "warninglist", `"Top 5000 websites from Cisco Umbrella" entry google.com`},
		{intel.URL, "http://8.8.8.8/dns-query", "warninglist", "the URL's host 8.8.8.8"},
		{intel.URL, "https://bit.ly/3xYz", "warninglist", ""},
		{intel.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "warninglist", ""},
		// The allowlist: subdomains, URL hosts, CIDR containment, exact values.
		{intel.Domain, "login.partner-portal.net", "allowlist", "allowlist entry 7 partner-portal.net (partner SSO)"},
		{intel.URL, "https://sso.partner-portal.net/login", "allowlist", "entry 7"},
		{intel.Email, "it@partner-portal.net", "allowlist", "entry 7"},
		{intel.IPv4, "45.137.21.9", "allowlist", "entry 8"},
		{intel.CIDR, "45.137.0.0/16", "allowlist", "entry 8"},
		{intel.URL, "http://updates.vendor-cdn.com/agent.exe", "allowlist", "entry 9"},
		{intel.URL, "http://updates.vendor-cdn.com/other.exe", "", ""},
		{intel.SHA256, strings.Repeat("ab", 32), "allowlist", "entry 10"},
		// Genuine malicious values pass.
		{intel.IPv4, "192.9.135.73", "", ""},
		{intel.Domain, "nadsupplies.co.za", "", ""},
		{intel.CIDR, "1.10.16.0/20", "", ""},
	} {
		o, err := intel.Normalize(c.typ, c.value)
		if err != nil {
			t.Fatalf("%s %s: %v", c.typ, c.value, err)
		}
		r, bad := g.Check(o)
		switch {
		case c.reason == "" && bad:
			t.Errorf("%s removed: %+v", o, r)
		case c.reason != "" && !bad:
			t.Errorf("%s kept, want %s", o, c.reason)
		case bad && (r.Reason != c.reason || !strings.Contains(r.Detail, c.detail) || r.Observable != o):
			t.Errorf("%s: %+v, want %s with %q", o, r, c.reason, c.detail)
		}
	}
}

// A nil guard and one with nothing in it remove nothing.
func TestGuardEmpty(t *testing.T) {
	var nilGuard *respond.Guard
	for _, g := range []*respond.Guard{nilGuard, respond.NewGuard(nil, nil, nil)} {
		if r, bad := g.Check(intel.Observable{Type: intel.IPv4, Value: "8.8.8.8"}); bad {
			t.Errorf("removed %+v", r)
		}
	}
}

func FuzzGuardCheck(f *testing.F) {
	g := testGuard(f)
	for _, s := range []string{"194.53.20.25", "8.8.8.0/24", "http://[2001:db8:abcd::1]:8080/x", "ceo@northwind-traders.com",
		"login.partner-portal.net", "http://user@8.8.8.8/", "::ffff:8.8.8.8", "1.2.3.4/33", "", "http://", "a@", "@b"} {
		for _, t := range intel.Types {
			f.Add(string(t), s)
		}
	}
	f.Fuzz(func(t *testing.T, typ, v string) {
		o := intel.Observable{Type: intel.Type(typ), Value: v}
		r, bad := g.Check(o) // raw, not canonical: must not panic
		if bad && (r.Reason == "" || r.Detail == "") {
			t.Errorf("%s: unexplained removal %+v", o, r)
		}
		if n, err := intel.Normalize(intel.Type(typ), v); err == nil {
			g.Check(n)
		}
	})
}

// BenchmarkGuardCheck checks a mix of addresses, networks, domains and URLs against the default
// warninglists, a few assets and an allowlist.
func BenchmarkGuardCheck(b *testing.B) {
	g := testGuard(b)
	var in []intel.Observable
	for _, v := range []string{"192.9.135.73", "8.8.8.8", "194.53.20.25", "1.10.16.0/20", "nadsupplies.co.za",
		"mail.northwind-traders.com", "http://nelitrianggraeni.000webhostapp.com/x.php", "2001:db8:abcd::1", "ceo@gmail.com"} {
		o, err := intel.Detect(v)
		if err != nil {
			b.Fatal(err)
		}
		in = append(in, o)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		g.Check(in[i%len(in)])
	}
}
