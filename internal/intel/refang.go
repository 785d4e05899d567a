package intel

// Refanging. Defanged indicators ("hxxps://evil[.]com", "user[at]evil(dot)com") are how analysts
// share indicators in prose without making them clickable; every observable goes through here before
// it is parsed.
//
// The work is done on the output as it grows: each byte is appended and the tail of the output is
// checked for a defanged form ending there. Working on the output rather than the input makes the
// result a fixed point (nested forms such as "[[.]]" reduce fully, and Refang(Refang(s)) == Refang(s))
// while staying linear: every replacement shrinks the output or rewrites it in place.

import "sort"

// Refang undoes the common ways of defanging an indicator, case-insensitively:
//
//   - schemes hxxp, hxxps, hXXp(s), fxp, fxps at the start of a word and followed by ":", "[" or "(";
//   - "[.]" "(.)" "{.}" "[dot]" "(dot)" "{dot}", also with spaces inside the brackets ("[ . ]");
//   - "[@]" "(@)" "{@}" "[at]" "(at)" "{at}", also with spaces inside;
//   - "[:]" "[://]" "[/]" (and the same in round or curly brackets);
//   - "\." and "\/" (regular-expression and JSON escapes);
//   - spaces around a bracketed dot or at between two name characters ("evil [.] com");
//   - " dot " between two name characters, but only in a refangable context: when the word it
//     follows already contains "://", "@" or another defanged form ("hxxp://evil dot com"), so that
//     prose such as "a dot com company" is left alone. [Normalize] and [Detect], which see a single
//     value, always refang " dot ".
//
// It validates nothing. When s holds nothing defanged it is returned as is, without allocating.
func Refang(s string) string {
	r := refanger{loose: false}
	return r.run(s)
}

// refangValue refangs a single value: " dot " needs no context.
func refangValue(s string) string {
	r := refanger{loose: true}
	return r.run(s)
}

type refanger struct {
	loose bool
	// marks, when non-nil, records the output index of every replacement in increasing order, so that
	// Extract can tell which tokens were written defanged.
	marks []int
	track bool

	out    []byte // nil until the first change: the output is then the input so far
	ctxAt  int    // output index of the last context marker ("@", "://", a replacement), or -1
	markAt int    // output index of the last replacement, or -1
}

func (r *refanger) run(s string) string {
	r.ctxAt, r.markAt = -1, -1
	i := 0
	// Phase 1: the output is s[:i+1]; look for the first change without allocating.
	for ; i < len(s); i++ {
		if c := s[i]; !trigger[c] && (!isNameByte(c) || i < 4 || s[i-1] != ' ') {
			continue // fast path: nothing can end here
		}
		if st, repl, ok := checkTail(r, s[:i+1], s[i]); ok {
			r.out = make([]byte, 0, len(s))
			r.out = append(r.out, s[:i+1]...)
			r.replace(st, repl)
			r.settle()
			i++
			break
		}
	}
	if r.out == nil {
		return s
	}
	// Phase 2: append and reduce.
	for ; i < len(s); i++ {
		r.out = append(r.out, s[i])
		r.settle()
	}
	return string(r.out)
}

// trigger marks the bytes, other than name bytes after a space, at which a defanged form can end or
// a context marker be seen; see checkTail.
var trigger = [256]bool{
	']': true, ')': true, '}': true, '.': true, '/': true, ':': true, '[': true, '(': true, '@': true,
}

// settle applies replacements at the tail of r.out until none applies.
func (r *refanger) settle() {
	for {
		n := len(r.out)
		if n == 0 {
			return
		}
		st, repl, ok := checkTail(r, r.out, r.out[n-1])
		if !ok {
			return
		}
		r.replace(st, repl)
	}
}

// replace replaces r.out[st:] with repl and records the replacement.
func (r *refanger) replace(st int, repl string) {
	r.out = append(r.out[:st], repl...)
	r.ctxAt, r.markAt = st, st
	if r.track {
		k := sort.SearchInts(r.marks, st)
		r.marks = append(r.marks[:k], st)
	}
}

