package assets

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
)

// ValueType is the type of one of an asset's values: an observable type of [intel] or one of the
// asset-only types [Hostname], [CPE] and [Keyword].
type ValueType string

// Value types. The observable ones have [intel]'s canonical forms.
const (
	IPv4               = ValueType(intel.IPv4)
	IPv6               = ValueType(intel.IPv6)
	CIDR               = ValueType(intel.CIDR)
	Domain             = ValueType(intel.Domain)
	Email              = ValueType(intel.Email)
	Account            = ValueType(intel.Account)
	Hostname ValueType = "hostname" // a host's single-label name ("fin-lt-0231"), lower case
	CPE      ValueType = "cpe"      // a CPE 2.3 formatted string, lower case
	Keyword  ValueType = "keyword"  // a brand name or keyword, lower case, single spaces
)

// Value is one typed value of an asset.
type Value struct {
	Type  ValueType `json:"type"`
	Value string    `json:"value"`
}

// Values returns a's values with their types. The type follows from the asset's kind and the
// value's shape: networks hold IPs and CIDRs; domains domains; hosts IPs, domains (fully qualified
// names) and host names; people emails (with '@') and accounts; technologies CPEs; brands domains
// and keywords.
func Values(a intel.Asset) []Value {
	out := make([]Value, 0, len(a.Values))
	for _, v := range a.Values {
		out = append(out, Value{valueType(a.Kind, v), v})
	}
	return out
}

func valueType(kind, v string) ValueType {
	switch kind {
	case KindNetwork, KindHost:
		if p, err := netip.ParsePrefix(v); err == nil && p.Bits() < p.Addr().BitLen() {
			return CIDR
		}
		if ip, err := netip.ParseAddr(v); err == nil {
			if ip.Is4() {
				return IPv4
			}
			return IPv6
		}
		if kind == KindHost && !strings.Contains(v, ".") {
			return Hostname
		}
		return Domain
	case KindDomain:
		return Domain
	case KindPerson:
		if strings.Contains(v, "@") {
			return Email
		}
		return Account
	case KindTechnology:
		return CPE
	}
	if strings.Contains(v, ".") && !strings.Contains(v, " ") {
		return Domain
	}
	return Keyword
}

// canonicalObservable normalises s as an observable of type t, and checks the result's type.
func canonicalObservable(t intel.Type, s string) (string, error) {
	o, err := intel.Normalize(t, s)
	if err != nil {
		return "", err
	}
	if o.Type != t {
		return "", fmt.Errorf("invalid %s %q: is an %s", t, clip(s), o.Type)
	}
	return o.Value, nil
}

// canonicalCIDR accepts a CIDR, an address/netmask or a single address (kept as the address).
func canonicalCIDR(s string) (string, error) {
	o, err := intel.Normalize(intel.CIDR, s)
	if err != nil {
		return "", err
	}
	return o.Value, nil
}

// canonicalDomain accepts a domain in [intel]'s canonical form, and also an internal name under a
// suffix that is not public ("corp.local", "ad.internal"), which an organisation's own inventory
// has and threat intelligence does not.
func canonicalDomain(s string) (string, error) {
	d, err := canonicalObservable(intel.Domain, s)
	if err != nil && strings.Contains(err.Error(), "unknown public suffix") {
		if n, ok := internalName(s); ok {
			return n, nil
		}
	}
	return d, err
}

// internalName checks a lower-case ASCII name of at least two host-name labels, not an address.
func internalName(s string) (string, bool) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if !strings.Contains(n, ".") || len(n) > 253 {
		return "", false
	}
	if _, err := netip.ParseAddr(n); err == nil || allDigits(n[strings.LastIndexByte(n, '.')+1:]) {
		return "", false // an address, or something like one: no top-level label is numeric
	}
	for l := range strings.SplitSeq(n, ".") {
		if !validLabel(l) {
			return "", false
		}
	}
	return n, true
}

// canonicalEmail accepts an email in [intel]'s canonical form, also at an internal domain.
func canonicalEmail(s string) (string, error) {
	e, err := canonicalObservable(intel.Email, s)
	if err == nil || !strings.Contains(err.Error(), "unknown public suffix") {
		return e, err
	}
	t := strings.TrimSpace(s)
	k := strings.LastIndexByte(t, '@')
	dom, ok := internalName(t[k+1:])
	if !ok {
		return "", err
	}
	local, lerr := canonicalObservable(intel.Email, t[:k]+"@example.com") // checks the local part
	if lerr != nil {
		return "", err
	}
	return strings.TrimSuffix(local, "example.com") + dom, nil
}

func canonicalAccount(s string) (string, error) { return canonicalObservable(intel.Account, s) }

// canonicalIP accepts an IPv4 or IPv6 address.
func canonicalIP(s string) (string, error) {
	t := intel.IPv4
	if strings.Contains(s, ":") {
		t = intel.IPv6
	}
	o, err := intel.Normalize(t, s)
	if err != nil {
		return "", err
	}
	return o.Value, nil // an IPv4-mapped IPv6 address comes back as IPv4
}

