// Package brand detects lookalike domains: names that imitate an organisation's brands or
// domains by typos, homoglyphs, IDN, combosquatting, TLD swaps and the subdomain trick. A
// Matcher tests observed names against the brands without generating candidate lists; Generate
// produces dnstwist-style permutations of a domain for proactive checks and tests.
package brand

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Brand is one of the organisation's brands: its own domains and the words it is known by.
type Brand struct {
	Name     string   `json:"name"`
	Domains  []string `json:"domains"`            // the brand's registered domains ("paypal.com")
	Keywords []string `json:"keywords,omitempty"` // words that identify the brand in a name ("paypal")
}

// Options tune a Matcher.
type Options struct {
	// Allow lists known-good domains (partners, the organisation's other domains) that never
	// match, with their sub-domains.
	Allow []string
	// MaxDistance caps the edit distance accepted for any brand label (0: the default, scaled
	// to the label's length: 0 up to 3 characters, 1 up to 5, 2 from 6).
	MaxDistance int
}

// Hit is one brand a domain imitates.
type Hit struct {
	Brand       string  `json:"brand"`       // the brand's name
	Domain      string  `json:"domain"`      // the brand domain imitated
	Technique   string  `json:"technique"`   // homoglyph, idn, bitsquatting, transposition, combosquat, tld-swap, ...
	Distance    int     `json:"distance"`    // edits between the folded label and the brand label
	Score       float64 `json:"score"`       // confusability, 0..1
	Explanation string  `json:"explanation"` // "homoglyph of paypal.com: 'а' (U+0430) for 'a'"
}

// entry is one brand domain, precomputed.
type entry struct {
	brand  int
	domain string // ASCII, lower case
	label  string // the registrable label ("paypal", "bank-of-america")
	fold   string // label with ASCII lookalikes folded
	suffix string // public suffix ("com", "co.uk")
	limit  int    // edit distance accepted
}

// Matcher tests domains against a set of brands. It is safe for concurrent use.
type Matcher struct {
	brands  []Brand
	entries []entry
	own     map[string]bool    // brand domains and allowed domains
	exact   map[string][]int32 // label and fold → entries
	various map[string][]int32 // label+suffix run together ("paypalcom") → entries
	nohyph  map[string][]int32 // hyphenated labels without their hyphens → entries
	kw      map[string]int     // keyword → brand
	del     map[uint64][]int32 // deletion-neighbourhood hash → entries
	minLen  int
	maxLen  int
}

