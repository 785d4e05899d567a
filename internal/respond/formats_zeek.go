package respond

import (
	"io"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// zeek-intel writes a Zeek Intel framework file: TAB-separated, the first line exactly
// "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url", "-" for an empty field.
// Types: addresses Intel::ADDR, networks Intel::SUBNET, domains Intel::DOMAIN, URLs Intel::URL
// without scheme and userinfo (Zeek matches "host[:port]/path"), hashes Intel::FILE_HASH, e-mail
// addresses Intel::EMAIL, accounts Intel::USER_NAME. meta.source is the export name, meta.desc
// the entry's description with tabs and line breaks turned into spaces; meta.url is "-".
var zeekIntel = Format{
	Name:        "zeek-intel",
	Description: "Zeek Intel framework file (TAB-separated; ADDR, SUBNET, DOMAIN, URL, FILE_HASH, EMAIL, USER_NAME)",
	Types: []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR, intel.Domain, intel.URL,
		intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512, intel.Email, intel.Account},
	Aggregate:   true,
	ContentType: "text/plain; charset=utf-8",
}

// ZeekIntelHeader is the first line of a zeek-intel file (without its newline).
const ZeekIntelHeader = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url"

func init() {
	zeekIntel.Write = writeZeekIntel
	registerText(zeekIntel, checkZeek)
}

// zeekIndicator returns e's indicator and indicator_type, or why it has none.
func zeekIndicator(e Entry) (string, string, string) {
	v := e.Observable.Value
	switch t := e.Observable.Type; {
	case t.IsIP():
		p, ok := entryPrefix(e)
		if !ok {
			return "", "", SkipInvalid
		}
		if p.IsSingleIP() {
			return p.Addr().String(), "Intel::ADDR", ""
		}
		return p.String(), "Intel::SUBNET", ""
	case t == intel.Domain:
		if !validDomain(v) {
			return "", "", SkipInvalid
		}
		return v, "Intel::DOMAIN", ""
	case t == intel.URL:
		_, host, port, rest, ok := urlParts(v)
		if !ok {
			return "", "", SkipInvalid
		}
		if port != "" {
			host += ":" + port
		}
		v = host + rest
		if !printable(v) {
			return "", "", SkipSyntax
		}
		return v, "Intel::URL", ""
	case t.IsHash():
		if !isLowerHex(v) {
			return "", "", SkipInvalid
		}
		return v, "Intel::FILE_HASH", ""
	case t == intel.Email:
		if !printable(v) || !strings.Contains(v, "@") {
			return "", "", SkipInvalid
		}
		return v, "Intel::EMAIL", ""
	case t == intel.Account:
		if !zeekField(v) {
			return "", "", SkipSyntax
		}
		return v, "Intel::USER_NAME", ""
	}
	return "", "", SkipType
}

// zeekField reports whether s can be a Zeek field as it is: not empty, not "-" (the unset
// marker), without tabs, line breaks or other control characters.
func zeekField(s string) bool {
	if s == "" || s == "-" || s == "(empty)" {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

func checkZeek(e Entry) string {
	_, _, why := zeekIndicator(e)
	return why
}

// zeekMeta returns s as a meta field: one line without tabs, "-" when empty.
func zeekMeta(s string) string {
	s = oneLine(s)
	if s == "" || s == "(empty)" {
		return "-"
	}
	return s
}

func writeZeekIntel(w io.Writer, entries []Entry, o WriteOptions) error {
	lw := newLineWriter(w, zeekIntel.Name)
	lw.line(ZeekIntelHeader)
	source := zeekMeta(exportName(o))
	seen := map[[2]string]bool{}
	forEach(entries, &zeekIntel, checkZeek, func(e Entry) {
		ind, typ, _ := zeekIndicator(e)
		k := [2]string{ind, typ}
		if seen[k] { // Zeek keeps one item per indicator and type and source
			return
		}
		seen[k] = true
		lw.line(ind, "\t", typ, "\t", source, "\t", zeekMeta(e.Description()), "\t-")
	})
	return lw.close()
}
