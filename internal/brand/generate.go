package brand

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"
)

// Permutation is one generated lookalike of a domain.
type Permutation struct {
	Domain string `json:"domain"` // IDNA (ASCII) form
	Fuzzer string `json:"fuzzer"` // the family that produced it first
}

// Fuzzers lists the permutation families in the order Generate runs them (dnstwist's order:
// when two families produce the same name, the first one keeps it).
var Fuzzers = []string{"addition", "bitsquatting", "cyrillic", "homoglyph", "hyphenation", "insertion", "omission",
	"plural", "repetition", "replacement", "subdomain", "transposition", "vowel-swap", "dictionary", "tld-swap", "various"}

// noIDN lists suffixes whose registries accept no IDN: homoglyphs there are ASCII only.
var noIDN = map[string]bool{"uk": true, "co.uk": true, "nl": true, "cz": true, "jp": true, "cn": true, "us": true,
	"gov": true, "mil": true, "edu": true}

// asciiGlyphs are ASCII lookalikes used by the homoglyph fuzzer (after dnstwist's table).
var asciiGlyphs = map[byte][]string{
	'0': {"o"}, '1': {"l", "i"}, '3': {"8"}, '6': {"9"}, '8': {"3"}, '9': {"6"},
	'b': {"d", "lb"}, 'c': {"e"}, 'd': {"b", "cl", "dl"}, 'e': {"c"}, 'g': {"q"}, 'h': {"lh"},
	'i': {"1", "l"}, 'k': {"lc"}, 'l': {"1", "i"}, 'm': {"n", "nn", "rn"}, 'n': {"m", "r"}, 'o': {"0"},
	'q': {"g"}, 'w': {"vv"},
}

// cyrillicTwins are the Cyrillic letters that look like a Latin one.
var cyrillicTwins = map[byte]string{'a': "а", 'b': "ь", 'c': "с", 'd': "ԁ", 'e': "е", 'g': "ԍ", 'h': "һ",
	'i': "і", 'j': "ј", 'k': "к", 'l': "ӏ", 'm': "м", 'n': "п", 'o': "о", 'p': "р", 'q': "ԛ", 's': "ѕ", 't': "т",
	'v': "ѵ", 'w': "ԝ", 'x': "х", 'y': "у"}

// unicodeGlyphs maps each ASCII letter to Unicode letters that read as it: the confusables
// table reversed plus up to three letters with a diacritic from Latin-1 and Latin Extended-A.
var unicodeGlyphs = func() map[byte][]string {
	g := map[byte][]string{}
	for r, to := range confusables {
		if len(to) == 1 && unicode.IsLower(r) {
			g[to[0]] = append(g[to[0]], string(r))
		}
	}
	diacritics := map[byte]int{}
	for r := rune(0xE0); r <= 0x17F; r++ {
		if !unicode.IsLower(r) {
			continue
		}
		if _, ok := confusables[r]; ok {
			continue
		}
		d := norm.NFD.String(string(r))
		base, n := utf8.DecodeRuneInString(d)
		if n == len(d) || base >= utf8.RuneSelf || !unicode.IsLower(base) || diacritics[byte(base)] >= 3 {
			continue
		}
		diacritics[byte(base)]++
		g[byte(base)] = append(g[byte(base)], string(r))
	}
	for k := range g {
		slices.Sort(g[k])
	}
	return g
}()

// Generate returns dnstwist-style permutations of domain, IDNA-encoded and deduplicated (the
// first family to produce a name keeps it), without the domain itself.
func Generate(domain string) ([]Permutation, error) {
	d, err := asciiDomain(domain)
	if err != nil {
		return nil, fmt.Errorf("generating permutations of %q: %w", domain, err)
	}
	ps, _ := publicsuffix.PublicSuffix(d)
	if ps == d {
		return nil, fmt.Errorf("generating permutations of %q: %w", domain, errors.New("a public suffix"))
	}
	rest := d[:len(d)-len(ps)-1]
	prefix := ""
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		prefix, rest = rest[:i+1], rest[i+1:]
	}
	g := gen{label: rest, tld: ps, prefix: prefix, seen: map[string]bool{d: true}}
	g.run()
	return g.out, nil
}

type gen struct {
	label, tld, prefix string
	fuzzer             string
	seen               map[string]bool
	out                []Permutation
}

// emit adds label.tld when it is a valid, new name.
func (g *gen) emit(label, tld string) {
	name := g.prefix + label + "." + tld
	a, err := idna.Registration.ToASCII(name)
	if err != nil || g.seen[a] || !validName(a) {
		return
	}
	g.seen[a] = true
	g.out = append(g.out, Permutation{Domain: a, Fuzzer: g.fuzzer})
}

// validName checks the FQDN shape dnstwist keeps: labels of [a-z0-9-], not starting or ending
// with '-', a top label of letters (or xn--).
func validName(a string) bool {
	if len(a) > 253 || !validASCII(a) || strings.IndexByte(a, '_') >= 0 {
		return false
	}
	for l := range strings.SplitSeq(a, ".") {
		if l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
	}
	return true
}

