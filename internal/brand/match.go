package brand

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Scores by technique: how confusable a name of that kind is.
const (
	scoreHomoglyph      = 0.95
	scoreSubdomainTrick = 0.9
	scoreEdit1          = 0.8
	scoreCombo          = 0.75
	scoreVarious        = 0.75
	scoreTLDSwap        = 0.7
	scoreEdit2          = 0.6
	scoreComboFuzzy     = 0.6
	scoreSubdomainWord  = 0.55
)

// Match returns the brands domain imitates, best first; nil when it imitates none, when it is a
// brand's own or an allowed domain (or under one), or when it is not a domain name. domain may
// be in IDNA (xn--) or Unicode form, with a trailing dot or a leading "*." wildcard.
func (m *Matcher) Match(domain string) []Hit {
	d := strings.TrimSpace(domain)
	d = strings.TrimPrefix(strings.TrimSuffix(d, "."), "*.")
	if d == "" || len(d) > 253 {
		return nil
	}
	if !isASCII(d) {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return nil
		}
		d = a
	} else if hasUpper(d) {
		d = strings.ToLower(d)
	}
	if !validASCII(d) {
		return nil
	}
	for p := d; ; {
		if m.own[p] {
			return nil
		}
		i := strings.IndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[i+1:]
	}
	ps := icannSuffix(d)
	if len(ps) >= len(d) {
		return nil
	}
	rest := d[:len(d)-len(ps)-1]
	var labels []string
	var buf [8]string
	labels = buf[:0]
	for l := range strings.SplitSeq(rest, ".") {
		if strings.HasPrefix(l, "xn--") {
			if u, err := idna.Punycode.ToUnicode(l); err == nil {
				l = u
			}
		}
		labels = append(labels, l)
	}
	c := cand{m: m, domain: d, suffix: ps, labels: labels}
	c.matchRegistrable()
	c.matchSubdomains()
	if len(c.hits) == 0 {
		return nil
	}
	slices.SortStableFunc(c.hits, func(a, b Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return a.Distance - b.Distance
	})
	return c.hits
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// validASCII reports whether d is a syntactically plausible host name (letters, digits, hyphens,
// underscores and dots, labels 1..63 bytes).
func validASCII(d string) bool {
	n := 0
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '.':
			if n == 0 {
				return false
			}
			n = 0
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		n++
		if n > 63 {
			return false
		}
	}
	return n > 0
}

// cand is one domain being matched.
type cand struct {
	m      *Matcher
	domain string
	suffix string
	labels []string // labels before the public suffix, Unicode
	hits   []Hit
}

// add keeps the best hit per brand.
func (c *cand) add(e *entry, technique string, dist int, score float64, why string) {
	if e.suffix != c.suffix && technique != "tld-swap" && technique != "subdomain-trick" && technique != "various" {
		why += fmt.Sprintf(", on .%s", c.suffix)
		score -= 0.05
	}
	h := Hit{Brand: c.m.brands[e.brand].Name, Domain: e.domain, Technique: technique, Distance: dist, Score: score,
		Explanation: technique + " of " + e.domain + ": " + why}
	for i := range c.hits {
		if c.hits[i].Brand == h.Brand {
			if h.Score > c.hits[i].Score {
				c.hits[i] = h
			}
			return
		}
	}
	c.hits = append(c.hits, h)
}

// matchRegistrable tests the label left of the public suffix.
func (c *cand) matchRegistrable() {
	m := c.m
	raw := c.labels[len(c.labels)-1]
	var subs []sub
	fu := foldUnicode(raw, nil)
	fa := foldASCII(fu, nil)
	found := false
	// Exact forms: the brand's label under another suffix, or a homoglyph of it.
	for _, id := range m.exact[fa] {
		e := &m.entries[id]
		switch {
		case raw == e.label && c.suffix != e.suffix:
			c.add(e, "tld-swap", 0, scoreTLDSwap, fmt.Sprintf("same name on .%s", c.suffix))
			found = true
		case raw != e.label && (fu == e.label || fa == e.fold):
			subs = subs[:0]
			foldASCII(foldUnicode(raw, &subs), &subs)
			c.add(e, homoglyphKind(raw, subs), 0, scoreHomoglyph, describeSubs(subs))
			found = true
		}
	}
	if found {
		return
	}
	// Brand label run together with its suffix (paypalcom.com, exampleco.uk).
	for _, id := range m.various[fa] {
		e := &m.entries[id]
		c.add(e, "various", 1, scoreVarious, fmt.Sprintf("%q runs the name into its suffix", raw))
		found = true
	}
	// Hyphens of a hyphenated brand left out.
	if nh := strings.ReplaceAll(fa, "-", ""); len(m.nohyph) > 0 {
		for _, id := range m.nohyph[nh] {
			if e := &m.entries[id]; fa != e.fold {
				c.add(e, "hyphenation", 1, scoreEdit1, "hyphens left out")
				found = true
			}
		}
	}
	// Hyphens inserted anywhere.
	if strings.IndexByte(fa, '-') >= 0 {
		nh := strings.ReplaceAll(fa, "-", "")
		for _, id := range m.exact[nh] {
			e := &m.entries[id]
			if !strings.Contains(e.label, "-") {
				c.add(e, "hyphenation", 1, scoreEdit1, "hyphens inserted")
				found = true
			}
		}
	}
	if c.fuzzy(raw, fu, fa) {
		found = true
	}
	if !found {
		c.combosquat(fu)
	}
}

