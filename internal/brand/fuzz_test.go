package brand

import (
	"testing"
	"unicode/utf8"
)

// FuzzMatch checks that Match never panics and returns well-formed hits for any input. The
// seeds are names from the genuine Cisco top list and generated permutations.
func FuzzMatch(f *testing.F) {
	for _, s := range topDomains(f)[:200] {
		f.Add(s)
	}
	for _, s := range []string{"xn--pypal-4ve.com", "paypal-secure-login.com", "paypa1.com", "paypal.com.evil.net",
		"paypal.com-verify.top", "*.paypal.com.", "PAYPAL.COM", "xn--.com", "xn--zz-zzzz.com", "a..b", "-", ".",
		"ра\u0443pal.com", "pay\u0301pal.com", "\xff\xfe.com"} {
		f.Add(s)
	}
	m := mustMatcher(f, Options{Allow: []string{"partner.example"}},
		Brand{Name: "PayPal", Domains: []string{"paypal.com"}, Keywords: []string{"pay pal"}},
		Brand{Name: "Bank of America", Domains: []string{"bank-of-america.com"}},
		Brand{Name: "Example", Domains: []string{"example.co.uk"}},
		Brand{Name: "IBM", Domains: []string{"ibm.com"}})
	f.Fuzz(func(t *testing.T, s string) {
		for _, h := range m.Match(s) {
			if h.Brand == "" || h.Domain == "" || h.Technique == "" || h.Explanation == "" || h.Score <= 0 || h.Score > 1 ||
				h.Distance < 0 || !utf8.ValidString(h.Explanation) && utf8.ValidString(s) {
				t.Fatalf("%q: bad hit %+v", s, h)
			}
		}
	})
}

// FuzzGenerate checks that Generate never panics and emits valid, unique names.
func FuzzGenerate(f *testing.F) {
	for _, s := range []string{"paypal.com", "bank-of-america.com", "example.co.uk", "a.b", "xn--pypal-4ve.com", "com", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 40 {
			return
		}
		perms, err := Generate(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range perms {
			if seen[p.Domain] || !validName(p.Domain) || p.Fuzzer == "" {
				t.Fatalf("%q: bad permutation %+v", s, p)
			}
			seen[p.Domain] = true
		}
	})
}
