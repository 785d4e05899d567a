package intel

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Length limits, in bytes, of canonical values. Longer input is rejected before any parsing.
const (
	maxURL     = 8 << 10 // what proxies and browsers reliably handle
	maxDomain  = 253     // RFC 1035, without the trailing dot
	maxLabel   = 63
	maxEmail   = 254 // RFC 5321 path limit
	maxLocal   = 64
	maxAccount = 256
	maxShort   = 128 // addresses, networks, hashes, CVE ids, AS numbers

	// Raw input may carry white space, wrappers and defanging ("[dot]" is five bytes for one), so the
	// first, cheap check allows this much slack before refanging.
	rawSlack = 4
)

// maxCanonical returns the length limit of a canonical value of type t.
func maxCanonical(t Type) int {
	switch t {
	case URL:
		return maxURL
	case Domain:
		return maxDomain
	case Email:
		return maxEmail
	case Account:
		return maxAccount
	}
	return maxShort
}

// Default ports, dropped from canonical URLs.
var defaultPorts = map[string]string{
	"http": "80", "https": "443", "ws": "80", "wss": "443",
	"ftp": "21", "ftps": "990", "sftp": "22", "smb": "445",
	"ldap": "389", "ldaps": "636",
}

// urlSchemes are the schemes a URL observable may have. Keep in sync with the doc on [Normalize].
var urlSchemes = map[string]bool{
	"http": true, "https": true, "ftp": true, "ftps": true, "sftp": true, "ws": true, "wss": true,
	"tcp": true, "udp": true, "smb": true, "ldap": true, "ldaps": true,
}

// idnaProfile is [idna.Lookup] (UTS #46 non-transitional mapping, Bidi and ContextJ rules) made
// tolerant of what real host names contain: underscores (STD3 rules off; the ASCII result is then
// checked by [validHost]) and "--" in the third and fourth positions ("r3---sn-abc.googlevideo.com").
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.CheckJoiners(true),
)

// Normalize returns raw as an observable of type t in canonical form, or an error naming raw and
// saying why it is not a valid value of that type. It never panics, on any input.
//
// Before parsing, white space around raw is trimmed; for every type but [Account], one or more pairs
// of wrapping quotes or brackets ("…", '…', `…`, <…>, […], (…), {…}, “…”, ‘…’, «…») are removed; for
// the network types (ipv4, ipv6, cidr, domain, url, email) raw is refanged as by [Refang], except
// that " dot " is always a dot.
//
// Canonical forms:
//
//   - ipv4: dotted decimal; octets with leading zeros (octal in some parsers) are rejected.
//     An IPv4-mapped IPv6 address ("::ffff:1.2.3.4") and a /32 network give the ipv4 observable.
//   - ipv6: RFC 5952 text ([netip.Addr.String]); zones are rejected; brackets are accepted.
//     IPv4-mapped addresses give an ipv4 observable and a /128 network the ipv6 observable.
//   - cidr: the network, masked ("10.1.2.3/8" is "10.0.0.0/8"); an IPv4 netmask may stand for the
//     prefix length ("10.0.0.0/255.0.0.0"). A full-length prefix (/32, /128) or a bare address
//     gives the ipv4 or ipv6 observable, so Normalize may return another IP type than t. An
//     IPv4-mapped prefix is unmapped ("::ffff:10.0.0.0/104" is "10.0.0.0/8").
//   - domain: lower case, no trailing dot, internationalised names as A-labels (punycode) by UTS #46
//     with underscores allowed. Labels are 1 to 63 bytes of a-z, 0-9, "-" and "_" and do not start
//     with "-"; the name is at most 253 bytes. Its public suffix must be listed in the Public Suffix
//     List (ICANN or private section; "readme.txt" and "setup.exe" are not domains), and the name
//     must be longer than an ICANN suffix ("co.uk" is not a domain; "blogspot.com", a private
//     suffix, is).
//   - url: scheme://[userinfo@]host[:port]/path[?query]. Scheme is one of http, https, ftp, ftps,
//     sftp, ws, wss, tcp, udp, smb, ldap, ldaps, lower case; without "://" the scheme is http
//     ("evil.com/a.php"). The host is a domain as above, a dotted IPv4 address (hosts that browsers
//     read as IPv4, such as "0x7f.1" or "2130706433", are rewritten to it) or a bracketed IPv6
//     address; percent-escapes in the host are decoded; a "\" ends the host, as in browsers
//     ("http://evil.com\@good.com/" is on evil.com). The port is kept unless it is the scheme's
//     default (http 80, https 443, ws 80, wss 443, ftp 21, ftps 990, sftp 22, smb 445, ldap 389,
//     ldaps 636). The fragment is dropped. An empty path is "/" for every scheme, so
//     "https://evil.com", "https://evil.com/" and "HTTPS://EVIL.COM:443/#x" are the same URL.
//     Userinfo, path and query are kept byte for byte; they may not contain white space or control
//     characters. At most 8 KiB.
//   - email: local@domain, lower case; the local part is 1 to 64 bytes of RFC 5322 atext and
//     non-consecutive dots; the domain is a domain as above. A "mailto:" prefix is accepted.
//   - md5, sha1, sha256, sha512: lower-case hexadecimal of exactly 32, 40, 64 or 128 digits.
//   - ja3: a JA3 (or JA3S) fingerprint, an MD5: 32 lower-case hex digits.
//   - asn: "AS" and the number in decimal, 1 to 4294967295; accepts "AS64500", "as64500",
//     "ASN64500" and "64500".
//   - cve: "CVE-YYYY-NNNN…", upper case, year from 1999, id of at least 4 digits (at most 10).
//   - account: a user name, lower case (account names are case-insensitive on Windows and in most
//     directories, and matching must not miss "Administrator" for "administrator"); valid UTF-8,
//     without white space or control characters, at most 256 bytes.
//
// Normalize is idempotent: Normalize(o.Type, o.Value) returns o for any o it returned.
func Normalize(t Type, raw string) (Observable, error) {
	if !t.Valid() {
		return Observable{}, fmt.Errorf("invalid observable %q: unknown type %q", clip(raw), string(t))
	}
	if len(raw) > rawSlack*maxCanonical(t)+64 {
		return Observable{}, tooLong(t, raw)
	}
	s := prepare(t, raw)
	if len(s) > rawSlack*maxCanonical(t) {
		// Mapping may still shrink it ("ＥＶＩＬ.com", "a[.]b"); the normalisers check the result.
		return Observable{}, tooLong(t, raw)
	}
	if s == "" {
		return Observable{}, invalid(t, raw, "empty")
	}
	o, err := normalize(t, s)
	if err != nil {
		return Observable{}, invalid(t, raw, err.Error())
	}
	return o, nil
}

