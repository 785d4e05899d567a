package brand

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// recallDomains are the brands whose generated permutations the matcher must flag.
var recallDomains = []string{"paypal.com", "microsoft.com", "google.com", "bank-of-america.com", "example.co.uk"}

// TestRecall checks that at least 99% of the permutations of each domain, and of each family,
// are flagged as imitating it.
func TestRecall(t *testing.T) {
	for _, d := range recallDomains {
		m := mustMatcher(t, Options{}, Brand{Name: d, Domains: []string{d}})
		perms, err := Generate(d)
		if err != nil {
			t.Fatal(err)
		}
		total, flagged := map[string]int{}, map[string]int{}
		var missed []string
		for _, p := range perms {
			if p.Domain == d || strings.ContainsAny(p.Domain, "_ ") {
				t.Errorf("%s: bad permutation %+v", d, p)
			}
			total[p.Fuzzer]++
			if hits := m.Match(p.Domain); len(hits) > 0 && hits[0].Domain == d {
				flagged[p.Fuzzer]++
			} else if len(missed) < 10 {
				missed = append(missed, p.Fuzzer+":"+p.Domain)
			}
		}
		var all, ok int
		for _, f := range Fuzzers {
			all += total[f]
			ok += flagged[f]
			if total[f] == 0 && f != "cyrillic" && f != "plural" {
				t.Errorf("%s: family %s generated nothing", d, f)
			}
			if total[f] > 0 && float64(flagged[f]) < 0.95*float64(total[f]) {
				t.Errorf("%s: family %s: %d of %d flagged", d, f, flagged[f], total[f])
			}
		}
		rate := float64(ok) / float64(all)
		t.Logf("recall %s: %d of %d permutations flagged (%.2f%%); missed e.g. %v", d, ok, all, 100*rate, missed)
		if rate < 0.99 {
			t.Errorf("%s: recall %.2f%% < 99%%", d, 100*rate)
		}
	}
}

// precisionBrands are 20 organisations most imitated in phishing, with their main domains.
var precisionBrands = []Brand{
	{Name: "PayPal", Domains: []string{"paypal.com"}}, {Name: "Microsoft", Domains: []string{"microsoft.com"}},
	{Name: "Google", Domains: []string{"google.com"}}, {Name: "Apple", Domains: []string{"apple.com"}},
	{Name: "Amazon", Domains: []string{"amazon.com"}}, {Name: "Facebook", Domains: []string{"facebook.com"}},
	{Name: "Netflix", Domains: []string{"netflix.com"}}, {Name: "Bank of America", Domains: []string{"bankofamerica.com"}},
	{Name: "Chase", Domains: []string{"chase.com"}}, {Name: "Wells Fargo", Domains: []string{"wellsfargo.com"}},
	{Name: "LinkedIn", Domains: []string{"linkedin.com"}}, {Name: "Dropbox", Domains: []string{"dropbox.com"}},
	{Name: "Adobe", Domains: []string{"adobe.com"}}, {Name: "Instagram", Domains: []string{"instagram.com"}},
	{Name: "WhatsApp", Domains: []string{"whatsapp.com"}}, {Name: "Yahoo", Domains: []string{"yahoo.com"}},
	{Name: "eBay", Domains: []string{"ebay.com"}}, {Name: "DHL", Domains: []string{"dhl.com"}},
	{Name: "Coinbase", Domains: []string{"coinbase.com"}}, {Name: "Binance", Domains: []string{"binance.com"}},
}

// topDomains reads the genuine Cisco Umbrella top list (MISP warning list) in testdata.
func topDomains(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/cisco_top5k.json")
	if err != nil {
		t.Fatal(err)
	}
	var wl struct{ List []string }
	if err := json.Unmarshal(b, &wl); err != nil {
		t.Fatal(err)
	}
	return wl.List
}

// underBrand reports whether name is one of the brands' domains or under one.
func underBrand(name string, brands []Brand) bool {
	for _, b := range brands {
		for _, d := range b.Domains {
			if name == d || strings.HasSuffix(name, "."+d) {
				return true
			}
		}
	}
	return false
}

// registrable returns d's registrable domain.
func registrable(d string) string {
	ps := icannSuffix(d)
	if ps == d {
		return d
	}
	rest := d[:len(d)-len(ps)-1]
	return rest[strings.LastIndexByte(rest, '.')+1:] + "." + ps
}

