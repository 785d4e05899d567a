package respond

import (
	"io"
	"net/netip"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// External dynamic lists (PAN-OS EDL, Fortinet threat feeds, Check Point custom intelligence
// feeds): plain text, one value per line, one type per list, no comments (not every consumer
// accepts them), at most 255 bytes a line.

// edlMaxLine is PAN-OS's limit on a list line.
const edlMaxLine = 255

var plainIP = Format{
	Name:        "plain-ip",
	Description: "IPv4/IPv6 addresses and CIDR networks, one per line (PAN-OS, Fortinet, Check Point external lists)",
	Types:       []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR},
	Aggregate:   true,
	ContentType: "text/plain; charset=utf-8",
}

// plain-domain writes each domain twice, as "evil.example" and "*.evil.example": PAN-OS (and
// FortiGate) domain lists match a plain line exactly and need the wildcard line for subdomains,
// and a blocklisted domain's subdomains are as bad as the domain (the rpz format does the same).
// Each domain therefore takes two of the firewall's list entries.
var plainDomain = Format{
	Name:        "plain-domain",
	Description: "domains, one per line, each with a *.domain line for its subdomains (PAN-OS, Fortinet, Check Point external lists)",
	Types:       []intel.Type{intel.Domain},
	ContentType: "text/plain; charset=utf-8",
}

// plain-url writes URLs as PAN-OS URL lists want them: without the scheme, userinfo and port,
// host and path (and query) as in the URL ("evil.example/gate.php?id=1"). Lines over 255 bytes
// are left out (see [Unwritable]), as are URLs with "*" or "^", which PAN-OS reads as
// wildcards, URLs with white space or non-ASCII bytes, and schemes other than http and https.
var plainURL = Format{
	Name:        "plain-url",
	Description: "URLs without scheme, at most 255 bytes, one per line (PAN-OS, Fortinet, Check Point external lists)",
	Types:       []intel.Type{intel.URL},
	ContentType: "text/plain; charset=utf-8",
}

func init() {
	plainIP.Write = writePlainIP
	plainDomain.Write = writePlainDomain
	plainURL.Write = writePlainURL
	registerText(plainIP, checkIP)
	registerText(plainDomain, checkPlainDomain)
	registerText(plainURL, checkPlainURL)
}

func writePlainIP(w io.Writer, entries []Entry, _ WriteOptions) error {
	lw := newLineWriter(w, plainIP.Name)
	var buf []byte
	forEachIP(entries, &plainIP, nil, func(_ *Entry, p netip.Prefix) {
		if p.IsSingleIP() {
			buf = p.Addr().AppendTo(buf[:0])
		} else {
			buf = p.AppendTo(buf[:0])
		}
		buf = append(buf, '\n')
		lw.bw.Write(buf)
	})
	return lw.close()
}

func checkPlainDomain(e Entry) string {
	if !validDomain(e.Observable.Value) {
		return SkipInvalid
	}
	if len(e.Observable.Value)+2 > edlMaxLine {
		return SkipTooLong
	}
	return ""
}

func writePlainDomain(w io.Writer, entries []Entry, _ WriteOptions) error {
	lw := newLineWriter(w, plainDomain.Name)
	forEach(entries, &plainDomain, checkPlainDomain, func(e Entry) {
		lw.line(e.Observable.Value)
		lw.line("*.", e.Observable.Value)
	})
	return lw.close()
}

// edlURL returns u as a PAN-OS URL list line.
func edlURL(u string) (string, string) {
	scheme, host, _, rest, ok := urlParts(u)
	if !ok {
		return "", SkipInvalid
	}
	if scheme != "http" && scheme != "https" {
		return "", SkipType // URL filtering sees HTTP and TLS only
	}
	line := host + rest
	if !printable(line) || strings.ContainsAny(line, "*^") {
		return "", SkipSyntax
	}
	if len(line) > edlMaxLine {
		return "", SkipTooLong
	}
	return line, ""
}

func checkPlainURL(e Entry) string {
	_, why := edlURL(e.Observable.Value)
	return why
}

func writePlainURL(w io.Writer, entries []Entry, _ WriteOptions) error {
	lw := newLineWriter(w, plainURL.Name)
	seen := map[string]bool{}
	forEach(entries, &plainURL, checkPlainURL, func(e Entry) {
		line, _ := edlURL(e.Observable.Value)
		if seen[line] { // http:// and https:// of one URL give one line
			return
		}
		seen[line] = true
		lw.line(line)
	})
	return lw.close()
}