// prepare trims, unwraps and refangs raw as described on [Normalize].
func prepare(t Type, raw string) string {
	s := strings.TrimSpace(raw)
	if t == Account {
		return s
	}
	s = unwrap(s)
	switch t {
	case IPv4, IPv6, CIDR, Domain, URL, Email:
		s = strings.TrimSpace(refangValue(s))
	}
	return s
}

// normalize is Normalize on a prepared value; its errors say why, without naming the input.
func normalize(t Type, s string) (Observable, error) {
	switch t {
	case IPv4, IPv6:
		return normAddr(t, s)
	case CIDR:
		return normCIDR(s)
	case Domain:
		d, err := canonicalDomain(s)
		return Observable{Domain, d}, err
	case URL:
		u, err := normURL(s)
		return Observable{URL, u}, err
	case Email:
		e, err := normEmail(s)
		return Observable{Email, e}, err
	case MD5, JA3:
		return normHex(t, s, 32)
	case SHA1:
		return normHex(t, s, 40)
	case SHA256:
		return normHex(t, s, 64)
	case SHA512:
		return normHex(t, s, 128)
	case ASN:
		return normASN(s, true)
	case CVE:
		c, err := normCVE(s)
		return Observable{CVE, c}, err
	case Account:
		return normAccount(s)
	}
	return Observable{}, errors.New("unknown type")
}

