package respond

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
)

// suricata-dataset is a directory (WriteDir): one load file per kind of value, and a rules file
// using them, for Suricata 7 or later:
//
//   - <name>-domains.lst: base64 of each domain (dataset type string), matched exactly (a dataset
//     is a set lookup: subdomains need suricata-rules or rpz) on dns.query, tls.sni and http.host;
//   - <name>-ip.lst: IPv4 and IPv6 addresses, dotted and RFC 5952 (dataset type ip, the one
//     type the ip.src and ip.dst buffers take for both families) on ip.src and ip.dst; networks
//     cannot be dataset members (use suricata-iprep or suricata-rules for those);
//   - <name>-md5.lst, <name>-sha1.lst, <name>-sha256.lst: lower-case hex, one per line, for the
//     filemd5, filesha1 and filesha256 keywords;
//   - <name>.rules: the rules, sids from [WriteOptions.SIDBase] + [SuricataSIDSpan] upwards in a fixed
//     order, only for the files written.
//
// A file is written only when it has values. Load the rules file with the .lst files beside it
// (datasets resolve "load" against the default rules directory).
var suricataDataset = Format{
	Name:        "suricata-dataset",
	Description: "Suricata 7+ dataset load files (base64 domains, IPv4, IPv6, file hashes) and the rules that use them (a directory)",
	Types:       []intel.Type{intel.Domain, intel.IPv4, intel.IPv6, intel.MD5, intel.SHA1, intel.SHA256},
	ContentType: "text/plain; charset=utf-8",
}

// suricata-rules writes one rule per indicator, sid = [WriteOptions.SIDBase] (default 9100000)
// plus a hash of the type and value modulo [SuricataSIDSpan], so a value keeps its sid from one
// export to the next (a collision takes the next free sid, in the written order). rev is 1.
//
//   - address or network: alert ip $HOME_NET any -> <value> any
//   - domain: alert dns on dns.query with dotprefix and content ".<domain>" endswith, which
//     matches the domain and all of its subdomains;
//   - URL (http and https; https only where TLS is decrypted): alert http on http.host equal to the
//     host and http.uri starting with the path and query.
//
// The msg is "omen [<export name>] <type> <value>: <description>", escaped, the value clipped to
// 96 bytes.
var suricataRules = Format{
	Name:        "suricata-rules",
	Description: "Suricata single-indicator rules (IP, DNS, HTTP) with stable sids in a private range",
	Types:       []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR, intel.Domain, intel.URL},
	Aggregate:   true,
	ContentType: "text/plain; charset=utf-8",
}

// suricata-iprep writes a Suricata IP reputation file: "<address or network>,<category>,<score>"
// lines, the score 1..127 scaled from omen's 0..100 score. The categories are fixed, so that one
// categories file ([SuricataIPRepCategories]) serves every export; the category comes from the
// entry's threat type.
var suricataIPRep = Format{
	Name:        "suricata-iprep",
	Description: "Suricata IP reputation file (address or network, category, score 1..127); categories in SuricataIPRepCategories",
	Types:       []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR},
	Aggregate:   true,
	ContentType: "text/plain; charset=utf-8",
}

// SuricataSIDSpan is the size of the sid range of suricata-rules, from [WriteOptions.SIDBase].
const SuricataSIDSpan = 800_000

// DefaultSIDBase is the first sid when [WriteOptions.SIDBase] is 0.
const DefaultSIDBase = 9_100_000

// SuricataIPRepCategories is the reputation-categories-file matching suricata-iprep.
const SuricataIPRepCategories = `1,CnC,Command and control
2,Botnet,Botnet member
3,Malware,Malware distribution
4,Phishing,Phishing
5,Scanner,Scanning or brute force
6,Spam,Spam source
7,Bad,Malicious (other)
`

// iprepCategory maps threat types to the ids of [SuricataIPRepCategories].
func iprepCategory(threat string) int {
	t := strings.ToLower(threat)
	switch {
	case t == "c2" || strings.Contains(t, "c2") || strings.Contains(t, "cnc") || strings.Contains(t, "command"):
		return 1
	case strings.Contains(t, "botnet") || strings.Contains(t, "bot"):
		return 2
	case strings.Contains(t, "malware") || strings.Contains(t, "payload") || strings.Contains(t, "download"):
		return 3
	case strings.Contains(t, "phish"):
		return 4
	case strings.Contains(t, "scan") || strings.Contains(t, "brute"):
		return 5
	case strings.Contains(t, "spam"):
		return 6
	}
	return 7
}

func init() {
	suricataDataset.WriteDir = writeSuricataDataset
	suricataRules.Write = writeSuricataRules
	suricataIPRep.Write = writeSuricataIPRep
	registerText(suricataDataset, checkSuricataDataset)
	registerText(suricataRules, checkSuricataRule)
	registerText(suricataIPRep, checkIP)
}

