package intel

import (
	"net/netip"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fileExtTLDs are top-level domains that are also common file extensions in threat reports
// ("install.sh", "README.md", "invoice.one", "Foo.app"). Extract skips a two-label name under one of
// them unless it was written defanged: in prose, "dropper.py" is a file name far more often than a
// domain. Normalize and Detect accept such names.
var fileExtTLDs = map[string]bool{
	"app": true, "cab": true, "java": true, "md": true, "mov": true, "one": true, "pm": true,
	"ps": true, "py": true, "rs": true, "run": true, "sh": true, "so": true, "tf": true, "zip": true,
}

// Extract returns every observable found in free text (a threat report, a paste, an email body, a
// JSON document), in canonical form (see [Normalize]), deduplicated, in order of first appearance.
//
// The text is refanged first (see [Refang]), so "hxxps://evil[.]com/x", "1.2.3[.]4" and
// "user[@]evil[.]com" are found. Then:
//
//   - URLs are taken from a known scheme followed by "://" up to white space or one of `"<>\^{|}`;
//     trailing punctuation (".,;:!?'*") and unbalanced ")" and "]" are left out, as is everything from
//     a markdown "](" on, so "(see https://evil.com/a).", "<https://evil.com/a>," and
//     "[x](https://evil.com/a)" give https://evil.com/a. A host followed by a path ("evil.com/a.php",
//     "1.2.3.4:8080/gate") is a URL with scheme http unless it is itself inside a path
//     ("/var/www/evil.com/x" gives the domain). A URL nested in another one's path or query is part of
//     it, not a second URL.
//   - The host of a URL and the domain of an email are not reported separately; they are when they
//     also appear on their own.
//   - Domains, IPv4 addresses, hashes, CVE ids and AS numbers ("AS64500", "ASN64500") must be whole
//     tokens: a token is a run of letters, digits, ".", "-", "_" and "+". So hashes are hex runs of
//     exactly 32, 40, 64 or 128 digits, never part of a longer one (a hash is still found in
//     "<hash>.exe" or "sample-<hash>"), and "v1.2.3.4" or "1.2.3.4.5" give nothing. Domains must
//     pass the public-suffix rule of [Normalize], so "readme.txt", "setup.exe" and "e.g." are not
//     domains; a two-label name under a TLD that is also a common file extension (.sh, .py, .md,
//     .zip, .one, .app and a few more) is taken for a file name unless it was written defanged:
//     "install.sh" gives nothing, "transfer[.]sh" gives transfer.sh. An address followed by "/" and a prefix length or netmask is
//     a CIDR; "1.2.3.4/5.6.7.8" (not a netmask) gives both addresses.
//   - IPv6 addresses (full, compressed or with an embedded IPv4) are recognised where they are not
//     part of a longer run of hex digits and colons. To avoid times ("12:30:45"), MAC addresses and
//     code ("Foo::Bar", "::1"), an address needs three non-zero groups, or two with one of four
//     digits ("fe80::1"), or an embedded IPv4 address. An address followed by a port gives the
//     address; "fe80::1%eth0" gives fe80::1.
//   - ja3 and account are never extracted: they cannot be told from md5 and ordinary words.
//
// Extract runs in time linear in len(text).
func Extract(text string) []Observable {
	r := refanger{track: true}
	x := extractor{t: r.run(text)}
	x.marks = r.marks
	x.scan()
	return x.out
}

type extractor struct {
	t     string // refanged text
	marks []int  // offsets in t of refang replacements, increasing
	seen  map[Observable]bool
	out   []Observable
}

func (x *extractor) add(o Observable) {
	if x.seen == nil {
		x.seen = make(map[Observable]bool)
	}
	if !x.seen[o] {
		x.seen[o] = true
		x.out = append(x.out, o)
	}
}

// defanged reports whether t[a:b] was written defanged.
func (x *extractor) defanged(a, b int) bool {
	k := sort.SearchInts(x.marks, a)
	return k < len(x.marks) && x.marks[k] < b
}

// isWordByte reports whether the ASCII byte c belongs in a token.
func isWordByte(c byte) bool { return isNameByte(c) || c == '.' || c == '+' }

// isWordRune reports whether the non-ASCII rune r belongs in a token (internationalised names).
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isIPv6Byte reports whether c may appear in the text form of an IPv6 address.
func isIPv6Byte(c byte) bool { return isHexByte(c) || c == ':' || c == '.' }

func (x *extractor) scan() {
	t := x.t
	for i := 0; i < len(t); {
		if c := t[i]; c < utf8.RuneSelf {
			if isWordByte(c) {
				i = x.word(i, x.wordEnd(i))
				continue
			}
			// "::1", "::ffff:1.2.3.4": an IPv6 address starting with a colon.
			if c == ':' && i+1 < len(t) && t[i+1] == ':' && (i == 0 || !isIPv6Byte(t[i-1])) {
				if end, ok := x.ipv6(i); ok {
					i = end
					continue
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(t[i:])
		if isWordRune(r) {
			i = x.word(i, x.wordEnd(i))
			continue
		}
		i += n
	}
}

// wordEnd returns the end of the token starting at i.
func (x *extractor) wordEnd(i int) int {
	t := x.t
	for i < len(t) {
		if c := t[i]; c < utf8.RuneSelf {
			if !isWordByte(c) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(t[i:])
		if !isWordRune(r) {
			return i
		}
		i += n
	}
	return i
}

// word handles the token t[i:j] and what follows it; it returns where scanning resumes.
func (x *extractor) word(i, j int) int {
	t := x.t
	if strings.HasPrefix(t[j:], "://") {
		s := j
		for s > i && isAlnum(t[s-1]) {
			s--
		}
		if s < j && j-s <= 5 && urlSchemes[lowerASCII(t[s:j])] {
			if s > i {
				x.token(i, s, 0)
			}
			end := x.urlEnd(s)
			if end-s <= maxURL {
				if u, err := normURL(t[s:end]); err == nil {
					x.add(Observable{URL, u})
				}
			}
			return end
		}
	}
	if j < len(t) {
		switch t[j] {
		case '@':
			if end, ok := x.email(i, j); ok {
				return end
			}
		case ':':
			if i == 0 || t[i-1] != ':' {
				if end, ok := x.ipv6(i); ok {
					return end
				}
			}
			if end, ok := x.hostPath(i, j); ok {
				return end
			}
		case '/':
			if end, ok := x.hostPath(i, j); ok {
				return end
			}
		}
	}
	x.token(i, j, 0)
	return j
}

// urlEnd returns the end of the URL starting at s.
func (x *extractor) urlEnd(s int) int {
	t := x.t
	k := s
	parens, brackets := 0, 0
scan:
	for k < len(t) {
		c := t[k]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(t[k:])
			if !isWordRune(r) {
				break
			}
			k += n
			continue
		}
		switch {
		case c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}':
			break scan
		case c == ']' && k+1 < len(t) && t[k+1] == '(':
			break scan // markdown link: [text](url)
		case (c == ',' || c == ';') && schemeFollows(t[k+1:]):
			break scan // "https://a.com/x,https://b.com/y"
		case c == '(':
			parens++
		case c == ')':
			parens--
		case c == '[':
			brackets++
		case c == ']':
			brackets--
		}
		k++
	}
	for k > s {
		switch c := t[k-1]; {
		case strings.IndexByte(".,;:!?'*", c) >= 0:
		case c == ')' && parens < 0:
			parens++
		case c == ']' && brackets < 0:
			brackets++
		default:
			return k
		}
		k--
	}
	return k
}

// schemeFollows reports whether s starts with a known URL scheme and "://".
func schemeFollows(s string) bool {
	n := 0
	for n < len(s) && n <= 5 && isAlnum(s[n]) {
		n++
	}
	return n > 0 && strings.HasPrefix(s[n:], "://") && urlSchemes[lowerASCII(s[:n])]
}

// email handles "local@domain" where t[i:j] is the token before the "@" at j.
func (x *extractor) email(i, j int) (int, bool) {
	t := x.t
	if j+1 >= len(t) {
		return 0, false
	}
	end := j + 1
	if c := t[end]; c < utf8.RuneSelf && isWordByte(c) || c >= utf8.RuneSelf {
		end = x.wordEnd(end)
	}
	local := strings.TrimLeft(t[i:j], ".")
	dom := strings.TrimRight(t[j+1:end], ".-_+")
	if local == "" || len(local) > maxLocal || strings.IndexByte(dom, '.') < 0 || len(dom) > rawSlack*maxDomain {
		return 0, false
	}
	e, err := normEmail(local + "@" + dom)
	if err != nil {
		return 0, false
	}
	x.add(Observable{Email, e})
	return end, true
}

// ipv6 handles an IPv6 address (or network) starting at i.
func (x *extractor) ipv6(i int) (int, bool) {
	const max = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
	t := x.t
	k := i
	for k < len(t) && k-i <= max && isIPv6Byte(t[k]) {
		k++
	}
	if k-i > max || k < len(t) && (isAlnum(t[k]) || t[k] == '_') {
		return 0, false
	}
	for k > i && t[k-1] == '.' {
		k--
	}
	s := t[i:k]
	a, err := netip.ParseAddr(s)
	if err != nil && strings.HasSuffix(s, ":") && !strings.HasSuffix(s, "::") {
		k--
		s = s[:len(s)-1]
		a, err = netip.ParseAddr(s)
	}
	if err != nil || !a.Is6() || !plausibleIPv6(s) {
		return 0, false
	}
	// A prefix length makes it a network.
	if k+1 < len(t) && t[k] == '/' {
		d := k + 1
		for d < len(t) && d-k <= 3 && '0' <= t[d] && t[d] <= '9' {
			d++
		}
		if d > k+1 && prefixEnds(t, d) {
			if o, err := normCIDR(t[i:d]); err == nil {
				x.add(o)
				return d, true
			}
		}
	}
	o, err := normAddr(CIDR, s)
	if err != nil {
		return 0, false
	}
	x.add(o)
	return k, true
}

// prefixEnds reports whether a prefix length ending at d ends there: "10.0.0.0/8" and "10.0.0.0/8."
// do, "10.0.0.0/8x", "10.0.0.0/8.5" and "10.0.0.0/8/a" do not.
func prefixEnds(t string, d int) bool {
	if d == len(t) {
		return true
	}
	switch c := t[d]; {
	case c == '/' || c == '_' || isAlnum(c):
		return false
	case c == '.' || c == '-' || c == '+':
		return d+1 == len(t) || !isAlnum(t[d+1])
	}
	return true
}

// plausibleIPv6 tells addresses from times, MAC addresses and code; see Extract.
func plausibleIPv6(s string) bool {
	if strings.IndexByte(s, '.') >= 0 {
		return true // embedded IPv4, parsed already
	}
	groups, four := 0, false
	for g := range strings.SplitSeq(s, ":") {
		if g != "" && strings.Trim(g, "0") != "" {
			groups++
			four = four || len(g) == 4
		}
	}
	return groups >= 3 || groups == 2 && four
}

// hostPath handles a token t[i:j] followed by "/" or ":": a CIDR network ("10.0.0.0/8") or a
// scheme-less URL ("evil.com/a", "1.2.3.4:8080/gate").
func (x *extractor) hostPath(i, j int) (int, bool) {
	t := x.t
	if i > 0 && (t[i-1] == '/' || t[i-1] == '\\') {
		return 0, false // inside a path: "/var/www/evil.com/x"
	}
	a := i
	for a < j && (t[a] == '.' || t[a] == '-' || t[a] == '_' || t[a] == '+') {
		a++
	}
	host := t[a:j]
	if host == "" {
		return 0, false
	}
	k := j
	if t[k] == '/' && looksIPv4(host) && k+1 < len(t) && isWordByte(t[k+1]) {
		// "10.0.0.0/255.0.0.0": a netmask, or a pair of addresses.
		w := x.wordEnd(k + 1)
		for w > k+1 && t[w-1] == '.' {
			w--
		}
		if looksIPv4(t[k+1 : w]) {
			if o, err := normCIDR(t[a:w]); err == nil {
				x.add(o)
			} else {
				x.token(a, j, 0)
				x.token(k+1, w, 0)
			}
			return w, true
		}
	}
	if t[k] == '/' && looksIPv4(host) {
		d := k + 1
		for d < len(t) && d-k <= 2 && '0' <= t[d] && t[d] <= '9' {
			d++
		}
		if d > k+1 && prefixEnds(t, d) {
			o, err := normCIDR(t[a:d])
			if err != nil {
				return 0, false
			}
			x.add(o)
			return d, true
		}
	}
	if t[k] == ':' {
		d := k + 1
		for d < len(t) && d-k <= 5 && '0' <= t[d] && t[d] <= '9' {
			d++
		}
		if d == k+1 || d >= len(t) || t[d] != '/' {
			return 0, false
		}
	}
	if looksIPv4(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			return 0, false
		}
	} else if d, err := canonicalDomain(host); err != nil || x.fileLike(a, j, d) {
		return 0, false
	}
	end := x.urlEnd(a)
	if end-a > maxURL {
		return 0, false
	}
	u, err := normURL(t[a:end])
	if err != nil {
		return 0, false
	}
	x.add(Observable{URL, u})
	return end, true
}

// fileLike reports whether the domain d, written as t[a:b], is more likely a file name; see
// fileExtTLDs.
func (x *extractor) fileLike(a, b int, d string) bool {
	dot := strings.IndexByte(d, '.')
	return dot == strings.LastIndexByte(d, '.') && fileExtTLDs[d[dot+1:]] && !x.defanged(a, b)
}

// token analyses the token t[a:b]: level 0 is a whole token, level 1 a part of one split at "-" or
// "+". Each level does work linear in b-a.
func (x *extractor) token(a, b, level int) {
	t := x.t
	// A leading "_" stays: "_dmarc.evil.com", "_ldap._tcp.corp.com".
	for a < b && (t[a] == '.' || t[a] == '-' || t[a] == '+') {
		a++
	}
	for b > a && (t[b-1] == '.' || t[b-1] == '-' || t[b-1] == '+' || t[b-1] == '_') {
		b--
	}
	if a >= b {
		return
	}
	tok := t[a:b]
	dot, dashPlus, ascii := false, false, true
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c == '.':
			dot = true
		case c == '-' || c == '+':
			dashPlus = true
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if len(tok) >= 13 && x.cves(tok) {
		return
	}
	if looksIPv4(tok) {
		if o, err := normAddr(IPv4, tok); err == nil {
			x.add(o)
		}
		return
	}
	if len(tok) >= 3 && len(tok) <= 13 && lower(tok[0]) == 'a' && lower(tok[1]) == 's' && '0' <= tok[len(tok)-1] && tok[len(tok)-1] <= '9' {
		if o, err := normASN(tok, false); err == nil {
			x.add(o)
			return
		}
	}
	if ht := hashType(tok); ht != "" {
		x.add(Observable{ht, lowerASCII(tok)})
		return
	}
	if dot && len(tok) <= rawSlack*maxDomain {
		if d, err := canonicalDomain(tok); err == nil {
			if !x.fileLike(a, b, d) {
				x.add(Observable{Domain, d})
			}
			return
		}
	}
	if level == 0 {
		if !ascii {
			// "访问evil.com": retry the ASCII runs of a token that mixes scripts.
			for p := a; p < b; {
				if t[p] >= utf8.RuneSelf {
					p++
					continue
				}
				q := p
				for q < b && t[q] < utf8.RuneSelf {
					q++
				}
				x.token(p, q, 0)
				p = q
			}
			return
		}
		if dashPlus {
			// "1.2.3.4-1.2.3.9", "sample-<hash>.exe"
			for p := a; p < b; {
				q := p
				for q < b && t[q] != '-' && t[q] != '+' {
					q++
				}
				x.token(p, q, 1)
				p = q + 1
			}
			return
		}
	}
	// "<hash>.exe"
	if dot {
		for part := range strings.SplitSeq(tok, ".") {
			if ht := hashType(part); ht != "" {
				x.add(Observable{ht, lowerASCII(part)})
			}
		}
	}
}

// cves adds the CVE ids in tok that are not glued to a preceding letter or digit, and reports
// whether there were any.
func (x *extractor) cves(tok string) bool {
	found := false
	for p := 0; p+13 <= len(tok); p++ {
		if lower(tok[p]) != 'c' || p > 0 && isAlnum(tok[p-1]) {
			continue
		}
		n := cveLen(tok[p:])
		if n == 0 || p+n < len(tok) && isAlnum(tok[p+n]) {
			continue
		}
		x.add(Observable{CVE, "CVE-" + tok[p+4:p+n]})
		found = true
		p += n - 1
	}
	return found
}

// hashType returns the hash type of a hex string of the right length, or "".
func hashType(s string) Type {
	var t Type
	switch len(s) {
	case 32:
		t = MD5
	case 40:
		t = SHA1
	case 64:
		t = SHA256
	case 128:
		t = SHA512
	default:
		return ""
	}
	if !isHex(s) {
		return ""
	}
	return t
}