// Detect works out the type of raw and returns it in canonical form (see [Normalize]).
//
// raw is trimmed, unwrapped and refanged as for Normalize, then read as the first of these that
// applies:
//
//   - a URL if it contains "://";
//   - an email if it starts with "mailto:" or contains "@";
//   - a CIDR network if it is an address, "/" and a prefix length ("1.2.3.4/32" gives ipv4);
//   - a URL with scheme http if it is a host (domain or IP address, optionally with a port) followed by
//     "/": "evil.com/a/b.php", "www.evil.com/", "1.2.3.4:8080/gate";
//   - an IPv4 or IPv6 address; a host with a port ("1.2.3.4:443", "[2001:db8::1]:443",
//     "evil.com:8443") gives the address or domain, without the port;
//   - a hash by its length in hex digits: md5, sha1, sha256, sha512 (never ja3: a JA3 is an MD5);
//   - a CVE id;
//   - an AS number written with its prefix ("AS64500", "ASN64500"; a bare number is not detected);
//   - a domain ("www.evil.com" is a domain, not a URL).
//
// Detect never returns account or ja3. Its result o satisfies Normalize(o.Type, o.Value) == o.
func Detect(raw string) (Observable, error) {
	if len(raw) > rawSlack*maxURL+64 {
		return Observable{}, fmt.Errorf("cannot detect the type of %q: too long (%d bytes)", clip(raw), len(raw))
	}
	s := strings.TrimSpace(refangValue(unwrap(strings.TrimSpace(raw))))
	if s == "" {
		return Observable{}, fmt.Errorf("cannot detect the type of %q: empty", clip(raw))
	}
	o, t, err := detect(s)
	if err != nil {
		if t != "" {
			return Observable{}, invalid(t, raw, err.Error())
		}
		return Observable{}, fmt.Errorf("cannot detect the type of %q: %s", clip(raw), clipN(err.Error(), 160))
	}
	return o, nil
}

// detect is Detect on a prepared value. On error, t is the type s was taken for, if any.
func detect(s string) (o Observable, t Type, err error) {
	if len(s) > rawSlack*maxURL {
		return Observable{}, "", errors.New("too long")
	}
	try := func(t Type) (Observable, Type, error) {
		if len(s) > rawSlack*maxCanonical(t) {
			return Observable{}, t, fmt.Errorf("too long (%d bytes)", len(s))
		}
		o, err := normalize(t, s)
		return o, t, err
	}
	if strings.Contains(s, "://") {
		return try(URL)
	}
	if hasPrefixFold(s, "mailto:") || strings.IndexByte(s, '@') >= 0 {
		return try(Email)
	}
	if k := strings.IndexByte(s, '/'); k >= 0 {
		if _, err := netip.ParseAddr(s[:k]); err == nil && (isDigits(s[k+1:]) || looksIPv4(s[k+1:])) {
			return try(CIDR)
		}
		if validHostPort(s[:k]) {
			return try(URL)
		}
		return Observable{}, "", errors.New("neither a network nor a URL")
	}
	if strings.IndexByte(s, ':') >= 0 {
		if _, err := netip.ParseAddr(s); err == nil || strings.IndexByte(s, '%') >= 0 {
			return try(IPv6) // normAddr returns ipv4 for a mapped address
		}
		if h, ok := splitHostPort(s); ok {
			if _, err := netip.ParseAddr(h); err == nil {
				o, err := normAddr(CIDR, h) // either family
				return o, o.Type, err
			}
			if d, err := canonicalDomain(h); err == nil {
				return Observable{Domain, d}, Domain, nil
			}
		}
		return Observable{}, "", errors.New("not an address, host:port, URL or email")
	}
	if looksIPv4(s) {
		return try(IPv4)
	}
	if isHex(s) {
		switch len(s) {
		case 32:
			return try(MD5)
		case 40:
			return try(SHA1)
		case 64:
			return try(SHA256)
		case 128:
			return try(SHA512)
		}
	}
	if hasPrefixFold(s, "cve-") {
		return try(CVE)
	}
	if len(s) > 2 && hasPrefixFold(s, "as") && (isDigits(s[2:]) || hasPrefixFold(s, "asn") && isDigits(s[3:])) {
		o, err := normASN(s, false)
		return o, ASN, err
	}
	if isDigits(s) {
		return Observable{}, "", errors.New(`a bare number is not an observable (an AS number is "AS" and the number)`)
	}
	d, err := canonicalDomain(s)
	if err != nil {
		return Observable{}, "", fmt.Errorf("not a domain: %v", err)
	}
	return Observable{Domain, d}, Domain, nil
}

// validHostPort reports whether s is a domain, IP address or bracketed IPv6 address, optionally with
// a port: the authority of a scheme-less URL.
func validHostPort(s string) bool {
	if h, ok := splitHostPort(s); ok {
		s = h
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Zone() == ""
	}
	_, err := canonicalDomain(s)
	return err == nil
}

