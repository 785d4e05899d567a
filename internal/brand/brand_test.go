package brand

import (
	"strings"
	"testing"
)

func mustMatcher(t testing.TB, opts Options, brands ...Brand) *Matcher {
	t.Helper()
	m, err := NewMatcher(brands, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIssueExample(t *testing.T) {
	m := mustMatcher(t, Options{}, Brand{Name: "paypal.com", Domains: []string{"paypal.com"}})
	for _, tc := range []struct {
		name, technique, why string
	}{
		{"xn--pypal-4ve.com", "homoglyph", "homoglyph of paypal.com: 'а' (U+0430) for 'a'"},
		{"paypal-secure-login.com", "combosquat", "brand name \"paypal\""},
		{"paypa1.com", "homoglyph", "'1' for 'l'"},
	} {
		hits := m.Match(tc.name)
		if len(hits) == 0 {
			t.Errorf("%s: not flagged", tc.name)
			continue
		}
		h := hits[0]
		if h.Technique != tc.technique || !strings.Contains(h.Explanation, tc.why) || h.Domain != "paypal.com" || h.Score <= 0 || h.Score > 1 {
			t.Errorf("%s: got %+v, want technique %s and %q", tc.name, h, tc.technique, tc.why)
		}
	}
	for _, benign := range []string{"example.org", "paypal.com", "www.paypal.com", "PayPal.com.", "com", ""} {
		if hits := m.Match(benign); hits != nil {
			t.Errorf("%s: flagged %+v", benign, hits)
		}
	}
}

func TestTechniques(t *testing.T) {
	m := mustMatcher(t, Options{Allow: []string{"paypal-partner.example"}},
		Brand{Name: "PayPal", Domains: []string{"paypal.com"}, Keywords: []string{"paypal"}},
		Brand{Name: "Microsoft", Domains: []string{"microsoft.com"}},
		Brand{Name: "Bank of America", Domains: []string{"bank-of-america.com"}},
		Brand{Name: "Example", Domains: []string{"example.co.uk"}},
	)
	for _, tc := range []struct{ name, brand, technique string }{
		{"paypal.net", "PayPal", "tld-swap"},
		{"example.de", "Example", "tld-swap"},
		{"paypla.com", "PayPal", "transposition"},
		{"paypall.com", "PayPal", "repetition"},
		{"paypak.com", "PayPal", "replacement"},
		{"paypl.com", "PayPal", "omission"},
		{"paypalx.com", "PayPal", "addition"},
		{"pay-pal.com", "PayPal", "hyphenation"},
		{"paypol.com", "PayPal", "vowel-swap"},
		{"paypan.com", "PayPal", "bitsquatting"},
		{"pay.pal.com", "PayPal", "subdomain"},
		{"paypalcom.com", "PayPal", "various"},
		{"paypal.com.evil.net", "PayPal", "subdomain-trick"},
		{"paypal.com-verify.top", "PayPal", "subdomain-trick"},
		{"secure-paypal.net", "PayPal", "combosquat"},
		{"paypallogin.com", "PayPal", "combosquat"},
		{"paypa1-login.com", "PayPal", "combosquat"},
		{"rnicrosoft.com", "Microsoft", "homoglyph"},
		{"xn--microsft-e4a.com", "Microsoft", "idn"}, // microsöft? no: ȯ
		{"bank-of-america-login.com", "Bank of America", "combosquat"},
		{"bankofamerica.com", "Bank of America", "hyphenation"},
		{"exarnple.co.uk", "Example", "homoglyph"},
	} {
		hits := m.Match(tc.name)
		if len(hits) == 0 {
			t.Errorf("%s: not flagged", tc.name)
			continue
		}
		if hits[0].Brand != tc.brand || hits[0].Technique != tc.technique {
			t.Errorf("%s: got %+v, want %s/%s", tc.name, hits[0], tc.brand, tc.technique)
		}
	}
	for _, benign := range []string{"paypal-partner.example", "login.paypal-partner.example", "microsoft.com", "a.b.microsoft.com",
		"github.com", "apple.com", "xn--.com", "bad..name", "-.com", "\x00.com", "ab"} {
		if hits := m.Match(benign); hits != nil {
			t.Errorf("%s: flagged %+v", benign, hits)
		}
	}
}

func TestNewMatcherErrors(t *testing.T) {
	for _, bs := range [][]Brand{
		{{Name: ""}},
		{{Name: "x"}},
		{{Name: "x", Domains: []string{"com"}}},
		{{Name: "x", Domains: []string{"nodot"}}},
	} {
		if _, err := NewMatcher(bs, Options{}); err == nil {
			t.Errorf("%+v: no error", bs)
		}
	}
	if _, err := NewMatcher(nil, Options{Allow: []string{"bad domain"}}); err == nil {
		t.Error("bad allow: no error")
	}
}

func TestOSA(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"paypal", "paypal", 2, 0}, {"paypla", "paypal", 2, 1}, {"paypl", "paypal", 2, 1}, {"ppaypal", "paypal", 2, 1},
		{"pyapla", "paypal", 2, 2}, {"abcdef", "paypal", 2, 3}, {"", "ab", 2, 2}, {strings.Repeat("a", 70), "a", 2, 3},
	} {
		if got := osa(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("osa(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"pаypal": "paypal", "gŏogle": "google", "ｐaypal": "paypal", "ԍооԍӏе": "google", "paypal": "paypal",
		"micrøsoft": "microsoft", "straße": "strasse",
	} {
		if got := foldUnicode(strings.ToLower(in), nil); got != want {
			t.Errorf("foldUnicode(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"rnicrosoft": "mlcrosoft", "paypa1": "paypal", "g00gle": "google", "vvork": "work", "clone": "done"} {
		if got := foldASCII(in, nil); got != want {
			t.Errorf("foldASCII(%q) = %q, want %q", in, got, want)
		}
	}
}