// checkTail reports whether the output v, whose last byte is c, ends with a defanged form: the form
// starts at st and v[st:] is to be replaced by repl. It also keeps track of context markers. v is the
// input string during phase 1 and the output buffer after.
func checkTail[T string | []byte](r *refanger, v T, c byte) (st int, repl string, ok bool) {
	n := len(v)
	switch {
	case c == ']' || c == ')' || c == '}':
		return bracketTail(v)
	case c == '.' || c == '/':
		if n >= 2 && v[n-2] == '\\' {
			return n - 2, string(c), true
		}
		if c == '/' && n >= 3 && v[n-2] == '/' && v[n-3] == ':' {
			r.ctxAt = n - 1
		}
	case c == ':' || c == '[' || c == '(':
		if st, repl, ok := schemeTail(v[:n-1]); ok {
			return st, repl + string(c), true
		}
	case c == '@':
		r.ctxAt = n - 1
	case isNameByte(c):
		// "evil [.] com" → "evil.com": spaces around a replaced dot or at.
		if n >= 5 && r.markAt == n-3 && v[n-2] == ' ' && v[n-4] == ' ' && isNameByte(v[n-5]) &&
			(v[n-3] == '.' || v[n-3] == '@') {
			return n - 4, string(v[n-3]) + string(c), true
		}
		// "evil dot com" → "evil.com".
		if n >= 7 && v[n-2] == ' ' && v[n-6] == ' ' && isNameByte(v[n-7]) &&
			lower(v[n-5]) == 'd' && lower(v[n-4]) == 'o' && lower(v[n-3]) == 't' &&
			(r.loose || inContext(r, v, n-7)) {
			return n - 6, "." + string(c), true
		}
	}
	return 0, "", false
}

// inContext reports whether the word ending at output index k holds a context marker: scanning back
// from k meets r.ctxAt before any white space. The scan is bounded by the word, and a replacement moves
// r.ctxAt to itself, so chains ("a@b dot c dot d") stay linear.
func inContext[T string | []byte](r *refanger, v T, k int) bool {
	if r.ctxAt < 0 || r.ctxAt > k {
		return false
	}
	for ; k > r.ctxAt; k-- {
		if isSpaceByte(v[k]) {
			return false
		}
	}
	return true
}

// bracketTail matches "[.]", "(dot)", "{ at }", "[://]" and alike at the end of v.
func bracketTail[T string | []byte](v T) (st int, repl string, ok bool) {
	n := len(v)
	var open byte
	switch v[n-1] {
	case ']':
		open = '['
	case ')':
		open = '('
	case '}':
		open = '{'
	}
	// The longest form is "[ dot ]": 7 bytes.
	for k := 3; k <= 7 && k <= n; k++ {
		if v[n-k] != open {
			continue
		}
		inner := v[n-k+1 : n-1]
		spaced := len(inner) >= 3 && inner[0] == ' ' && inner[len(inner)-1] == ' '
		if spaced {
			inner = inner[1 : len(inner)-1]
		}
		switch {
		case len(inner) == 1 && inner[0] == '.', len(inner) == 3 && equalFold(inner, "dot"):
			return n - k, ".", true
		case len(inner) == 1 && inner[0] == '@', len(inner) == 2 && equalFold(inner, "at"):
			return n - k, "@", true
		case spaced:
			// Only dots and ats may be spaced.
		case len(inner) == 1 && inner[0] == ':':
			return n - k, ":", true
		case len(inner) == 1 && inner[0] == '/':
			return n - k, "/", true
		case len(inner) == 3 && inner[0] == ':' && inner[1] == '/' && inner[2] == '/':
			return n - k, "://", true
		}
		return 0, "", false
	}
	return 0, "", false
}

// schemeTail matches a defanged scheme (hxxp, hxxps, fxp, fxps) at the end of v, at the start of a
// word. The replacement has the same length.
func schemeTail[T string | []byte](v T) (st int, repl string, ok bool) {
	n := len(v)
	s := 0 // 1 if the scheme ends in "s"
	if n >= 1 && lower(v[n-1]) == 's' {
		s = 1
	}
	e := n - s // v[:e] should end in "hxxp" or "fxp"
	switch {
	case e >= 4 && lower(v[e-4]) == 'h' && lower(v[e-3]) == 'x' && lower(v[e-2]) == 'x' && lower(v[e-1]) == 'p':
		st, repl = e-4, "http"
	case e >= 3 && lower(v[e-3]) == 'f' && lower(v[e-2]) == 'x' && lower(v[e-1]) == 'p':
		st, repl = e-3, "ftp"
	default:
		return 0, "", false
	}
	if st > 0 && isAlnum(v[st-1]) {
		return 0, "", false
	}
	if s == 1 {
		repl += "s"
	}
	return st, repl, true
}

func equalFold[T string | []byte](v T, lowerASCII string) bool {
	if len(v) != len(lowerASCII) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if lower(v[i]) != lowerASCII[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isNameByte reports whether c may appear in a host name label (underscore included).
func isNameByte(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