// splitHostPort splits "host:port" and "[v6]:port" with a decimal port (possibly empty).
func splitHostPort(s string) (host string, ok bool) {
	k := strings.LastIndexByte(s, ':')
	if k < 0 || !isDigits(s[k+1:]) && k+1 != len(s) {
		return "", false
	}
	h := s[:k]
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return "", false
		}
		return h[1 : len(h)-1], true
	}
	if strings.IndexByte(h, ':') >= 0 || h == "" {
		return "", false // a bare IPv6 address or garbage
	}
	return h, true
}

// normAddr parses an IP address of type t, or of either family if t is CIDR. A mapped IPv4 address is
// unmapped, whatever t is.
func normAddr(t Type, s string) (Observable, error) {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if strings.IndexByte(s, '/') >= 0 {
		// "1.2.3.4/32" is an address; any other prefix is a network.
		o, err := normCIDR(s)
		if err != nil {
			return Observable{}, err
		}
		if o.Type == CIDR {
			return Observable{}, fmt.Errorf("is a network (%s), not an address", o.Value)
		}
		s = o.Value
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Observable{}, errors.New(netipReason(err, "ParseAddr(", s))
	}
	if a.Zone() != "" {
		return Observable{}, errors.New("IPv6 zones are not allowed")
	}
	v6text := a.Is6()
	a = a.Unmap()
	if a.Is4() {
		if t == IPv6 && !v6text {
			return Observable{}, errors.New("is an IPv4 address")
		}
		return Observable{IPv4, a.String()}, nil
	}
	if t == IPv4 {
		return Observable{}, errors.New("is an IPv6 address")
	}
	return Observable{IPv6, a.String()}, nil
}

// normCIDR parses a network; see Normalize.
func normCIDR(s string) (Observable, error) {
	k := strings.IndexByte(s, '/')
	if k < 0 {
		return normAddr(CIDR, s)
	}
	if looksIPv4(s[k+1:]) {
		// A netmask: "10.0.0.0/255.0.0.0".
		bits, err := maskBits(s[k+1:])
		if err != nil {
			return Observable{}, err
		}
		s = s[:k+1] + strconv.Itoa(bits)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Observable{}, errors.New(netipReason(err, "netip.ParsePrefix(", s))
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	if bits == a.BitLen() {
		if a.Is4() {
			return Observable{IPv4, a.String()}, nil
		}
		return Observable{IPv6, a.String()}, nil
	}
	return Observable{CIDR, netip.PrefixFrom(a, bits).Masked().String()}, nil
}

// maskBits returns the prefix length of a dotted IPv4 netmask.
func maskBits(m string) (int, error) {
	a, err := netip.ParseAddr(m)
	if err != nil || !a.Is4() {
		return 0, because("invalid netmask %q", clip(m))
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^v)
	if v<<ones != 0 {
		return 0, because("netmask %q is not contiguous", m)
	}
	return ones, nil
}

// netipReason strips the "ParseAddr("input"): " prefix from a net/netip error: our errors name the
// input themselves.
func netipReason(err error, fn, s string) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, fn+strconv.Quote(s)+"): ")
}

// canonicalDomain returns the canonical form of a domain name; see Normalize.
func canonicalDomain(s string) (string, error) {
	if len(s) > rawSlack*maxDomain {
		return "", because("too long (%d bytes)", len(s))
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errEmpty
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		s = lowerASCII(s)
		if err := validHost(s); err != nil {
			return "", err
		}
		if strings.HasPrefix(s, "xn--") || strings.Contains(s, ".xn--") {
			a, err := idnaProfile.ToASCII(s)
			if err != nil {
				return "", fmt.Errorf("invalid punycode: %v", err)
			}
			s = a
		}
	} else {
		if !utf8.ValidString(s) {
			return "", errUTF8
		}
		a, err := idnaProfile.ToASCII(s)
		if err != nil {
			return "", fmt.Errorf("invalid internationalised name: %v", err)
		}
		s = strings.TrimSuffix(a, ".")
		if s == "" {
			return "", errEmpty
		}
	}
	// Check again after IDNA: it maps full stops and may re-encode labels.
	if err := validHost(s); err != nil {
		return "", err
	}
	if len(s) > maxDomain {
		return "", because("longer than %d bytes", maxDomain)
	}
	if strings.IndexByte(s, '.') < 0 {
		return "", errSingleLabel
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", errIsIP
	}
	ps, icann := publicsuffix.PublicSuffix(s)
	if !icann && strings.IndexByte(ps, '.') < 0 {
		return "", because("unknown public suffix %q", clip(ps))
	}
	if icann && ps == s {
		return "", because("%q is a public suffix", clip(s))
	}
	return s, nil
}

