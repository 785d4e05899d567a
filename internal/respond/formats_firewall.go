package respond

import (
	"io"
	"net/netip"
	"strconv"

	"github.com/omen-tip/omen/internal/intel"
)

// nftables writes an "nft -f" script that replaces table "inet <name>" atomically (one
// transaction: create if missing, delete, define): interval sets bad4 (ipv4_addr) and bad6
// (ipv6_addr) with auto-merge, and a forward chain dropping traffic to and from them.
var nftables = Format{
	Name:        "nftables",
	Description: "nftables script: table inet <name> with ipv4 and ipv6 interval sets and a forward drop chain (nft -f)",
	Types:       []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR},
	Aggregate:   true,
	ContentType: "text/plain; charset=utf-8",
}

// ipset writes an "ipset restore" script: sets <name>-bad4 (hash:net family inet) and <name>-bad6
// (hash:net family inet6), filled through temporary sets swapped in, so the live sets never
// appear empty. Networks of prefix length 0 are left out (hash:net cannot hold them).
var ipset = Format{
	Name:        "ipset",
	Description: "ipset restore script: hash:net sets for IPv4 and IPv6, refilled atomically by swap",
	Types:       []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR},
	Aggregate:   true,
	ContentType: "text/plain; charset=utf-8",
}

func init() {
	nftables.Write = writeNftables
	ipset.Write = writeIPSet
	registerText(nftables, checkIP)
	registerText(ipset, checkIPSet)
}

// splitFamilies returns the distinct prefixes of entries, IPv4 and IPv6, in sorted order.
func splitFamilies(entries []Entry, f *Format, keep func(netip.Prefix) bool) (v4, v6 []netip.Prefix) {
	seen := map[netip.Prefix]bool{}
	forEachIP(entries, f, keep, func(_ *Entry, p netip.Prefix) {
		if seen[p] {
			return
		}
		seen[p] = true
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	})
	return v4, v6
}

func writeNftables(w io.Writer, entries []Entry, o WriteOptions) error {
	table := identifier(exportName(o), 64)
	v4, v6 := splitFamilies(entries, &nftables, nil)
	lw := newLineWriter(w, nftables.Name)
	lw.line("#!/usr/sbin/nft -f")
	lw.line("# omen blocklist ", strconv.Quote(oneLine(exportName(o))), " generated ", stamp(o.Generated))
	lw.line("table inet ", table)
	lw.line("delete table inet ", table)
	lw.line("table inet ", table, " {")
	set := func(name, typ string, ps []netip.Prefix) {
		lw.line("\tset ", name, " {")
		lw.line("\t\ttype ", typ)
		lw.line("\t\tflags interval")
		lw.line("\t\tauto-merge")
		if len(ps) > 0 {
			lw.line("\t\telements = {")
			for i, p := range ps {
				sep := ","
				if i == len(ps)-1 {
					sep = ""
				}
				lw.line("\t\t\t", prefixText(p), sep)
			}
			lw.line("\t\t}")
		}
		lw.line("\t}")
	}
	set("bad4", "ipv4_addr", v4)
	set("bad6", "ipv6_addr", v6)
	lw.line("\tchain fwd {")
	lw.line("\t\ttype filter hook forward priority 0; policy accept;")
	lw.line("\t\tip daddr @bad4 counter drop")
	lw.line("\t\tip saddr @bad4 counter drop")
	lw.line("\t\tip6 daddr @bad6 counter drop")
	lw.line("\t\tip6 saddr @bad6 counter drop")
	lw.line("\t}")
	lw.line("}")
	return lw.close()
}

func checkIPSet(e Entry) string {
	p, ok := entryPrefix(e)
	if !ok {
		return SkipInvalid
	}
	if p.Bits() == 0 {
		return SkipSyntax
	}
	return ""
}

// ipsetMaxElem is the maxelem of the sets: fixed, since "create -exist" fails when an existing
// set was created with other parameters; larger only when a list needs it.
const ipsetMaxElem = 262144

func writeIPSet(w io.Writer, entries []Entry, o WriteOptions) error {
	// Set names are at most 31 bytes: the longest suffix is "-bad4-tmp".
	base := identifier(exportName(o), 31-len("-bad4-tmp"))
	v4, v6 := splitFamilies(entries, &ipset, func(p netip.Prefix) bool { return p.Bits() > 0 })
	lw := newLineWriter(w, ipset.Name)
	lw.line("# omen blocklist ", strconv.Quote(oneLine(exportName(o))), " generated ", stamp(o.Generated))
	lw.line("# ipset restore < this file; then e.g. iptables -I FORWARD -m set --match-set ", base, "-bad4 dst -j DROP")
	fill := func(set, family string, ps []netip.Prefix) {
		maxElem := ipsetMaxElem
		for maxElem < len(ps) {
			maxElem *= 2
		}
		params := " hash:net family " + family + " hashsize 4096 maxelem " + strconv.Itoa(maxElem)
		lw.line("create ", set, params, " -exist")
		lw.line("create ", set, "-tmp", params, " -exist")
		lw.line("flush ", set, "-tmp")
		for _, p := range ps {
			lw.line("add ", set, "-tmp ", prefixText(p), " -exist")
		}
		lw.line("swap ", set, "-tmp ", set)
		lw.line("destroy ", set, "-tmp")
	}
	fill(base+"-bad4", "inet", v4)
	fill(base+"-bad6", "inet6", v6)
	return lw.close()
}
