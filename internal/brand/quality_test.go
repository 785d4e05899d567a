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

// verbatim reports whether name carries a brand's label unchanged ("apple-dns.net", "adobe.io",
// "apple.com.akadns.net", "microsoftonline.com"). In a list of the most resolved names these are
// the brands' own infrastructure, not lookalikes.
func verbatim(name string, brands []Brand) bool {
	for _, b := range brands {
		for _, d := range b.Domains {
			if strings.Contains(name, d[:strings.IndexByte(d, '.')]) {
				return true
			}
		}
	}
	return false
}

// brandOwned are the registrable domains in the top list that carry a brand's name and belong to
// the brand (public WHOIS and the companies' documentation), or are CDN names the brand itself
// points at (apple.com.edgekey.net). The matcher flags them because the test's brands list only
// the main domain; an organisation lists such domains as its own (Brand.Domains or Options.Allow).
var brandOwned = map[string]bool{
	"amazon-adsystem.com": true, "amazon.dev": true, "adobe.io": true, "apple-dns.net": true, "adobe.net": true,
	"adobelogin.com": true, "amazon.co.za": true, "akadns.net": true, "apple-cloudkit.com": true, "whatsapp.net": true,
	"cdn-apple.com": true, "apple-mapkit.com": true, "akamaized.net": true, "edgekey.net": true, "edgesuite.net": true,
	"apple.news": true, "media-amazon.com": true, "microsoftapp.net": true, "yahoo.co.jp": true, "facebook.net": true,
	"google-analytics.com": true, "google.ca": true, "google.cn": true, "google.co.in": true, "google.com.br": true,
	"google.us": true, "ssl-images-amazon.com": true, "cloudflare.net": true, "microsoftonline.com": true,
	"microsoftonline.us": true, "onmicrosoft.com": true, "microsoft.us": true, "netflix.net": true, "s-microsoft.com": true,
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

// TestPrecision checks that at most 0.1% of the genuine top domains are flagged against 20
// brands, leaving out the brands' own names: those under the brands' domains and those that
// carry a brand's name verbatim (its infrastructure; counted and logged separately).
func TestPrecision(t *testing.T) {
	m := mustMatcher(t, Options{}, precisionBrands...)
	var n, flagged, nv, fv int
	var shown, shownV []string
	for _, d := range topDomains(t) {
		if underBrand(d, precisionBrands) {
			continue
		}
		hits := m.Match(d)
		if verbatim(d, precisionBrands) {
			nv++
			if len(hits) > 0 {
				fv++
				if len(shownV) < 5 {
					shownV = append(shownV, d)
				}
				if !brandOwned[registrable(d)] {
					t.Errorf("%s: flagged and not the brand's own: %s", d, hits[0].Explanation)
				}
			}
			continue
		}
		n++
		if len(hits) > 0 {
			flagged++
			shown = append(shown, fmt.Sprintf("%s (%s)", d, hits[0].Explanation))
		}
	}
	rate := float64(flagged) / float64(n)
	t.Logf("precision: %d of %d top domains flagged (%.3f%%): %s", flagged, n, 100*rate, strings.Join(shown, "; "))
	t.Logf("brand infrastructure carrying a brand name verbatim: %d of %d flagged (e.g. %s)", fv, nv, strings.Join(shownV, ", "))
	if rate > 0.001 {
		t.Errorf("false-positive rate %.3f%% > 0.1%%", 100*rate)
	}
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
