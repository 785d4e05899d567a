package pattern

import (
	"encoding/base64"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokError
	tokIdent     // identifier, possibly with hyphens; keywords are identifiers too
	tokString    // 'text'; val is unescaped
	tokInt       // val without a leading "+"
	tokFloat     // val without a leading "+"
	tokTimestamp // t'…'; val is the text between the quotes
	tokHex       // h'…'
	tokBinary    // b'…'
	tokPunct     // one of = == != <> < <= > >= : . , ( ) [ ] *; val is the text
)

// token is one lexical token. For tokError, val is the message.
type token struct {
	kind tokKind
	val  string
	off  int // byte offset of the token's first byte
}

// lexer splits a pattern into tokens. It never reads past len(src).
type lexer struct {
	src string
	pos int
}

// next returns the next token, skipping white space and comments.
func (l *lexer) next() token {
	if msg, off := l.skipSpace(); msg != "" {
		return token{kind: tokError, val: msg, off: off}
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, off: start}
	}
	c := l.src[start]
	switch {
	case c == '\'':
		return l.quoted(tokString, start, start)
	case (c == 't' || c == 'h' || c == 'b') && start+1 < len(l.src) && l.src[start+1] == '\'':
		return l.typed(c, start)
	case isIdentStart(c):
		return l.ident(start)
	case isDigit(c) || c == '+' || c == '-' || c == '.' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		return l.number(start)
	}
	return l.punct(start)
}

// skipSpace skips white space (the grammar's WS set) and comments. It returns a message and an
// offset for an unterminated block comment.
func (l *lexer) skipSpace() (string, int) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			l.pos++
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			end := indexFrom(l.src, "*/", l.pos+2)
			if end < 0 {
				return "unterminated comment", l.pos
			}
			l.pos = end + 2
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(l.src[l.pos:])
			if !isUnicodeSpace(r) {
				return "", 0
			}
			l.pos += n
		default:
			return "", 0
		}
	}
	return "", 0
}

// isUnicodeSpace reports whether r is one of the grammar's non-ASCII white-space characters.
func isUnicodeSpace(r rune) bool {
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// quoted lexes a quoted literal whose opening quote is at q; the token starts at start. A
// backslash escapes a quote or a backslash; before any other character it is kept as written
// (the grammar forbids it, but feeds write regular expressions such as '\d+' that way).
func (l *lexer) quoted(kind tokKind, start, q int) token {
	var buf []byte
	i := q + 1
	for i < len(l.src) {
		c := l.src[i]
		switch {
		case c == '\'':
			l.pos = i + 1
			return token{kind: kind, val: string(buf), off: start}
		case c == '\\' && i+1 < len(l.src) && (l.src[i+1] == '\'' || l.src[i+1] == '\\'):
			buf = append(buf, l.src[i+1])
			i += 2
		default:
			buf = append(buf, c)
			i++
		}
	}
	l.pos = len(l.src)
	return token{kind: tokError, val: "unterminated string", off: start}
}

// typed lexes t'…', h'…' and b'…' and checks their content.
func (l *lexer) typed(c byte, start int) token {
	kind := tokBinary
	switch c {
	case 't':
		kind = tokTimestamp
	case 'h':
		kind = tokHex
	}
	tok := l.quoted(kind, start, start+1)
	if tok.kind == tokError {
		return tok
	}
	var msg string
	switch tok.kind {
	case tokTimestamp:
		if !validTimestamp(tok.val) {
			msg = "invalid timestamp literal"
		}
	case tokHex:
		if len(tok.val)%2 != 0 || !allHex(tok.val) {
			msg = "invalid hex literal"
		}
	case tokBinary:
		if !validBase64(tok.val) {
			msg = "invalid binary literal"
		}
	}
	if msg != "" {
		return token{kind: tokError, val: msg, off: start}
	}
	return tok
}

// validTimestamp checks the grammar's TimestampLiteral content: YYYY-MM-DDTHH:MM:SS[.s+]Z with
// month 01-12, day 01-31, hour 00-23, minute 00-59 and second 00-60.
func validTimestamp(s string) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 || s[len(s)-1] != 'Z' {
		return false
	}
	for i := 0; i < len(layout); i++ {
		if layout[i] == 'd' && !isDigit(s[i]) || layout[i] != 'd' && s[i] != layout[i] {
			return false
		}
	}
	if frac := s[len(layout) : len(s)-1]; frac != "" && (frac[0] != '.' || len(frac) < 2 || !allDigits(frac[1:])) {
		return false
	}
	num := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	month, day, hour, min, sec := num(5), num(8), num(11), num(14), num(17)
	return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && min <= 59 && sec <= 60
}