// canonicalHostname accepts a fully qualified name (a domain) or a single-label host name.
func canonicalHostname(s string) (string, error) {
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if _, err := netip.ParseAddr(t); err == nil {
		return "", fmt.Errorf("host name %q is an IP address: put it in ips", clip(s))
	}
	if strings.Contains(t, ".") {
		return canonicalDomain(s)
	}
	if !validLabel(t) {
		return "", fmt.Errorf("invalid host name %q: want letters, digits, '-' and '_', at most 63", clip(s))
	}
	return t, nil
}

// validLabel reports whether s is a host-name label (underscores allowed, as Windows names have
// them).
func validLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// canonicalHostValue reads a host's value as an IP address (anything of digits and dots, or with
// a colon) or a host name.
func canonicalHostValue(s string) (string, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, ":") || allDigits(strings.ReplaceAll(t, ".", "")) {
		return canonicalIP(s)
	}
	return canonicalHostname(s)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalPersonValue reads a person's value as an email (with '@') or a user name.
func canonicalPersonValue(s string) (string, error) {
	if strings.Contains(s, "@") {
		return canonicalEmail(s)
	}
	return canonicalAccount(s)
}

// canonicalKeyword lower-cases a brand keyword and collapses its white space.
func canonicalKeyword(s string) (string, error) {
	k := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	switch {
	case !utf8.ValidString(k):
		return "", fmt.Errorf("invalid keyword %q: invalid UTF-8", clip(s))
	case len(k) < 2 || len(k) > 128:
		return "", fmt.Errorf("invalid keyword %q: want 2 to 128 bytes", clip(s))
	case strings.IndexFunc(k, unicode.IsControl) >= 0:
		return "", fmt.Errorf("invalid keyword %q: control character", clip(s))
	}
	return k, nil
}

// canonicalBrandValue reads a brand's value as a domain.
func canonicalBrandValue(s string) (string, error) { return canonicalDomain(s) }

// CanonicalCPE checks that s is a CPE 2.3 formatted string ("cpe:2.3:a:vendor:product:version:
// update:edition:language:sw_edition:target_sw:target_hw:other", 13 components, part a, o or h)
// and returns it in lower case. CPE 2.2 URIs ("cpe:/a:...") are refused with a hint.
func CanonicalCPE(s string) (string, error) {
	c := strings.TrimSpace(s)
	lc := strings.ToLower(c)
	if strings.HasPrefix(lc, "cpe:/") {
		return "", fmt.Errorf("invalid cpe %q: a CPE 2.2 URI; want a CPE 2.3 formatted string (cpe:2.3:...)", clip(s))
	}
	if !strings.HasPrefix(lc, "cpe:2.3:") {
		return "", fmt.Errorf("invalid cpe %q: want a CPE 2.3 formatted string (cpe:2.3:part:vendor:product:...)", clip(s))
	}
	parts := cpeParts(lc)
	if len(parts) != 13 {
		return "", fmt.Errorf("invalid cpe %q: %d components, want 13", clip(s), len(parts))
	}
	if p := parts[2]; p != "a" && p != "o" && p != "h" && p != "*" {
		return "", fmt.Errorf("invalid cpe %q: part %q, want a, o or h", clip(s), p)
	}
	for i, p := range parts[3:] {
		if err := validCPEComponent(p); err != nil {
			return "", fmt.Errorf("invalid cpe %q: component %d: %w", clip(s), i+4, err)
		}
	}
	return lc, nil
}

// validCPEComponent checks one attribute value of a formatted string: "*", "-", or characters that
// are letters, digits, '_', '-', '.', a '\'-quoted printable character, or '*' and '?' wildcards.
func validCPEComponent(p string) error {
	if p == "" {
		return errors.New("empty")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) || p[i+1] <= ' ' || p[i+1] > '~' {
				return errors.New("a '\\' must quote a printable character")
			}
			i++
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-', c == '.', c == '*', c == '?':
		default:
			return fmt.Errorf("character %q must be quoted with '\\'", rune(c))
		}
	}
	return nil
}

// cpeParts splits a formatted string on the colons that are not quoted.
func cpeParts(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ':':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// MakeCPE builds a CPE 2.3 formatted string from a part ("a", "o" or "h") and the vendor, product
// and version as people write them: lower case, spaces as '_', other punctuation quoted. An empty
// version is "*" (any).
func MakeCPE(part, vendor, product, version string) string {
	return strings.Join([]string{"cpe", "2.3", part, quoteCPE(vendor), quoteCPE(product), quoteCPE(version),
		"*", "*", "*", "*", "*", "*", "*"}, ":")
}

func quoteCPE(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), "_"))
	if s == "" {
		return "*"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		case r > ' ' && r <= '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteByte('_') // non-ASCII has no place in a CPE
		}
	}
	return b.String()
}

// unescapeCPE removes the quoting of a component.
func unescapeCPE(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