// ownDomains are the brands' other registrable domains in the top list, as each organisation
// lists its own (public WHOIS and the companies' documentation).
var ownDomains = map[string][]string{
	"Amazon":    {"amazon-adsystem.com", "amazon.dev", "amazon.co.za", "media-amazon.com", "ssl-images-amazon.com"},
	"Adobe":     {"adobe.io", "adobe.net", "adobelogin.com"},
	"Apple":     {"apple-dns.net", "apple-cloudkit.com", "cdn-apple.com", "apple-mapkit.com", "apple.news"},
	"WhatsApp":  {"whatsapp.net"},
	"Microsoft": {"microsoftapp.net", "microsoftonline.com", "microsoftonline.us", "onmicrosoft.com", "microsoft.us", "s-microsoft.com"},
	"Yahoo":     {"yahoo.co.jp"},
	"Facebook":  {"facebook.net"},
	"Google":    {"google-analytics.com", "google.ca", "google.cn", "google.co.in", "google.com.br", "google.us"},
	"Netflix":   {"netflix.net"},
}

// cdnAllow are the CDNs whose hostnames carry their customers' names ("apple.com.akadns.net"):
// known-good infrastructure an organisation puts in brand.allow.
var cdnAllow = []string{"akadns.net", "akamaized.net", "edgekey.net", "edgesuite.net", "cloudflare.net"}

// TestPrecision checks that at most 0.1% of the genuine top domains, minus the brands themselves
// (their domains and what is under them), are flagged against 20 brands configured as an
// organisation configures its own: every domain it owns listed, its CDNs allowed.
func TestPrecision(t *testing.T) {
	var brands []Brand
	for _, b := range precisionBrands {
		b.Domains = append(slices.Clone(b.Domains), ownDomains[b.Name]...)
		brands = append(brands, b)
	}
	m := mustMatcher(t, Options{Allow: cdnAllow}, brands...)
	var n, flagged int
	var shown []string
	for _, d := range topDomains(t) {
		if underBrand(d, brands) {
			continue
		}
		n++
		if hits := m.Match(d); len(hits) > 0 {
			flagged++
			shown = append(shown, fmt.Sprintf("%s (%s)", d, hits[0].Explanation))
		}
	}
	rate := float64(flagged) / float64(n)
	t.Logf("precision: %d of %d top domains flagged (%.3f%%): %s", flagged, n, 100*rate, strings.Join(shown, "; "))
	if rate > 0.001 {
		t.Errorf("false-positive rate %.3f%% > 0.1%%", 100*rate)
	}
}

// TestPrecisionMainDomainsOnly lists only each brand's main domain: the brands' other domains and
// their CDN names are then flagged (the matcher cannot know them), and nothing else is.
func TestPrecisionMainDomainsOnly(t *testing.T) {
	m := mustMatcher(t, Options{}, precisionBrands...)
	owned := map[string]bool{}
	for _, ds := range ownDomains {
		for _, d := range ds {
			owned[d] = true
		}
	}
	for _, d := range cdnAllow {
		owned[d] = true
	}
	var n, flagged, other int
	for _, d := range topDomains(t) {
		if underBrand(d, precisionBrands) {
			continue
		}
		n++
		if hits := m.Match(d); len(hits) > 0 {
			flagged++
			if !owned[registrable(d)] {
				other++
				t.Errorf("%s: flagged and neither a brand's own domain nor a CDN name: %s", d, hits[0].Explanation)
			}
		}
	}
	t.Logf("main domains only: %d of %d flagged (%.2f%%), %d of them not the brands' own or their CDNs'", flagged, n, 100*float64(flagged)/float64(n), other)
}

// BenchmarkMatch measures names/s against 1,000 brand labels, beside a plain map lookup of the
// same names.
func BenchmarkMatch(b *testing.B) {
	top := topDomains(b)
	var brands []Brand
	for _, d := range top {
		if len(brands) == 1000 {
			break
		}
		reg := registrable(d)
		if reg == icannSuffix(d) {
			continue
		}
		if !slices.ContainsFunc(brands, func(x Brand) bool { return x.Domains[0] == reg }) {
			brands = append(brands, Brand{Name: reg, Domains: []string{reg}})
		}
	}
	// Observed names: permutations of a few brands mixed with unrelated top names.
	names := append([]string(nil), top[2000:]...)
	for _, d := range []string{"paypal.com", "google.com"} {
		perms, _ := Generate(d)
		for _, p := range perms[:200] {
			names = append(names, p.Domain)
		}
	}
	b.Run("match", func(b *testing.B) {
		m := mustMatcher(b, Options{}, brands...)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			m.Match(names[i%len(names)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "names/s")
	})
	b.Run("map", func(b *testing.B) {
		set := map[string]bool{}
		for _, br := range brands {
			set[br.Domains[0]] = true
		}
		b.ReportAllocs()
		b.ResetTimer()
		n := 0
		for i := range b.N {
			if set[names[i%len(names)]] {
				n++
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "names/s")
	})
}
