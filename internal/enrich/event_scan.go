package enrich

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is the deepest nesting of arrays and objects accepted, as in encoding/json.
const maxDepth = 10000

// scanner walks a JSON document once. It descends only into the objects and arrays that lie on the
// trie of wanted paths, skips (while validating) everything else, and unescapes only the strings
// it keeps.
type scanner struct {
	data  []byte
	ev    *Event
	depth int
}

// strPlain marks the bytes that may appear unescaped in a JSON string and need no attention.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) fail(base, off int, msg string) error {
	return &SyntaxError{Offset: base + off, Msg: msg}
}

func (s *scanner) errAt(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// ws skips white space from i.
func (s *scanner) ws(i int) int {
	d := s.data
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}

// value scans the value at data[i] (no leading white space) and returns the index after it. n is
// the trie node of the value's path, nil when the value is not wanted.
func (s *scanner) value(i int, n *node) (int, error) {
	d := s.data
	if i >= len(d) {
		return i, s.errAt(i, "unexpected end of input, expected a value")
	}
	switch c := d[i]; {
	case c == '{':
		return s.object(i, n)
	case c == '[':
		return s.array(i, n)
	case c == '"':
		end, esc, err := s.str(i)
		if err != nil {
			return end, err
		}
		if n != nil && n.leaf != nil {
			s.stringLeaf(n.leaf, d[i+1:end-1], esc)
		}
		return end, nil
	case c == '-' || (c >= '0' && c <= '9'):
		end, err := s.num(i)
		if err == nil && n != nil && n.leaf != nil && n.leaf.ctx == ctxTimestamp {
			if f, perr := strconv.ParseFloat(string(d[i:end]), 64); perr == nil {
				s.ev.setNumberContext(n.leaf.ctx, f)
			}
		}
		return end, err
	case c == 't':
		return s.lit(i, "true")
	case c == 'f':
		return s.lit(i, "false")
	case c == 'n':
		return s.lit(i, "null")
	}
	return i, s.errAt(i, "invalid character "+quoteByte(d[i])+", expected a value")
}

func (s *scanner) lit(i int, word string) (int, error) {
	d := s.data
	if len(d)-i >= len(word) && string(d[i:i+len(word)]) == word {
		return i + len(word), nil
	}
	return i, s.errAt(i, "invalid literal, expected "+word)
}

func (s *scanner) object(i int, n *node) (int, error) {
	if s.depth++; s.depth > maxDepth {
		return i, s.errAt(i, "nesting too deep")
	}
	end, err := s.members(i, n)
	s.depth--
	return end, err
}

// members scans the members of the object at data[i].
func (s *scanner) members(i int, n *node) (int, error) {
	d := s.data
	want := n != nil && n.children != nil
	i = s.ws(i + 1)
	if i < len(d) && d[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(d) {
			return i, s.errAt(i, "unexpected end of input in object")
		}
		if d[i] != '"' {
			return i, s.errAt(i, "invalid character "+quoteByte(d[i])+", expected a string for an object key")
		}
		kend, esc, err := s.str(i)
		if err != nil {
			return kend, err
		}
		var child *node
		if want {
			key := d[i+1 : kend-1]
			if esc {
				s.ev.keyBuf = appendUnescaped(s.ev.keyBuf[:0], key)
				key = s.ev.keyBuf
			}
			child = n.child(key)
		}
		i = s.ws(kend)
		if i >= len(d) || d[i] != ':' {
			if i >= len(d) {
				return i, s.errAt(i, "unexpected end of input after object key")
			}
			return i, s.errAt(i, "invalid character "+quoteByte(d[i])+", expected ':' after object key")
		}
		i = s.ws(i + 1)
		if i, err = s.value(i, child); err != nil {
			return i, err
		}
		i = s.ws(i)
		if i >= len(d) {
			return i, s.errAt(i, "unexpected end of input in object")
		}
		switch d[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			return i + 1, nil
		default:
			return i, s.errAt(i, "invalid character "+quoteByte(d[i])+", expected ',' or '}' in object")
		}
	}
}

// array scans an array; its elements have the path of the array itself.
func (s *scanner) array(i int, n *node) (int, error) {
	if s.depth++; s.depth > maxDepth {
		return i, s.errAt(i, "nesting too deep")
	}
	end, err := s.elements(i, n)
	s.depth--
	return end, err
}

// elements scans the elements of the array at data[i].
func (s *scanner) elements(i int, n *node) (int, error) {
	d := s.data
	i = s.ws(i + 1)
	if i < len(d) && d[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = s.value(i, n); err != nil {
			return i, err
		}
		i = s.ws(i)
		if i >= len(d) {
			return i, s.errAt(i, "unexpected end of input in array")
		}
		switch d[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			return i + 1, nil
		default:
			return i, s.errAt(i, "invalid character "+quoteByte(d[i])+", expected ',' or ']' in array")
		}
	}
}

// str scans the string starting at the quote at data[i]. It returns the index after the closing
// quote and whether the string holds escapes.
func (s *scanner) str(i int) (end int, esc bool, err error) {
	d := s.data
	j := i + 1
	for {
		// Eight bytes at a time while none is '"', '\\' or a control character.
		for j+8 <= len(d) {
			x := binary.LittleEndian.Uint64(d[j:])
			if (hasZeroByte(x^(lsb*'"')) | hasZeroByte(x^(lsb*'\\')) | hasLessByte(x, 0x20)) != 0 {
				break
			}
			j += 8
		}
		for j < len(d) && strPlain[d[j]] {
			j++
		}
		if j >= len(d) {
			return j, esc, s.errAt(i, "unterminated string")
		}
		switch c := d[j]; {
		case c == '"':
			return j + 1, esc, nil
		case c == '\\':
			esc = true
			if j+1 >= len(d) {
				return j, esc, s.errAt(i, "unterminated string")
			}
			switch d[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(d) || !isHex4(d[j+2:j+6]) {
					return j, esc, s.errAt(j, `invalid \u escape in string`)
				}
				j += 6
			default:
				return j, esc, s.errAt(j, "invalid escape "+quoteByte(d[j+1])+" in string")
			}
		default:
			return j, esc, s.errAt(j, "control character "+quoteByte(c)+" in string")
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasZeroByte is non-zero when a byte of x is zero.
func hasZeroByte(x uint64) uint64 { return (x - lsb) &^ x & msb }

// hasLessByte is non-zero when a byte of x is less than n (n <= 128).
func hasLessByte(x uint64, n uint64) uint64 { return (x - lsb*n) &^ x & msb }

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// num scans a number per RFC 8259.
func (s *scanner) num(i int) (int, error) {
	d := s.data
	j := i
	if d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && d[j] >= '1' && d[j] <= '9':
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	default:
		return j, s.errAt(j, "invalid number: expected a digit")
	}
	if j < len(d) && d[j] == '.' {
		j++
		if j >= len(d) || d[j] < '0' || d[j] > '9' {
			return j, s.errAt(j, "invalid number: expected a digit after the decimal point")
		}
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if j >= len(d) || d[j] < '0' || d[j] > '9' {
			return j, s.errAt(j, "invalid number: expected a digit in the exponent")
		}
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	}
	return j, nil
}

// stringLeaf handles a wanted string value (raw: between the quotes, still escaped).
func (s *scanner) stringLeaf(l *leaf, raw []byte, esc bool) {
	if esc {
		s.ev.scratch = appendUnescaped(s.ev.scratch[:0], raw)
		raw = s.ev.scratch
	}
	if len(raw) == 0 {
		return
	}
	v := string(raw)
	if l.kind != kindNone {
		if o, ok := observable(l.kind, v); ok {
			s.ev.add(l, o)
		}
	}
	if l.ctx != ctxNone {
		s.ev.setContext(l.ctx, v)
	}
}

// appendUnescaped appends the JSON string content raw (validated by str) to dst, unescaped. Lone
// surrogates become U+FFFD, as with encoding/json.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(raw) {
			break
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(raw) {
				return dst
			}
			r := rune(hex4(raw[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 := rune(hex4(raw[i+2 : i+6]))
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	v := 0
	for _, c := range b {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v |= int(c-'A') + 10
		}
	}
	return v
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return strconv.Quote(string([]byte{c}))
}