// validBase64 checks the grammar's BinaryLiteral content: padded standard base64, not empty.
func validBase64(s string) bool {
	if s == "" || len(s)%4 != 0 {
		return false
	}
	_, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil
}

// ident lexes an identifier: [a-zA-Z_][a-zA-Z0-9_-]*.
func (l *lexer) ident(start int) token {
	i := start + 1
	for i < len(l.src) && (isIdentStart(l.src[i]) || isDigit(l.src[i]) || l.src[i] == '-') {
		i++
	}
	l.pos = i
	return token{kind: tokIdent, val: l.src[start:i], off: start}
}

// number lexes an int ([+-]?(0|[1-9][0-9]*)) or a float ([+-]?[0-9]*.[0-9]+).
func (l *lexer) number(start int) token {
	i := start
	sign := ""
	if c := l.src[i]; c == '+' || c == '-' {
		if c == '-' {
			sign = "-"
		}
		i++
	}
	digits := i
	for i < len(l.src) && isDigit(l.src[i]) {
		i++
	}
	intPart := l.src[digits:i]
	if i+1 < len(l.src) && l.src[i] == '.' && isDigit(l.src[i+1]) {
		i++
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
		l.pos = i
		return token{kind: tokFloat, val: sign + l.src[digits:i], off: start}
	}
	l.pos = i
	switch {
	case intPart == "":
		return token{kind: tokError, val: "invalid number", off: start}
	case len(intPart) > 1 && intPart[0] == '0':
		return token{kind: tokError, val: "invalid number: leading zero", off: start}
	}
	return token{kind: tokInt, val: sign + intPart, off: start}
}

// punct lexes an operator or punctuation token.
func (l *lexer) punct(start int) token {
	rest := l.src[start:]
	for _, p := range [...]string{"==", "!=", "<>", "<=", ">=", "=", "<", ">", ":", ".", ",", "(", ")", "[", "]", "*"} {
		if len(rest) >= len(p) && rest[:len(p)] == p {
			l.pos = start + len(p)
			return token{kind: tokPunct, val: p, off: start}
		}
	}
	r, n := utf8.DecodeRuneInString(rest)
	l.pos = len(l.src)
	if r == utf8.RuneError && n == 1 {
		return token{kind: tokError, val: "invalid UTF-8", off: start}
	}
	return token{kind: tokError, val: "unexpected character " + quoteRune(r), off: start}
}

func quoteRune(r rune) string {
	if r < 0x20 || r == 0x7f {
		const hex = "0123456789abcdef"
		return `'\x` + string(hex[r>>4]) + string(hex[r&15]) + `'`
	}
	return "'" + string(r) + "'"
}

func isIdentStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// reserved are the grammar's keywords, which cannot be bare identifiers.
var reserved = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUPERSET": true, "ISSUBSET": true, "LAST": true, "IN": true, "START": true, "STOP": true,
	"SECONDS": true, "true": true, "false": true, "WITHIN": true, "REPEATS": true, "TIMES": true,
	"EXISTS": true,
}

func isReserved(s string) bool { return reserved[s] }
