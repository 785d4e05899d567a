package brand

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// confusables maps a non-ASCII letter that renders like a Latin letter to that letter. The
// entries are the Latin, Cyrillic, Greek and Armenian rows of the Unicode Consortium's UTS #39
// confusables table (https://www.unicode.org/Public/security/latest/confusables.txt) whose
// prototype is a lower-case ASCII letter or digit, plus the letters that have no decomposition
// but read as one (ł, ø, ı, ɑ ...). Letters with a diacritic need no entry: fold strips
// combining marks after canonical decomposition first.
var confusables = map[rune]string{
	// Cyrillic.
	'а': "a", 'ɑ': "a", 'α': "a", 'ạ': "a",
	'Ь': "b", 'ь': "b", 'Ꮟ': "b", 'ƅ': "b", 'ɓ': "b", 'β': "b", 'Ƅ': "b",
	'с': "c", 'ϲ': "c", 'ᴄ': "c", 'ƈ': "c", 'ς': "c",
	'ԁ': "d", 'ɗ': "d", 'ɖ': "d", 'đ': "d", 'ď': "d",
	'е': "e", 'ё': "e", 'є': "e", 'ε': "e", 'ҽ': "e", 'ɛ': "e", 'ė': "e",
	'ғ': "f", 'ƒ': "f",
	'ԍ': "g", 'ɡ': "g", 'ɢ': "g", 'ģ': "g", 'ǥ': "g", 'ɠ': "g",
	'һ': "h", 'ħ': "h", 'ћ': "h", 'ɦ': "h", 'ℎ': "h", 'հ': "h",
	'і': "i", 'ı': "i", 'ɩ': "i", 'ι': "i", 'ї': "i", 'ɪ': "i", 'ǐ': "i", 'ί': "i",
	'ј': "j", 'ʝ': "j", 'ϳ': "j",
	'к': "k", 'κ': "k", 'ĸ': "k", 'ķ': "k", 'ƙ': "k",
	'ӏ': "l", 'ł': "l", 'ƚ': "l", 'ɫ': "l", 'ɭ': "l", 'ŀ': "l", 'ǀ': "l", 'ⅼ': "l",
	'м': "m", 'ɱ': "m", 'ṃ': "m",
	'п': "n", 'η': "n", 'ɲ': "n", 'ŋ': "n", 'ռ': "n", 'ƞ': "n", 'ń': "n",
	'о': "o", 'ο': "o", 'ø': "o", 'ɵ': "o", 'օ': "o", 'σ': "o", 'ӧ': "o", 'ө': "o", 'ǿ': "o",
	'р': "p", 'ρ': "p", 'ƥ': "p", 'ƿ': "p", 'þ': "p",
	'ԛ': "q", 'ʠ': "q", 'գ': "q", 'զ': "q",
	'г': "r", 'ʀ': "r", 'ɼ': "r", 'ɽ': "r", 'ŗ': "r",
	'ѕ': "s", 'ʂ': "s", 'ꜱ': "s", 'ş': "s",
	'т': "t", 'τ': "t", 'ŧ': "t", 'ƫ': "t", 'ţ': "t", 'ƭ': "t",
	'ս': "u", 'υ': "u", 'ʋ': "u", 'ц': "u", 'ų': "u", 'μ': "u", 'ᴜ': "u",
	'ѵ': "v", 'ν': "v", 'ᴠ': "v", 'ⱱ': "v", 'ʌ': "v",
	'ԝ': "w", 'ω': "w", 'ɯ': "w", 'ᴡ': "w", 'ẉ': "w", 'ⱳ': "w", 'ŵ': "w", 'ш': "w",
	'х': "x", 'χ': "x", 'ҳ': "x", 'ӿ': "x",
	'у': "y", 'γ': "y", 'ү': "y", 'ʏ': "y", 'ƴ': "y", 'ý': "y", 'ÿ': "y", 'ў': "y",
	'ʐ': "z", 'ƶ': "z", 'ȥ': "z", 'ᴢ': "z", 'ż': "z", 'ʑ': "z",
	'ß': "ss", 'æ': "ae", 'œ': "oe",
}

// asciiPairs are ASCII letter pairs that read as one letter in common fonts (dnstwist's ASCII
// homoglyph table, elceef/dnstwist dnstwist.py, Apache-2.0). foldASCII first maps the single
// lookalikes 0→o, 1→l and i→l, then these pairs, left to right.
var asciiPairs = []struct{ from, to string }{
	{"rn", "m"}, {"nn", "m"}, {"vv", "w"}, {"cl", "d"},
}

// sub records one folding step for explanations.
type sub struct {
	from string // what the candidate had
	to   string // what it reads as
}

// foldUnicode lower-cases s, decomposes it (compatibility decomposition: fullwidth and ligature
// forms become ASCII), drops combining marks and maps confusable letters
// to ASCII. ASCII input is returned unchanged without allocating. When subs is non-nil the
// substitutions made are appended to it.
func foldUnicode(s string, subs *[]sub) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		r = unicode.ToLower(r)
		if m, ok := confusables[r]; ok {
			b.WriteString(m)
			if subs != nil {
				*subs = append(*subs, sub{string(r), m})
			}
			continue
		}
		d := norm.NFKD.String(string(r))
		var base strings.Builder
		for _, c := range d {
			if unicode.Is(unicode.Mn, c) {
				continue
			}
			if m, ok := confusables[c]; ok {
				base.WriteString(m)
				continue
			}
			base.WriteRune(c)
		}
		out := base.String()
		b.WriteString(out)
		if subs != nil && out != string(r) {
			*subs = append(*subs, sub{string(r), out})
		}
	}
	return b.String()
}

// foldASCII maps ASCII lookalikes (0→o, 1/i→l, then rn→m, cl→d ...) in an ASCII string. It
// returns s itself when nothing changes.
func foldASCII(s string, subs *[]sub) string {
	need := false
	for i := 0; i < len(s) && !need; i++ {
		switch s[i] {
		case '0', '1', 'i':
			need = true
		case 'r', 'n', 'v', 'c', 'l':
			if i+1 < len(s) {
				switch s[i : i+2] {
				case "rn", "nn", "vv", "cl":
					need = true
				}
			}
		}
	}
	if !need {
		return s
	}
	var buf [maxLabel]byte
	b := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '0':
			if subs != nil {
				*subs = append(*subs, sub{"0", "o"})
			}
			c = 'o'
		case '1', 'i':
			if c == '1' && subs != nil {
				*subs = append(*subs, sub{"1", "l"})
			}
			c = 'l'
		}
		b = append(b, c)
	}
	out := make([]byte, 0, len(b))
outer:
	for i := 0; i < len(b); {
		for _, p := range asciiPairs {
			if i+1 < len(b) && b[i] == p.from[0] && b[i+1] == p.from[1] {
				out = append(out, p.to...)
				if subs != nil {
					*subs = append(*subs, sub{s[i : i+2], p.to})
				}
				i += 2
				continue outer
			}
		}
		out = append(out, b[i])
		i++
	}
	return string(out)
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