func (g *gen) run() {
	l, t := g.label, g.tld
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	for _, f := range Fuzzers {
		g.fuzzer = f
		switch f {
		case "addition":
			for _, c := range alnum {
				g.emit(l+string(c), t)
			}
			for i := 0; i < len(l); i++ {
				if l[i] == '-' {
					for _, c := range alnum {
						g.emit(l[:i]+string(c)+l[i:], t)
					}
				}
			}
		case "bitsquatting":
			for i := 0; i < len(l); i++ {
				for mask := 1; mask < 256; mask <<= 1 {
					c := l[i] ^ byte(mask)
					if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' {
						g.emit(l[:i]+string(rune(c))+l[i+1:], t)
					}
				}
			}
		case "cyrillic":
			var b strings.Builder
			ok := true
			for i := 0; i < len(l); i++ {
				c := l[i]
				if tw, has := cyrillicTwins[c]; has {
					b.WriteString(tw)
				} else if 'a' <= c && c <= 'z' {
					ok = false
					break
				} else {
					b.WriteByte(c)
				}
			}
			if ok {
				g.emit(b.String(), t)
			}
		case "homoglyph":
			g.homoglyph()
		case "hyphenation":
			for i := 1; i < len(l); i++ {
				g.emit(l[:i]+"-"+l[i:], t)
			}
		case "insertion":
			for i := 0; i < len(l)-1; i++ {
				for _, kb := range keyboards {
					for _, k := range kb[l[i]] {
						g.emit(l[:i]+string(k)+l[i:], t)
						g.emit(l[:i+1]+string(k)+l[i+1:], t)
					}
				}
			}
		case "omission":
			for i := 0; i < len(l); i++ {
				g.emit(l[:i]+l[i+1:], t)
			}
		case "plural":
			for i := 2; i < len(l)-2; i++ {
				s := "s"
				if c := l[i]; c == 's' || c == 'x' || c == 'z' {
					s = "es"
				}
				g.emit(l[:i+1]+s+l[i+1:], t)
			}
		case "repetition":
			for i := 0; i < len(l); i++ {
				g.emit(l[:i]+l[i:i+1]+l[i:], t)
			}
		case "replacement":
			for i := 0; i < len(l); i++ {
				for _, kb := range keyboards {
					for _, k := range kb[l[i]] {
						g.emit(l[:i]+string(k)+l[i+1:], t)
					}
				}
			}
		case "subdomain":
			for i := 1; i < len(l); i++ {
				if l[i] != '-' && l[i-1] != '-' {
					g.emit(l[:i]+"."+l[i:], t)
				}
			}
		case "transposition":
			for i := 0; i < len(l)-1; i++ {
				g.emit(l[:i]+l[i+1:i+2]+l[i:i+1]+l[i+2:], t)
			}
		case "vowel-swap":
			for i := 0; i < len(l); i++ {
				if isVowel(l[i]) {
					for _, v := range "aeiou" {
						g.emit(l[:i]+string(v)+l[i+1:], t)
					}
				}
			}
		case "dictionary":
			for _, w := range dictionary {
				g.emit(l+"-"+w, t)
				g.emit(l+w, t)
				g.emit(w+"-"+l, t)
				g.emit(w+l, t)
			}
		case "tld-swap":
			for _, tld := range commonTLDs {
				g.emit(l, tld)
			}
		case "various":
			parts := strings.Split(t, ".")
			if len(parts) > 1 {
				g.emit(l, parts[len(parts)-1])
				g.emit(l+parts[0], strings.Join(parts[1:], "."))
			} else {
				g.emit(l+t, t)
				if t != "com" {
					g.emit(l+"-"+t, "com")
					g.emit(l+t, "com")
				}
			}
		}
	}
}

// homoglyph substitutes lookalikes in two rounds: every window of the label with every
// occurrence of one of its characters replaced by a glyph, then single-character substitutions
// on the results of single-character substitutions.
func (g *gen) homoglyph() {
	glyphs := func(c byte) []string {
		out := asciiGlyphs[c]
		if !noIDN[g.tld] {
			out = append(slices.Clip(out), unicodeGlyphs[c]...)
		}
		return out
	}
	l := g.label
	var singles []string
	for w := 1; w < len(l); w++ {
		for i := 0; i+w <= len(l); i++ {
			win := l[i : i+w]
			var done [256]bool
			for j := 0; j < len(win); j++ {
				c := win[j]
				if done[c] {
					continue
				}
				done[c] = true
				for _, gl := range glyphs(c) {
					v := l[:i] + strings.ReplaceAll(win, string(c), gl) + l[i+w:]
					g.emit(v, g.tld)
					if w == 1 {
						singles = append(singles, v)
					}
				}
			}
		}
	}
	for _, s := range singles {
		for i := 0; i < len(s); i++ {
			for _, gl := range glyphs(s[i]) {
				g.emit(s[:i]+gl+s[i+1:], g.tld)
			}
		}
	}
}