func sidBase(o WriteOptions) int {
	if o.SIDBase <= 0 {
		return DefaultSIDBase
	}
	return o.SIDBase
}

// msgPrefix starts rule messages: "omen", or "omen <name>" for another export name.
func msgPrefix(name string) string {
	name = oneLine(name)
	if name == "" || name == "omen" {
		return "omen"
	}
	return "omen " + name
}

// clipText shortens s to n bytes (on a rune boundary) with "...".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// ---- datasets

type datasetFile struct {
	suffix string     // file name after "<name>-"
	typ    intel.Type // its type (IPv4 stands for both address families)
}

var datasetFiles = []datasetFile{
	{"domains.lst", intel.Domain},
	{"ip.lst", intel.IPv4},
	{"md5.lst", intel.MD5},
	{"sha1.lst", intel.SHA1},
	{"sha256.lst", intel.SHA256},
}

// datasetKind returns the datasetFile type holding values of type t.
func datasetKind(t intel.Type) intel.Type {
	if t == intel.IPv6 {
		return intel.IPv4
	}
	return t
}

func checkSuricataDataset(e Entry) string {
	_, why := datasetLine(e)
	return why
}

// datasetLine returns e's line in its load file.
func datasetLine(e Entry) (string, string) {
	v := e.Observable.Value
	switch e.Observable.Type {
	case intel.Domain:
		if !validDomain(v) {
			return "", SkipInvalid
		}
		return base64.StdEncoding.EncodeToString([]byte(v)), ""
	case intel.IPv4, intel.IPv6:
		p, ok := entryPrefix(e)
		if !ok || !p.IsSingleIP() {
			return "", SkipInvalid
		}
		return p.Addr().String(), ""
	default:
		n := map[intel.Type]int{intel.MD5: 32, intel.SHA1: 40, intel.SHA256: 64}[e.Observable.Type]
		if len(v) != n || !isLowerHex(v) {
			return "", SkipInvalid
		}
		return v, ""
	}
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return s != ""
}

// datasetRules returns the rules using the load file f of the export named set.
func datasetRules(f datasetFile, set, file string, name string, sid *int) []string {
	var out []string
	rule := func(proto, msg, body string) {
		out = append(out, fmt.Sprintf(`alert %s any any -> any any (msg:"%s"; %s sid:%d; rev:1;)`, proto, ruleText(name+" "+msg), body, *sid))
		*sid++
	}
	switch f.typ {
	case intel.Domain:
		ds := fmt.Sprintf("dataset:isset,%s,type string,load %s,memcap 64mb,hashsize 65536;", set, file)
		rule("dns", "listed domain (DNS query)", "dns.query; "+ds)
		rule("tls", "listed domain (TLS SNI)", "tls.sni; "+ds)
		rule("http", "listed domain (HTTP host)", "http.host; "+ds)
	case intel.IPv4:
		ds := fmt.Sprintf("dataset:isset,%s,type ip,load %s,memcap 64mb,hashsize 65536;", set, file)
		rule("ip", "listed address (destination)", "ip.dst; "+ds)
		rule("ip", "listed address (source)", "ip.src; "+ds)
	case intel.MD5, intel.SHA1, intel.SHA256:
		kw := map[intel.Type]string{intel.MD5: "filemd5", intel.SHA1: "filesha1", intel.SHA256: "filesha256"}[f.typ]
		rule("http", "listed file "+string(f.typ), kw+":"+file+";")
	}
	return out
}

func writeSuricataDataset(dir string, entries []Entry, o WriteOptions) error {
	name := exportName(o)
	base := identifier(name, 48)
	lines := map[intel.Type][]string{}
	forEach(entries, &suricataDataset, checkSuricataDataset, func(e Entry) {
		l, _ := datasetLine(e)
		k := datasetKind(e.Observable.Type)
		lines[k] = append(lines[k], l)
	})
	sid := sidBase(o) + SuricataSIDSpan
	var rules []string
	for _, f := range datasetFiles {
		ls := lines[f.typ]
		if len(ls) == 0 {
			continue
		}
		file := base + "-" + f.suffix
		if err := writeLines(filepath.Join(dir, file), dedupe(ls)); err != nil {
			return err
		}
		set := base + "-" + strings.TrimSuffix(f.suffix, ".lst")
		rules = append(rules, datasetRules(f, set, file, msgPrefix(name), &sid)...)
	}
	return writeLines(filepath.Join(dir, base+".rules"), rules)
}

func dedupe(ls []string) []string {
	out := ls[:0:0]
	for i, l := range ls {
		if i > 0 && l == ls[i-1] {
			continue
		}
		out = append(out, l)
	}
	return out
}

