package respond

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// rpz writes a DNS Response Policy Zone (BIND, Unbound, Knot Resolver, PowerDNS Recursor): an
// ordinary master file with $ORIGIN, an SOA whose serial is [RPZOptions.Serial] (default the
// generation time in Unix seconds, so every regeneration bumps it), an NS, and for each domain
// "name CNAME ." plus "*.name CNAME ." (NXDOMAIN for the name and every subdomain). With
// [RPZOptions.CNAME] set, both answer with that walled-garden host instead. Addresses and
// networks become rpz-ip (response IP) triggers: the prefix length, then the IPv4 octets
// reversed ("32.7.100.51.198.rpz-ip"), or the IPv6 16-bit groups reversed with "zz" for the
// longest run of zero groups ("48.zz.bad.db8.2001.rpz-ip").
var rpz = Format{
	Name:        "rpz",
	Description: "DNS Response Policy Zone: NXDOMAIN (or a walled-garden CNAME) for domains and their subdomains, rpz-ip triggers for addresses",
	Types:       []intel.Type{intel.Domain, intel.IPv4, intel.IPv6, intel.CIDR},
	Aggregate:   true,
	ContentType: "text/dns; charset=utf-8",
}

// DefaultRPZOrigin is the zone name when [RPZOptions.Origin] is empty.
const DefaultRPZOrigin = "rpz.omen.local."

func init() {
	rpz.Write = writeRPZ
	registerText(rpz, func(e Entry) string { return checkRPZ(e, DefaultRPZOrigin) })
}

// rpzOrigin returns the zone name, fully qualified and lower case.
func rpzOrigin(o WriteOptions) (string, error) {
	origin := strings.ToLower(strings.TrimSpace(o.RPZ.Origin))
	if origin == "" {
		return DefaultRPZOrigin, nil
	}
	if !strings.HasSuffix(origin, ".") {
		origin += "."
	}
	if !validDomain(strings.TrimSuffix(origin, ".")) {
		return "", fmt.Errorf("writing rpz: invalid origin %q", o.RPZ.Origin)
	}
	return origin, nil
}

// rpzAction returns the RDATA of the policy: "." (NXDOMAIN) or the walled-garden host.
func rpzAction(o WriteOptions) (string, error) {
	c := strings.ToLower(strings.TrimSpace(o.RPZ.CNAME))
	if c == "" {
		return ".", nil
	}
	c = strings.TrimSuffix(c, ".")
	if !validDomain(c) {
		return "", fmt.Errorf("writing rpz: invalid walled-garden CNAME %q", o.RPZ.CNAME)
	}
	return c + ".", nil
}

// rpzOwner returns the owner name of e's trigger relative to the origin, or why there is none.
func rpzOwner(e Entry) (string, string) {
	if e.Observable.Type == intel.Domain {
		if !validDomain(e.Observable.Value) {
			return "", SkipInvalid
		}
		// The rpz-* top-level labels are triggers (rpz-ip, rpz-nsdname, ...), never names.
		if last := e.Observable.Value[strings.LastIndexByte(e.Observable.Value, '.')+1:]; strings.HasPrefix(last, "rpz-") {
			return "", SkipSyntax
		}
		return e.Observable.Value, ""
	}
	p, ok := entryPrefix(e)
	if !ok {
		return "", SkipInvalid
	}
	return rpzIPOwner(p), ""
}

// rpzIPOwner returns the rpz-ip owner name of p.
func rpzIPOwner(p netip.Prefix) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(p.Bits()))
	a := p.Addr()
	if a.Is4() {
		o := a.As4()
		for i := 3; i >= 0; i-- {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(int(o[i])))
		}
	} else {
		x := a.As16()
		var g [8]uint16
		for i := range g {
			g[i] = uint16(x[2*i])<<8 | uint16(x[2*i+1])
		}
		// The longest run of two or more zero groups (the first of equals), as RFC 5952's "::".
		zs, zl := -1, 1
		for i := 0; i < 8; {
			if g[i] != 0 {
				i++
				continue
			}
			j := i
			for j < 8 && g[j] == 0 {
				j++
			}
			if j-i > zl {
				zs, zl = i, j-i
			}
			i = j
		}
		for i := 7; i >= 0; i-- {
			if zs >= 0 && i >= zs && i < zs+zl {
				if i == zs {
					b.WriteString(".zz")
				}
				continue
			}
			b.WriteByte('.')
			b.WriteString(strconv.FormatUint(uint64(g[i]), 16))
		}
	}
	b.WriteString(".rpz-ip")
	return b.String()
}

// checkRPZ says why e has no trigger in a zone named origin: the absolute wildcard name must fit
// DNS's 255-byte limit (253 characters of text).
func checkRPZ(e Entry, origin string) string {
	owner, why := rpzOwner(e)
	if why != "" {
		return why
	}
	if len("*.")+len(owner)+1+len(origin) > 254 {
		return SkipTooLong
	}
	return ""
}

func writeRPZ(w io.Writer, entries []Entry, o WriteOptions) error {
	origin, err := rpzOrigin(o)
	if err != nil {
		return err
	}
	action, err := rpzAction(o)
	if err != nil {
		return err
	}
	serial := o.RPZ.Serial
	if serial == 0 && !o.Generated.IsZero() && o.Generated.Unix() > 0 {
		serial = uint32(o.Generated.Unix())
	}
	if serial == 0 {
		serial = 1
	}
	lw := newLineWriter(w, rpz.Name)
	lw.line("; omen response policy zone ", strconv.Quote(oneLine(exportName(o))), " generated ", stamp(o.Generated))
	lw.line("$ORIGIN ", origin)
	lw.line("$TTL 300")
	lw.printf("@ IN SOA localhost. hostmaster.%s %d 3600 600 432000 60\n", origin, serial)
	lw.line("@ IN NS localhost.")
	check := func(e Entry) string { return checkRPZ(e, origin) }
	seen := map[string]bool{}
	forEach(entries, &rpz, check, func(e Entry) {
		owner, _ := rpzOwner(e)
		if seen[owner] {
			return
		}
		seen[owner] = true
		lw.line(owner, " CNAME ", action)
		if e.Observable.Type == intel.Domain {
			lw.line("*.", owner, " CNAME ", action)
		}
	})
	return lw.close()
}
