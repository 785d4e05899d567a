package stix

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/omen-tip/omen/internal/intel"
)

// SCONamespace is the UUIDv5 namespace of STIX 2.1 deterministic SCO ids.
var SCONamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

// omenNamespace is the UUIDv5 namespace of the ids omen derives for its own STIX objects
// (indicators per observable, relationships, its identity).
var omenNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/omen-tip/omen"))

// omenID returns "<typ>--<UUIDv5 of name in omen's namespace>".
func omenID(typ, name string) string {
	return typ + "--" + uuid.NewSHA1(omenNamespace, []byte(name)).String()
}

// contributing lists the properties that make an SCO's deterministic id (formats.md 1.3).
var contributing = map[string][]string{
	"artifact": {"hashes", "payload_bin"}, "autonomous-system": {"number"}, "directory": {"path"},
	"domain-name": {"value"}, "email-addr": {"value"}, "ipv4-addr": {"value"}, "ipv6-addr": {"value"},
	"mac-addr": {"value"}, "url": {"value"}, "email-message": {"from_ref", "subject", "body"},
	"file": {"hashes", "name", "parent_directory_ref", "extensions"}, "mutex": {"name"},
	"network-traffic": {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"},
	"software":        {"name", "cpe", "swid", "vendor", "version"}, "user-account": {"account_type", "user_id", "account_login"},
	"windows-registry-key": {"key", "values"}, "x509-certificate": {"hashes", "serial_number"},
}

// hashOrder is the preference among hashes when "hashes" contributes to an id.
var hashOrder = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// SCOID returns the deterministic id of an SCO: "<type>--" + UUIDv5(SCONamespace, JCS of its
// contributing properties). Property values may be strings, integers, and maps or slices of
// those. ok is false when the type has no contributing property present (the spec then wants a
// random UUIDv4).
func SCOID(typ string, props map[string]any) (id string, ok bool) {
	c := map[string]any{}
	for _, p := range contributing[typ] {
		v, present := props[p]
		if !present {
			continue
		}
		if p == "hashes" {
			v = oneHash(v)
		}
		c[p] = v
	}
	if len(c) == 0 {
		return "", false
	}
	var b strings.Builder
	writeJCS(&b, c)
	return typ + "--" + uuid.NewSHA1(SCONamespace, []byte(b.String())).String(), true
}

// oneHash keeps the one hash the id uses: MD5, SHA-1, SHA-256, SHA-512 in that order, else the
// first key.
func oneHash(v any) any {
	hs, ok := v.(map[string]any)
	if !ok || len(hs) == 0 {
		return v
	}
	for _, k := range hashOrder {
		if h, ok := hs[k]; ok {
			return map[string]any{k: h}
		}
	}
	keys := make([]string, 0, len(hs))
	for k := range hs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return map[string]any{keys[0]: hs[keys[0]]}
}

// writeJCS writes v as RFC 8785 canonical JSON, for the value kinds SCO ids use: strings,
// integers, booleans, and maps and slices of them. Keys are sorted by UTF-16 code units.
func writeJCS(b *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		writeJCSString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJCS(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJCSString(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJCSString(b, k)
			b.WriteByte(':')
			writeJCS(b, x[k])
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		writeJCS(b, m)
	default:
		b.WriteString("null")
	}
}

// writeJCSString writes s as ECMAScript's JSON.stringify does.
func writeJCSString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// compareUTF16 orders strings by their UTF-16 code units, as JCS sorts keys.
func compareUTF16(a, b string) int {
	ua, ub := utf16Units(a), utf16Units(b)
	return slices.Compare(ua, ub)
}

func utf16Units(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// scoOf returns the SCO type and properties for an observable, and the pattern that matches it;
// ok is false for the types STIX has no observable for (ja3, cve).
func scoOf(ob intel.Observable) (typ string, props map[string]any, pattern string, ok bool) {
	v := ob.Value
	switch ob.Type {
	case intel.IPv4, intel.IPv6, intel.CIDR:
		typ = "ipv4-addr"
		if p, err := netip.ParsePrefix(v); err == nil && p.Addr().Is6() {
			typ = "ipv6-addr"
		} else if a, err := netip.ParseAddr(v); err == nil && a.Is6() {
			typ = "ipv6-addr"
		}
		return typ, map[string]any{"value": v}, "[" + typ + ":value = " + quote(v) + "]", true
	case intel.Domain:
		return "domain-name", map[string]any{"value": v}, "[domain-name:value = " + quote(v) + "]", true
	case intel.URL:
		return "url", map[string]any{"value": v}, "[url:value = " + quote(v) + "]", true
	case intel.Email:
		return "email-addr", map[string]any{"value": v}, "[email-addr:value = " + quote(v) + "]", true
	case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
		name := hashNames[ob.Type]
		path := name
		if strings.Contains(name, "-") {
			path = "'" + name + "'"
		}
		return "file", map[string]any{"hashes": map[string]any{name: v}}, "[file:hashes." + path + " = " + quote(v) + "]", true
	case intel.ASN:
		n, err := strconv.ParseInt(strings.TrimPrefix(v, "AS"), 10, 64)
		if err != nil {
			return "", nil, "", false
		}
		return "autonomous-system", map[string]any{"number": n}, "[autonomous-system:number = " + strconv.FormatInt(n, 10) + "]", true
	case intel.Account:
		return "user-account", map[string]any{"account_login": v}, "[user-account:account_login = " + quote(v) + "]", true
	}
	return "", nil, "", false
}

// hashNames are the STIX hash names of omen's hash types.
var hashNames = map[intel.Type]string{intel.MD5: "MD5", intel.SHA1: "SHA-1", intel.SHA256: "SHA-256", intel.SHA512: "SHA-512"}

// quote writes s as a STIX pattern string literal: single quotes, with ' and \ escaped.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// PatternFor returns the STIX pattern that matches exactly the observable ob, with its value
// escaped; ok is false for the types STIX has no observable for (ja3, cve).
func PatternFor(ob intel.Observable) (string, bool) {
	_, _, p, ok := scoOf(ob)
	return p, ok
}