// validHost checks the syntax of a lower-case ASCII host name: labels of a-z, 0-9, "-" and "_", 1 to
// 63 bytes, not starting with "-".
func validHost(s string) error {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return because("invalid character %q", rune(c))
			}
			continue
		}
		n := i - start
		switch {
		case n == 0:
			return errEmptyLabel
		case n > maxLabel:
			return because("label longer than %d bytes", maxLabel)
		case s[start] == '-':
			return because("label %q starts with a hyphen", clip(s[start:i]))
		}
		start = i + 1
	}
	return nil
}

// normURL returns the canonical form of a URL; see Normalize.
func normURL(s string) (string, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if ok && !validScheme(scheme) {
		if !strings.ContainsAny(scheme, "/?#\\") {
			return "", fmt.Errorf("invalid scheme %q", clip(scheme))
		}
		ok = false // "evil.com/r?u=http://x": scheme-less, "://" is in the query
	}
	if ok {
		scheme = lowerASCII(scheme)
		if !urlSchemes[scheme] {
			return "", fmt.Errorf("unsupported scheme %q", clip(scheme))
		}
	} else {
		if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "\\") {
			return "", errors.New("no host")
		}
		scheme, rest = "http", s
	}
	// The authority ends at the first "/", "?" or "#"; browsers also end it at "\" for web schemes,
	// and so do we, so that "http://evil.com\@good.com/" has host evil.com, as a browser sees it.
	end := strings.IndexAny(rest, "/?#\\")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if k := strings.IndexByte(tail, '#'); k >= 0 {
		tail = tail[:k]
	}
	var userinfo string
	if k := strings.LastIndexByte(auth, '@'); k >= 0 {
		userinfo, auth = auth[:k], auth[k+1:]
		if err := validURLPart(userinfo); err != nil {
			return "", fmt.Errorf("userinfo: %v", err)
		}
		if userinfo == ":" {
			userinfo = ""
		}
	}
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		k := strings.IndexByte(auth, ']')
		if k < 0 {
			return "", errors.New("missing ] in host")
		}
		host, port = auth[:k+1], auth[k+1:]
		if port != "" && port[0] != ':' {
			return "", fmt.Errorf("junk %q after host", clip(port))
		}
	} else if k := strings.LastIndexByte(auth, ':'); k >= 0 {
		host, port = auth[:k], auth[k:]
	}
	h, err := urlHost(host)
	if err != nil {
		return "", err
	}
	if port != "" {
		p := port[1:]
		if p != "" {
			if !isDigits(p) || len(p) > 10 {
				return "", fmt.Errorf("invalid port %q", clip(p))
			}
			n, err := strconv.ParseUint(p, 10, 32)
			if err != nil || n == 0 || n > 65535 {
				return "", fmt.Errorf("port %s out of range", p)
			}
			p = strconv.FormatUint(n, 10)
		}
		if p == "" || p == defaultPorts[scheme] {
			port = ""
		} else {
			port = ":" + p
		}
	}
	if err := validURLPart(tail); err != nil {
		return "", err
	}
	if tail == "" || tail[0] == '?' {
		tail = "/" + tail
	}
	if n := len(scheme) + 3 + len(userinfo) + 1 + len(h) + len(port) + len(tail); n > maxURL {
		return "", fmt.Errorf("longer than %d bytes", maxURL)
	}
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(userinfo) + 1 + len(h) + len(port) + len(tail))
	b.WriteString(scheme)
	b.WriteString("://")
	if userinfo != "" {
		b.WriteString(userinfo)
		b.WriteByte('@')
	}
	b.WriteString(h)
	b.WriteString(port)
	b.WriteString(tail)
	return b.String(), nil
}

