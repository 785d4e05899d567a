package brand

import (
	"fmt"
	"math/bits"
)

// maxLabel bounds the labels compared by edit distance; DNS labels are at most 63 bytes.
const maxLabel = 64

// osa returns the optimal-string-alignment (restricted Damerau-Levenshtein) distance between a
// and b over bytes, or limit+1 once it is certain to exceed limit. It does not allocate.
func osa(a, b string, limit int) int {
	if len(a) > maxLabel || len(b) > maxLabel {
		return limit + 1
	}
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	var rows [3][maxLabel + 1]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			best = min(best, v)
		}
		if best > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[len(b)] > limit {
		return limit + 1
	}
	return prev[len(b)]
}

// qwerty, qwertz and azerty neighbours, as dnstwist's keyboard tables (elceef/dnstwist).
var keyboards = []map[byte]string{
	{'1': "2q", '2': "3wq1", '3': "4ew2", '4': "5re3", '5': "6tr4", '6': "7yt5", '7': "8uy6", '8': "9iu7", '9': "0oi8", '0': "po9",
		'q': "12wa", 'w': "3esaq2", 'e': "4rdsw3", 'r': "5tfde4", 't': "6ygfr5", 'y': "7uhgt6", 'u': "8ijhy7", 'i': "9okju8", 'o': "0plki9", 'p': "lo0",
		'a': "qwsz", 's': "edxzaw", 'd': "rfcxse", 'f': "tgvcdr", 'g': "yhbvft", 'h': "ujnbgy", 'j': "ikmnhu", 'k': "olmji", 'l': "kop",
		'z': "asx", 'x': "zsdc", 'c': "xdfv", 'v': "cfgb", 'b': "vghn", 'n': "bhjm", 'm': "njk"},
	{'1': "2q", '2': "3wq1", '3': "4ew2", '4': "5re3", '5': "6tr4", '6': "7zt5", '7': "8uz6", '8': "9iu7", '9': "0oi8", '0': "po9",
		'q': "12wa", 'w': "3esaq2", 'e': "4rdsw3", 'r': "5tfde4", 't': "6zgfr5", 'z': "7uhgt6", 'u': "8ijhz7", 'i': "9okju8", 'o': "0plki9", 'p': "lo0",
		'a': "qwsy", 's': "edxyaw", 'd': "rfcxse", 'f': "tgvcdr", 'g': "zhbvft", 'h': "ujnbgz", 'j': "ikmnhu", 'k': "olmji", 'l': "kop",
		'y': "asx", 'x': "ysdc", 'c': "xdfv", 'v': "cfgb", 'b': "vghn", 'n': "bhjm", 'm': "njk"},
	{'1': "2a", '2': "3za1", '3': "4ez2", '4': "5re3", '5': "6tr4", '6': "7yt5", '7': "8uy6", '8': "9iu7", '9': "0oi8", '0': "po9",
		'a': "2zq1", 'z': "3esqa2", 'e': "4rdsz3", 'r': "5tfde4", 't': "6ygfr5", 'y': "7uhgt6", 'u': "8ijhy7", 'i': "9okju8", 'o': "0plki9", 'p': "lo0m",
		'q': "zswa", 's': "edxwqz", 'd': "rfcxse", 'f': "tgvcdr", 'g': "yhbvft", 'h': "ujnbgy", 'j': "iknhu", 'k': "olji", 'l': "kopm", 'm': "lp",
		'w': "sxq", 'x': "wsdc", 'c': "xdfv", 'v': "cfgb", 'b': "vghn", 'n': "bhj"},
}

func adjacent(a, b byte) bool {
	for _, kb := range keyboards {
		for i := 0; i < len(kb[a]); i++ {
			if kb[a][i] == b {
				return true
			}
		}
	}
	return false
}

func isVowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }

// classify names the single edit that turns brand into cand (distance 1) and explains it.
func classify(cand, brand string) (technique, why string) {
	switch {
	case len(cand) == len(brand):
		i := 0
		for i < len(cand) && cand[i] == brand[i] {
			i++
		}
		if i+1 < len(cand) && cand[i] == brand[i+1] && cand[i+1] == brand[i] && cand[i+2:] == brand[i+2:] {
			return "transposition", fmt.Sprintf("'%c%c' swapped", brand[i], brand[i+1])
		}
		if i >= len(cand) {
			return "", ""
		}
		c, o := cand[i], brand[i]
		switch {
		case bits.OnesCount8(c^o) == 1:
			return "bitsquatting", fmt.Sprintf("'%c' for '%c' (one bit flipped)", c, o)
		case isVowel(c) && isVowel(o):
			return "vowel-swap", fmt.Sprintf("'%c' for '%c'", c, o)
		case adjacent(o, c):
			return "replacement", fmt.Sprintf("'%c' for '%c' (adjacent key)", c, o)
		case asciiGlyph(o, c):
			return "homoglyph", fmt.Sprintf("'%c' for '%c'", c, o)
		}
		return "replacement", fmt.Sprintf("'%c' for '%c'", c, o)
	case len(cand) == len(brand)+1:
		i := 0
		for i < len(brand) && cand[i] == brand[i] {
			i++
		}
		c := cand[i]
		switch {
		case c == '-':
			return "hyphenation", "hyphen inserted"
		case i > 0 && cand[i-1] == c || i+1 < len(cand) && cand[i+1] == c:
			return "repetition", fmt.Sprintf("'%c' doubled", c)
		case i == len(brand):
			return "addition", fmt.Sprintf("'%c' appended", c)
		case c == 's':
			return "plural", "'s' added"
		case i > 0 && adjacent(cand[i-1], c) || i+1 < len(cand) && adjacent(cand[i+1], c):
			return "insertion", fmt.Sprintf("'%c' inserted (adjacent key)", c)
		}
		return "insertion", fmt.Sprintf("'%c' inserted", c)
	case len(cand)+1 == len(brand):
		i := 0
		for i < len(cand) && cand[i] == brand[i] {
			i++
		}
		return "omission", fmt.Sprintf("'%c' left out", brand[i])
	}
	return "", ""
}

// asciiGlyph reports pairs dnstwist treats as ASCII homoglyphs.
func asciiGlyph(a, b byte) bool {
	pairs := [...]string{"bd", "ce", "gq", "mn", "nr", "38", "69", "1l", "1i", "il", "0o"}
	for _, p := range pairs {
		if p[0] == a && p[1] == b || p[0] == b && p[1] == a {
			return true
		}
	}
	return false
}
