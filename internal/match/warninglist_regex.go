package match

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// compilePCRE compiles a regex entry of a MISP warninglist. MISP writes them as PHP/PCRE literals,
// "/pattern/flags" (for example `/^(security|noc|soc|abuse)\@.*\..*$/i`); see [translatePCRE].
//
// A pattern that matches the empty string is refused: matched without anchors, as MISP does, it
// would put every value on the list.
func compilePCRE(entry string) (*regexp.Regexp, error) {
	expr, err := translatePCRE(entry)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("regular expression not supported by RE2: %w", err)
	}
	if re.MatchString("") {
		return nil, errors.New("regular expression matches the empty string, so it would match every value")
	}
	return re, nil
}

// translatePCRE turns a PCRE literal into RE2 syntax.
//
// The delimiter is the first character (any ASCII punctuation but the backslash; (), [], {} and
// <> pair up), as in PHP's preg_match. The flags i, m, s and U map to RE2 flags; x is applied
// here by dropping unescaped white space and #-comments outside character classes; A anchors the
// pattern at the start; D, S, X, n and u change nothing that matters for RE2 and are ignored.
// In the pattern, `\@` becomes `@` and `\Z` becomes `(?:\n?\z)`; every other construct is passed
// through, so what RE2 lacks (look-around, back-references, possessive quantifiers) fails to
// compile and is reported by the caller.
func translatePCRE(s string) (string, error) {
	s = strings.TrimLeft(s, " \t\r\n\v\f")
	if s == "" {
		return "", errors.New("empty regular expression")
	}
	d := s[0]
	if d >= utf8.RuneSelf || d == 0 || d == '\\' || isAlnum(d) {
		return "", fmt.Errorf("regular expression must start with a delimiter such as '/', not %q", rune(d))
	}
	closing := d
	switch d {
	case '(':
		closing = ')'
	case '[':
		closing = ']'
	case '{':
		closing = '}'
	case '<':
		closing = '>'
	}
	end, depth := -1, 1
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
		case c == closing:
			depth--
			if depth == 0 {
				end = i
			}
		case c == d: // only reached for bracket pairs
			depth++
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return "", fmt.Errorf("no ending delimiter %q", rune(closing))
	}
	pattern, mods := s[1:end], s[end+1:]

	var flags []byte
	anchored, extended := false, false
	for i := 0; i < len(mods); i++ {
		switch c := mods[i]; c {
		case 'i', 'm', 's', 'U':
			if !strings.ContainsRune(string(flags), rune(c)) {
				flags = append(flags, c)
			}
		case 'x':
			extended = true
		case 'A':
			anchored = true
		case 'D', 'S', 'X', 'n', 'u', ' ', '\t', '\r', '\n':
		default:
			return "", fmt.Errorf("unknown modifier %q", rune(c))
		}
	}

	body, err := translatePCREBody(pattern, extended)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if len(flags) > 0 {
		b.WriteString("(?")
		b.Write(flags)
		b.WriteString(")")
	}
	if anchored {
		b.WriteString(`\A(?:`)
		b.WriteString(body)
		b.WriteString(")")
	} else {
		b.WriteString(body)
	}
	return b.String(), nil
}

// translatePCREBody rewrites the pattern between the delimiters (see [translatePCRE]).
func translatePCREBody(p string, extended bool) (string, error) {
	var b strings.Builder
	b.Grow(len(p))
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return "", errors.New("regular expression ends with a backslash")
			}
			n := p[i+1]
			i++
			switch {
			case n == 'Q': // \Q...\E is literal text, white space included
				j := strings.Index(p[i+1:], `\E`)
				lit := p[i+1:]
				if j >= 0 {
					lit = p[i+1 : i+1+j]
				}
				b.WriteString(regexp.QuoteMeta(lit))
				if j < 0 {
					i = len(p)
				} else {
					i += 1 + j + 1 // past \E
				}
			case n == '@':
				b.WriteByte('@')
			case n == 'Z' && !inClass:
				b.WriteString(`(?:\n?\z)`)
			case n >= utf8.RuneSelf: // PCRE takes an escaped non-ASCII character literally
				// The rune's remaining bytes are copied by the following iterations.
				b.WriteByte(n)
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case inClass:
			switch {
			case c == '[' && i+1 < len(p) && (p[i+1] == ':' || p[i+1] == '.' || p[i+1] == '='):
				// POSIX class such as [:alpha:]: copy through its closing "x]".
				closeSeq := string([]byte{p[i+1], ']'})
				j := strings.Index(p[i+2:], closeSeq)
				if j < 0 {
					b.WriteByte(c)
					continue
				}
				b.WriteString(p[i : i+2+j+2])
				i += 2 + j + 1
			case c == ']':
				inClass = false
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A leading ^ and then a leading ] are part of the class.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case extended && isPCRESpace(c):
		case extended && c == '#':
			for i+1 < len(p) && p[i+1] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isPCRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