// writeLines writes lines to path, each ended by a newline.
func writeLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing suricata-dataset: %w", err)
	}
	lw := newLineWriter(f, suricataDataset.Name)
	for _, l := range lines {
		lw.line(l)
	}
	err = lw.close()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing suricata-dataset: %w", cerr)
	}
	return err
}

// ---- single-indicator rules

// ruleText escapes s for a quoted rule option (msg): the characters Suricata reserves there
// (";", "\"", "\\") get a backslash; control characters become spaces.
func ruleText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ';', '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ruleContent writes s as a content pattern: printable ASCII as is, and the reserved characters
// (";", "\"", "\\", "|") and any other byte as |hex|.
func ruleContent(s string) string {
	var b strings.Builder
	hex := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && c != ';' && c != '"' && c != '\\' && c != '|' {
			if hex {
				b.WriteByte('|')
				hex = false
			}
			b.WriteByte(c)
			continue
		}
		if !hex {
			b.WriteByte('|')
			hex = true
		} else {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	if hex {
		b.WriteByte('|')
	}
	return b.String()
}

// ruleURL returns the host and path of a URL that an http rule can match.
func ruleURL(v string) (host, rest string, why string) {
	scheme, host, _, rest, ok := urlParts(v)
	if !ok {
		return "", "", SkipInvalid
	}
	if scheme != "http" && scheme != "https" {
		return "", "", SkipType
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if !printable(host) {
		return "", "", SkipSyntax
	}
	return host, rest, ""
}

func checkSuricataRule(e Entry) string {
	switch e.Observable.Type {
	case intel.Domain:
		if !validDomain(e.Observable.Value) {
			return SkipInvalid
		}
	case intel.URL:
		_, _, why := ruleURL(e.Observable.Value)
		return why
	default:
		return checkIP(e)
	}
	return ""
}

// ruleSID returns the preferred sid offset of o.
func ruleSID(o intel.Observable) int {
	h := fnv.New32a()
	h.Write([]byte(o.String()))
	return int(h.Sum32() % SuricataSIDSpan)
}

func writeSuricataRules(w io.Writer, entries []Entry, o WriteOptions) error {
	base := sidBase(o)
	name := oneLine(exportName(o))
	prefix := msgPrefix(name)
	lw := newLineWriter(w, suricataRules.Name)
	lw.line("# omen suricata rules ", strconv.Quote(name), " generated ", stamp(o.Generated))
	used := map[int]bool{}
	written := map[intel.Observable]bool{}
	forEach(entries, &suricataRules, checkSuricataRule, func(e Entry) {
		if written[e.Observable] {
			return
		}
		written[e.Observable] = true
		off := ruleSID(e.Observable)
		for n := 0; used[off] && n < SuricataSIDSpan; n++ {
			off = (off + 1) % SuricataSIDSpan
		}
		if used[off] {
			return // every sid of the range taken: more rules than the range holds
		}
		used[off] = true
		sid := base + off
		msg := ruleText(fmt.Sprintf("%s %s %s: %s", prefix, e.Observable.Type, clipText(e.Observable.Value, 96), e.Description()))
		switch e.Observable.Type {
		case intel.Domain:
			lw.printf("alert dns $HOME_NET any -> any any (msg:\"%s\"; dns.query; dotprefix; content:\"%s\"; nocase; endswith; classtype:trojan-activity; sid:%d; rev:1;)\n",
				msg, ruleContent("."+e.Observable.Value), sid)
		case intel.URL:
			host, rest, _ := ruleURL(e.Observable.Value)
			lw.printf("alert http $HOME_NET any -> any any (msg:\"%s\"; http.host; content:\"%s\"; nocase; startswith; endswith; http.uri; content:\"%s\"; startswith; classtype:trojan-activity; sid:%d; rev:1;)\n",
				msg, ruleContent(host), ruleContent(rest), sid)
		default:
			p, _ := entryPrefix(e)
			lw.printf("alert ip $HOME_NET any -> %s any (msg:\"%s\"; classtype:trojan-activity; sid:%d; rev:1;)\n",
				prefixText(p), msg, sid)
		}
	})
	return lw.close()
}

// ---- IP reputation

// iprepScore scales omen's 0..100 score to Suricata's 1..127.
func iprepScore(score int) int {
	s := int(math.Round(float64(score) * 127 / 100))
	return min(max(s, 1), 127)
}

func writeSuricataIPRep(w io.Writer, entries []Entry, _ WriteOptions) error {
	lw := newLineWriter(w, suricataIPRep.Name)
	seen := map[string]bool{}
	forEachIP(entries, &suricataIPRep, nil, func(e *Entry, p netip.Prefix) {
		v := prefixText(p)
		if seen[v] {
			return
		}
		seen[v] = true
		lw.printf("%s,%d,%d\n", v, iprepCategory(e.ThreatType), iprepScore(e.Score))
	})
	return lw.close()
}