// fuzzy looks the label up in the deletion index and verifies candidates by edit distance.
func (c *cand) fuzzy(raw, fu, fa string) bool {
	m := c.m
	if len(fa) < m.minLen-2 || len(fu) > m.maxLen+2+4 {
		return false
	}
	var seenBuf [16]int32
	seen := seenBuf[:0]
	probe := func(h uint64) {
		for _, id := range m.del[h] {
			if !slices.Contains(seen, id) {
				seen = append(seen, id)
			}
		}
	}
	deletions(fu, 2, probe)
	if fa != fu {
		deletions(fa, 2, probe)
	}
	found := false
	for _, id := range seen {
		e := &m.entries[id]
		d1 := osa(fu, e.label, e.limit)
		d2 := osa(fa, e.fold, e.limit)
		d := d1
		if d2 < d1 {
			d = min(d1, d2+1) // a lookalike fold plus an edit counts as two
		}
		if d > e.limit || d == 0 {
			continue
		}
		found = true
		form, target := fu, e.label
		if d2 < d1 {
			form, target = fa, e.fold
		}
		var subs []sub
		if raw != fu || form == fa && fa != fu {
			foldUnicode(raw, &subs)
			if form == fa {
				foldASCII(fu, &subs)
			}
		}
		if d == 1 {
			tech, why := classify(form, target)
			if tech == "" {
				tech, why = "typo", "one edit"
			}
			if len(subs) > 0 {
				why = describeSubs(subs) + "; " + why
				if !isASCII(raw) {
					tech = "idn-" + tech
				}
			}
			c.add(e, tech, 1, scoreEdit1, why)
			continue
		}
		why := fmt.Sprintf("%d edits (%q against %q)", d, form, target)
		tech := "typo"
		if len(subs) > 0 {
			why = describeSubs(subs) + "; " + why
			tech = homoglyphKind(raw, subs)
		}
		c.add(e, tech, d, scoreEdit2, why)
	}
	return found
}

// combosquat finds a brand name used as a word of the label: paypal-secure-login, securepaypal,
// paypa1-login.
func (c *cand) combosquat(fu string) {
	m := c.m
	hyphens := strings.IndexByte(fu, '-') >= 0
	if hyphens {
		// Every run of whole tokens: "bank-of-america" inside "bank-of-america-login".
		for i := 0; i <= len(fu); i++ {
			if i > 0 && fu[i-1] != '-' {
				continue
			}
			for j := i + 1; j <= len(fu); j++ {
				if j < len(fu) && fu[j] != '-' {
					continue
				}
				if c.comboToken(fu[i:j], fu) {
					return
				}
			}
		}
	}
	// The brand run together with a dictionary word: paypallogin, securepaypal.
	for i := 3; i <= len(fu)-2; i++ {
		a, b := fu[:i], fu[i:]
		if words[b] && c.comboToken(a, fu) || words[a] && c.comboToken(b, fu) {
			return
		}
	}
	if !hyphens {
		return
	}
	// A token a typo away from the brand (paypa1-login).
	for tok := range strings.SplitSeq(fu, "-") {
		if len(tok) < 5 {
			continue
		}
		fa := foldASCII(tok, nil)
		var seenBuf [16]int32
		seen := seenBuf[:0]
		probe := func(h uint64) {
			for _, id := range m.del[h] {
				if !slices.Contains(seen, id) {
					seen = append(seen, id)
				}
			}
		}
		deletions(fa, 1, probe)
		for _, id := range seen {
			e := &m.entries[id]
			if len(e.label) < 5 || e.limit < 1 {
				continue
			}
			if d := min(osa(tok, e.label, 1), osa(fa, e.fold, 0)); d <= 1 {
				tech, why := classify(tok, e.label)
				if d == 0 || tech == "" {
					tech, why = "homoglyph", "lookalike characters"
				}
				c.add(e, "combosquat", 1, scoreComboFuzzy, fmt.Sprintf("%q in %q (%s: %s)", tok, fu, tech, why))
				return
			}
		}
	}
}