func validScheme(s string) bool {
	if s == "" || !('a' <= lower(s[0]) && lower(s[0]) <= 'z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validURLPart checks userinfo, path and query: valid UTF-8 without white space or control
// characters.
func validURLPart(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f {
				return fmt.Errorf("invalid character %q", rune(c))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return errors.New("invalid UTF-8")
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("invalid character %q", r)
		}
		i += n
	}
	return nil
}

// urlHost returns the canonical form of a URL host: bracketed IPv6, dotted IPv4 or domain.
func urlHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("no host")
	}
	if strings.HasPrefix(h, "[") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() {
			return "", fmt.Errorf("invalid IPv6 host %q", clip(h))
		}
		if a.Zone() != "" {
			return "", errors.New("IPv6 zones are not allowed")
		}
		if a.Is4In6() {
			return a.Unmap().String(), nil
		}
		return "[" + a.String() + "]", nil
	}
	if strings.IndexByte(h, '%') >= 0 {
		u, err := url.PathUnescape(h)
		if err != nil {
			return "", fmt.Errorf("invalid host %q: bad percent-escape", clip(h))
		}
		h = u
	}
	if a, ok, err := whatwgIPv4(h); ok {
		if err != nil {
			return "", fmt.Errorf("invalid IPv4 host %q: %v", clip(h), err)
		}
		return a, nil
	}
	d, err := canonicalDomain(h)
	if err != nil {
		return "", fmt.Errorf("invalid host %q: %v", clip(h), err)
	}
	return d, nil
}

// whatwgIPv4 parses a URL host the way browsers do (WHATWG URL, "IPv4 parser"): a host whose last
// label is a number is an IPv4 address, whose parts may be decimal, octal ("0177") or hex ("0x7f"),
// with the last part filling the remaining bytes ("127.1", "2130706433"). ok reports whether h
// ends in a number, that is whether it must be read as an address at all.
func whatwgIPv4(h string) (addr string, ok bool, err error) {
	h = strings.TrimSuffix(h, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return "", false, nil
	}
	if !isDigits(last) {
		if len(last) < 2 || last[0] != '0' || lower(last[1]) != 'x' || !isHex(last[2:]) && last[2:] != "" {
			return "", false, nil
		}
	}
	if strings.Count(h, ".") > 3 {
		return "", true, errors.New("too many parts")
	}
	parts := strings.Split(h, ".")
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, perr := parseIPv4Number(p)
		if perr != nil {
			return "", true, perr
		}
		if i < len(parts)-1 && n > 255 {
			return "", true, errors.New("part out of range")
		}
		nums[i] = n
	}
	lastN := nums[len(nums)-1]
	if lastN >= uint64(1)<<(8*(5-len(nums))) {
		return "", true, errors.New("last part out of range")
	}
	v := lastN
	for i, n := range nums[:len(nums)-1] {
		v |= n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String(), true, nil
}

func parseIPv4Number(p string) (uint64, error) {
	if p == "" {
		return 0, errors.New("empty part")
	}
	base := 10
	switch {
	case len(p) >= 2 && p[0] == '0' && lower(p[1]) == 'x':
		p, base = p[2:], 16
		if p == "" {
			return 0, nil
		}
	case len(p) >= 2 && p[0] == '0':
		p, base = p[1:], 8
	}
	if len(p) > 12 {
		return 0, errors.New("part out of range")
	}
	n, err := strconv.ParseUint(p, base, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid part %q", clip(p))
	}
	return n, nil
}

// normEmail returns the canonical form of an email address; see Normalize.
func normEmail(s string) (string, error) {
	if hasPrefixFold(s, "mailto:") {
		s = s[len("mailto:"):]
	}
	k := strings.LastIndexByte(s, '@')
	if k < 0 {
		return "", errors.New("no @")
	}
	local, dom := s[:k], s[k+1:]
	if err := validLocal(local); err != nil {
		return "", err
	}
	d, err := canonicalDomain(dom)
	if err != nil {
		return "", fmt.Errorf("domain part: %v", err)
	}
	e := lowerASCII(local) + "@" + d
	if len(e) > maxEmail {
		return "", fmt.Errorf("longer than %d bytes", maxEmail)
	}
	return e, nil
}

// validLocal checks an unquoted local part: RFC 5322 dot-atom.
func validLocal(s string) error {
	switch {
	case s == "":
		return errors.New("empty local part")
	case len(s) > maxLocal:
		return fmt.Errorf("local part longer than %d bytes", maxLocal)
	case s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, ".."):
		return errors.New("misplaced dot in local part")
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) && s[i] != '.' {
			return fmt.Errorf("invalid character %q in local part", rune(s[i]))
		}
	}
	return nil
}

