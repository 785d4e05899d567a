package brand

import (
	"slices"
	"testing"
)

func TestGenerate(t *testing.T) {
	perms, err := Generate("paypal.com")
	if err != nil {
		t.Fatal(err)
	}
	byDomain := map[string]string{}
	for _, p := range perms {
		if _, dup := byDomain[p.Domain]; dup {
			t.Errorf("duplicate %s", p.Domain)
		}
		byDomain[p.Domain] = p.Fuzzer
	}
	for domain, fuzzer := range map[string]string{
		"paypala.com":       "addition",
		"paypa1.com":        "homoglyph", // or an earlier family that produced it first
		"xn--pypal-4ve.com": "homoglyph", // one Cyrillic letter: not the all-Cyrillic fuzzer
		"paypal.net":        "tld-swap",
		"pay-pal.com":       "hyphenation",
		"paypl.com":         "omission",
		"ppaypal.com":       "repetition",
		"pay.pal.com":       "subdomain",
		"apypal.com":        "transposition",
		"paypol.com":        "vowel-swap",
		"paypal-login.com":  "dictionary",
		"paypalcom.com":     "various",
		"paypao.com":        "replacement",
	} {
		if got, ok := byDomain[domain]; !ok {
			t.Errorf("%s not generated", domain)
		} else if got != fuzzer && domain != "paypa1.com" && domain != "xn--pypal-4ve.com" {
			t.Errorf("%s: fuzzer %s, want %s", domain, got, fuzzer)
		}
	}
	if _, ok := byDomain["paypal.com"]; ok {
		t.Error("the original is listed")
	}
	fams := map[string]bool{}
	for _, p := range perms {
		fams[p.Fuzzer] = true
	}
	for _, f := range Fuzzers {
		if !fams[f] && f != "plural" && f != "cyrillic" {
			t.Errorf("no %s permutation", f)
		}
	}
	// Registries of .co.uk take no IDN: homoglyphs stay ASCII.
	uk, err := Generate("example.co.uk")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(uk, func(p Permutation) bool { return p.Domain == "example.uk" }) {
		t.Error("example.co.uk: no example.uk")
	}
	for _, p := range uk {
		if p.Fuzzer == "homoglyph" && !isASCII(p.Domain) || p.Fuzzer == "homoglyph" && len(p.Domain) > 4 && p.Domain[:4] == "xn--" {
			t.Errorf("example.co.uk: IDN homoglyph %s", p.Domain)
		}
	}
	for _, bad := range []string{"", "com", "co.uk", "no dot", "a..b"} {
		if _, err := Generate(bad); err == nil {
			t.Errorf("Generate(%q): no error", bad)
		}
	}
}