// NewMatcher precomputes the brands' labels and indexes. A brand needs a name and at least one
// domain or keyword; a domain that is not a registrable name is an error.
func NewMatcher(brands []Brand, opts Options) (*Matcher, error) {
	m := &Matcher{brands: brands, own: map[string]bool{}, exact: map[string][]int32{},
		various: map[string][]int32{}, nohyph: map[string][]int32{}, kw: map[string]int{}, del: map[uint64][]int32{}, minLen: maxLabel}
	for _, a := range opts.Allow {
		d, err := asciiDomain(a)
		if err != nil {
			return nil, fmt.Errorf("allowed domain %q: %w", a, err)
		}
		m.own[d] = true
	}
	for bi, b := range brands {
		if strings.TrimSpace(b.Name) == "" {
			return nil, fmt.Errorf("brand %d: no name", bi+1)
		}
		if len(b.Domains) == 0 && len(b.Keywords) == 0 {
			return nil, fmt.Errorf("brand %q: no domain or keyword", b.Name)
		}
		for _, raw := range b.Domains {
			d, err := asciiDomain(raw)
			if err != nil {
				return nil, fmt.Errorf("brand %q: domain %q: %w", b.Name, raw, err)
			}
			m.own[d] = true
			ps := icannSuffix(d)
			if ps == d {
				return nil, fmt.Errorf("brand %q: domain %q is a public suffix", b.Name, raw)
			}
			rest := d[:len(d)-len(ps)-1]
			label := rest[strings.LastIndexByte(rest, '.')+1:]
			uni, _ := idna.Punycode.ToUnicode(label)
			label = foldUnicode(uni, nil)
			e := entry{brand: bi, domain: d, label: label, fold: foldASCII(label, nil), suffix: ps}
			switch n := len(label); {
			case n <= 3:
				e.limit = 0
			case n <= 5:
				e.limit = 1
			default:
				e.limit = 2
			}
			if opts.MaxDistance > 0 {
				e.limit = min(e.limit, opts.MaxDistance)
			}
			id := int32(len(m.entries))
			m.entries = append(m.entries, e)
			m.exact[e.label] = appendOnce(m.exact[e.label], id)
			m.exact[e.fold] = appendOnce(m.exact[e.fold], id)
			if strings.Contains(label, "-") {
				nh := strings.ReplaceAll(e.fold, "-", "")
				m.nohyph[nh] = appendOnce(m.nohyph[nh], id)
			}
			parts := strings.Split(ps, ".")
			for k := 1; k <= len(parts); k++ {
				j := foldASCII(label+strings.Join(parts[:k], ""), nil)
				m.various[j] = appendOnce(m.various[j], id)
			}
			for _, form := range []string{e.label, e.fold} {
				deletions(form, e.limit, func(h uint64) { m.del[h] = appendOnce(m.del[h], id) })
			}
			m.minLen = min(m.minLen, len(e.label), len(e.fold))
			m.maxLen = max(m.maxLen, len(e.label), len(e.fold))
		}
		for _, k := range append([]string{b.Name}, b.Keywords...) {
			k = strings.Join(strings.Fields(foldUnicode(strings.ToLower(k), nil)), "")
			if len(k) >= 4 {
				m.kw[k] = bi
			}
		}
	}
	return m, nil
}

func appendOnce(s []int32, id int32) []int32 {
	if slices.Contains(s, id) {
		return s
	}
	return append(s, id)
}

// asciiDomain returns d in lower-case ASCII (IDNA) form.
func asciiDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if d == "" || !strings.Contains(d, ".") {
		return "", errors.New("not a domain name")
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("not a domain name: %w", err)
	}
	if !validASCII(a) {
		return "", errors.New("not a domain name")
	}
	return a, nil
}

// icannSuffix returns d's public suffix in the ICANN section of the Public Suffix List: a
// private suffix (map.fastly.net, github.io) is a service's name space, not a registry's.
func icannSuffix(d string) string {
	ps, icann := publicsuffix.PublicSuffix(d)
	for !icann {
		i := strings.IndexByte(ps, '.')
		if i < 0 {
			break
		}
		ps, icann = publicsuffix.PublicSuffix(ps[i+1:])
	}
	return ps
}

// fnv-1a constants.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// deletions calls fn with the hash of s after deleting every choice of up to k bytes (k ≤ 2).
func deletions(s string, k int, fn func(uint64)) {
	hash := func(skip1, skip2 int) uint64 {
		h := uint64(fnvOffset)
		for i := 0; i < len(s); i++ {
			if i == skip1 || i == skip2 {
				continue
			}
			h ^= uint64(s[i])
			h *= fnvPrime
		}
		return h
	}
	fn(hash(-1, -1))
	if k >= 1 {
		for i := range len(s) {
			if i > 0 && s[i] == s[i-1] {
				continue // the same string as deleting s[i-1]
			}
			fn(hash(i, -1))
		}
	}
	if k >= 2 {
		for i := range len(s) {
			for j := i + 1; j < len(s); j++ {
				fn(hash(i, j))
			}
		}
	}
}

// ValidDomain reports whether d can be a brand or allowed domain: a registrable name, not a
// public suffix.
func ValidDomain(d string) error {
	a, err := asciiDomain(d)
	if err != nil {
		return fmt.Errorf("domain %q: %w", d, err)
	}
	if icannSuffix(a) == a {
		return fmt.Errorf("domain %q: a public suffix", d)
	}
	return nil
}