// comboToken adds a combosquat hit when tok is a brand label or keyword.
func (c *cand) comboToken(tok, label string) bool {
	m := c.m
	if tok == label {
		return false
	}
	fa := foldASCII(tok, nil)
	for _, id := range m.exact[fa] {
		e := &m.entries[id]
		if len(e.label) < 4 || (tok != e.label && fa != e.fold) {
			continue
		}
		c.add(e, "combosquat", 0, scoreCombo, fmt.Sprintf("brand name %q used as a word of %q", tok, label))
		return true
	}
	if bi, ok := m.kw[tok]; ok {
		e := m.brandEntry(bi)
		c.add(e, "combosquat", 0, scoreCombo, fmt.Sprintf("brand keyword %q used as a word of %q", tok, label))
		return true
	}
	return false
}

// brandEntry returns the brand's first domain entry, or a placeholder for keyword-only brands.
func (m *Matcher) brandEntry(bi int) *entry {
	for i := range m.entries {
		if m.entries[i].brand == bi {
			return &m.entries[i]
		}
	}
	return &entry{brand: bi, domain: m.brands[bi].Name}
}

// matchSubdomains finds the brand in the labels left of the registrable one: paypal.com.evil.net,
// paypal.com-verify.top, pay.pal.com, paypal.secure-login.top.
func (c *cand) matchSubdomains() {
	m := c.m
	ls := c.labels
	if len(ls) < 2 {
		return
	}
	// A dot inserted into the brand label: the last two labels run together.
	joined := foldASCII(foldUnicode(ls[len(ls)-2]+ls[len(ls)-1], nil), nil)
	for _, id := range m.exact[joined] {
		e := &m.entries[id]
		c.add(e, "subdomain", 1, scoreEdit1, fmt.Sprintf("dot inserted: %s.%s", ls[len(ls)-2], ls[len(ls)-1]))
	}
	regWord := hasWord(foldUnicode(ls[len(ls)-1], nil)) || abusedTLD[c.suffix]
	for i := 0; i < len(ls)-1; i++ {
		fa := foldASCII(foldUnicode(ls[i], nil), nil)
		for _, id := range m.exact[fa] {
			e := &m.entries[id]
			if len(e.label) < 4 {
				continue
			}
			next := strings.Join(ls[i+1:], ".") + "." + c.suffix
			if next == e.suffix || strings.HasPrefix(next, e.suffix+".") || strings.HasPrefix(next, e.suffix+"-") {
				c.add(e, "subdomain-trick", 0, scoreSubdomainTrick, fmt.Sprintf("%q starts with %s", c.domain, e.domain))
			} else if regWord {
				c.add(e, "subdomain-trick", 0, scoreSubdomainWord, fmt.Sprintf("brand label %q under %s", ls[i], strings.Join(ls[len(ls)-1:], ".")+"."+c.suffix))
			}
		}
	}
}

// hasWord reports whether a hyphen token of label is a suspicious dictionary word.
func hasWord(label string) bool {
	for tok := range strings.SplitSeq(label, "-") {
		if words[tok] {
			return true
		}
	}
	return false
}

// homoglyphKind is "idn" when every substitution only dropped a diacritic, else "homoglyph".
func homoglyphKind(raw string, subs []sub) string {
	if isASCII(raw) || len(subs) == 0 {
		return "homoglyph"
	}
	for _, s := range subs {
		if _, ok := confusables[[]rune(s.from)[0]]; ok || isASCII(s.from) {
			return "homoglyph"
		}
	}
	return "idn"
}

// describeSubs formats substitutions as "'а' (U+0430) for 'a', 'rn' for 'm'".
func describeSubs(subs []sub) string {
	var b strings.Builder
	for i, s := range subs {
		if i > 0 {
			b.WriteString(", ")
		}
		if r, _ := utf8.DecodeRuneInString(s.from); r >= utf8.RuneSelf && utf8.RuneCountInString(s.from) == 1 {
			fmt.Fprintf(&b, "'%s' (U+%04X) for '%s'", s.from, r, s.to)
		} else {
			fmt.Fprintf(&b, "'%s' for '%s'", s.from, s.to)
		}
	}
	if len(subs) == 0 {
		return "lookalike characters"
	}
	return b.String()
}