func isAtext(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func normHex(t Type, s string, n int) (Observable, error) {
	if len(s) != n {
		return Observable{}, fmt.Errorf("want %d hex digits, have %d bytes", n, len(s))
	}
	if !isHex(s) {
		return Observable{}, errors.New("not hexadecimal")
	}
	return Observable{t, lowerASCII(s)}, nil
}

// normASN parses an AS number; bare numbers are accepted if bare.
func normASN(s string, bare bool) (Observable, error) {
	switch {
	case hasPrefixFold(s, "asn"):
		s = s[3:]
	case hasPrefixFold(s, "as"):
		s = s[2:]
	case !bare:
		return Observable{}, errNoASPrefix
	}
	if !isDigits(s) || len(s) > 10 {
		return Observable{}, errASN
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return Observable{}, errors.New("AS number out of range 1 to 4294967295")
	}
	return Observable{ASN, "AS" + strconv.FormatUint(n, 10)}, nil
}

// normCVE returns the canonical form of a CVE id; see Normalize.
func normCVE(s string) (string, error) {
	if n := cveLen(s); n != len(s) {
		return "", errors.New("want CVE-YYYY-NNNN with a year from 1999 and 4 to 10 digits")
	}
	return "CVE-" + s[4:], nil
}

// cveLen returns the length of the CVE id at the start of s, or 0.
func cveLen(s string) int {
	if len(s) < 13 || !hasPrefixFold(s, "cve-") || !isDigits(s[4:8]) || s[8] != '-' || s[4:8] < "1999" {
		return 0
	}
	n := 9
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	if d := n - 9; d < 4 || d > 10 {
		return 0
	}
	return n
}

func normAccount(s string) (Observable, error) {
	if !utf8.ValidString(s) {
		return Observable{}, errors.New("invalid UTF-8")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Observable{}, fmt.Errorf("invalid character %q", r)
		}
	}
	s = strings.ToLower(s)
	if len(s) > maxAccount {
		return Observable{}, fmt.Errorf("longer than %d bytes", maxAccount)
	}
	return Observable{Account, s}, nil
}

// unwrap removes pairs of wrapping quotes and brackets, and white space inside them.
func unwrap(s string) string {
	for len(s) >= 2 {
		open, n := utf8.DecodeRuneInString(s)
		close, m := utf8.DecodeLastRuneInString(s)
		if n+m > len(s) {
			return s
		}
		switch {
		case open == close && (open == '"' || open == '\'' || open == '`'),
			open == '<' && close == '>', open == '[' && close == ']', open == '(' && close == ')',
			open == '{' && close == '}', open == '“' && close == '”', open == '‘' && close == '’',
			open == '«' && close == '»':
			s = strings.TrimSpace(s[n : len(s)-m])
		default:
			return s
		}
	}
	return s
}

func looksIPv4(s string) bool {
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return false
		}
	}
	return dots == 3
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasPrefixFold(s, lowerPrefix string) bool {
	return len(s) >= len(lowerPrefix) && equalFold(s[:len(lowerPrefix)], lowerPrefix)
}

// lowerASCII lower-cases ASCII letters, allocating only if there are any upper-case ones.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

// Errors that Extract meets often are static or built lazily: it tries many candidates and discards
// their errors.
var (
	errEmpty       = errors.New("empty")
	errUTF8        = errors.New("invalid UTF-8")
	errEmptyLabel  = errors.New("empty label")
	errSingleLabel = errors.New("a single label is not a domain")
	errIsIP        = errors.New("is an IP address")
	errNoASPrefix  = errors.New("no AS prefix")
	errASN         = errors.New("want AS and a decimal number")
)

// reason is an error whose message is formatted only when read.
type reason struct {
	format string
	arg    any
}

func (r *reason) Error() string { return fmt.Sprintf(r.format, r.arg) }

func because(format string, arg any) error { return &reason{format, arg} }

// clip shortens s, an input or part of one, for an error message.
func clip(s string) string { return clipN(s, 64) }

// clipN shortens s to at most about n bytes, on a rune boundary.
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// invalid returns the error for raw, which is not a valid t. Reasons may quote the input again (an
// idna error does): they are clipped too.
func invalid(t Type, raw, why string) error {
	return fmt.Errorf("invalid %s %q: %s", t, clip(raw), clipN(why, 160))
}

func tooLong(t Type, raw string) error {
	return invalid(t, raw, fmt.Sprintf("too long (%d bytes; at most %d)", len(raw), maxCanonical(t)))
}
