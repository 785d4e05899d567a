package respond

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Reasons [Unwritable] gives for an entry a format leaves out.
const (
	SkipType    = "type"     // the format cannot carry the entry's type
	SkipInvalid = "invalid"  // the value is not a valid value of its type (never from the store)
	SkipTooLong = "too-long" // the value exceeds the format's line or name limit
	SkipSyntax  = "syntax"   // the value has characters the format cannot express
)

var (
	checksMu sync.RWMutex
	checks   = map[string]func(Entry) string{}
)

// registerText registers f with check, which says why f leaves an entry out ("" when it writes
// it); Write (or WriteDir) must skip exactly the entries check rejects.
func registerText(f Format, check func(Entry) string) {
	Register(f)
	checksMu.Lock()
	checks[f.Name] = check
	checksMu.Unlock()
}

// Unwritable says why the format named format leaves e out of its output: one of [SkipType],
// [SkipInvalid], [SkipTooLong] or [SkipSyntax], or "" when the format writes it. The pipeline may
// use it to count what a format drops (plain-url drops URLs over 255 bytes, wazuh-cdb drops IPv6
// networks, ...). Formats without a check (and unknown names) drop nothing but other types.
func Unwritable(format string, e Entry) string {
	f, ok := Lookup(format)
	if !ok {
		return ""
	}
	if !f.Accepts(e.Observable.Type) {
		return SkipType
	}
	checksMu.RLock()
	c := checks[format]
	checksMu.RUnlock()
	if c == nil {
		return ""
	}
	return c(e)
}

// typeRank orders types in outputs: addresses and networks, names, URLs, then the rest.
func typeRank(t intel.Type) int {
	if t.IsIP() {
		return 0 // addresses and networks sort together, by address
	}
	if i := slices.Index(intel.Types, t); i >= 0 {
		return i
	}
	return len(intel.Types)
}

// item is an entry in output order, with its address or network parsed once.
type item struct {
	e      *Entry
	prefix netip.Prefix
	isIP   bool // prefix is valid
	rank   int32
	idx    int32
}

// sortedItems returns entries in a content-only order: by type, then addresses and networks
// numerically, other values bytewise (entries of one observable keep their order). Every format
// writes in this order, so an unchanged set gives byte-identical output whatever order the
// pipeline ranked it in. Entries already in that order (as [Collect] returns them) are not
// sorted again.
func sortedItems(entries []Entry) []item {
	items := make([]item, len(entries))
	for i := range entries {
		p, ok := entryPrefix(entries[i])
		items[i] = item{e: &entries[i], prefix: p, isIP: ok, rank: int32(typeRank(entries[i].Observable.Type)), idx: int32(i)}
	}
	if !slices.IsSortedFunc(items, compareItems) {
		slices.SortFunc(items, compareItems)
	}
	return items
}

func compareItems(a, b item) int {
	if c := cmp.Compare(a.rank, b.rank); c != 0 {
		return c
	}
	if a.isIP && b.isIP {
		if c := comparePrefix(a.prefix, b.prefix); c != 0 {
			return c
		}
	}
	if c := strings.Compare(a.e.Observable.Value, b.e.Observable.Value); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

// sortCanonical puts entries in the order every format writes them (see [sortedItems]).
func sortCanonical(entries []Entry) {
	items := sortedItems(entries)
	moved := false
	for i := range items {
		if items[i].idx != int32(i) {
			moved = true
			break
		}
	}
	if !moved {
		return
	}
	out := make([]Entry, len(entries))
	for i, it := range items {
		out[i] = *it.e
	}
	copy(entries, out)
}

// comparePrefix orders IPv4 before IPv6, then by address, then shorter prefixes first.
func comparePrefix(a, b netip.Prefix) int {
	if a.Addr().Is4() != b.Addr().Is4() {
		if a.Addr().Is4() {
			return -1
		}
		return 1
	}
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// entryPrefix returns an IP entry as a masked prefix (a /32 or /128 for an address). It fails for
// non-IP types, invalid values and IPv4-mapped IPv6 values (never canonical).
func entryPrefix(e Entry) (netip.Prefix, bool) {
	switch e.pfxState {
	case pfxValid:
		return e.pfx, true
	case pfxInvalid:
		return netip.Prefix{}, false
	}
	return parseEntryPrefix(e.Observable)
}

func (e *Entry) setPrefix(p netip.Prefix, ok bool) {
	if ok {
		e.pfx, e.pfxState = p, pfxValid
	} else {
		e.pfx, e.pfxState = netip.Prefix{}, pfxInvalid
	}
}

func parseEntryPrefix(o intel.Observable) (netip.Prefix, bool) {
	if !o.Type.IsIP() {
		return netip.Prefix{}, false
	}
	v := o.Value
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Is4In6() || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// prefixText writes p as an address when it is a single address, else as a network.
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// checkIP is the check of formats that take any valid address or network.
func checkIP(e Entry) string {
	if _, ok := entryPrefix(e); !ok {
		return SkipInvalid
	}
	return ""
}

// validDomain reports whether s is a DNS name omen could have produced: 1..253 bytes of labels of
// a-z, 0-9, "-" and "_", 1..63 bytes each, not starting with "-", with at least two labels.
func validDomain(s string) bool {
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// urlParts splits a canonical URL into scheme, host (without userinfo and port), port ("" when
// none) and the rest (path and query, at least "/"). ok is false for values that are not URLs.
func urlParts(u string) (scheme, host, port, rest string, ok bool) {
	scheme, after, found := strings.Cut(u, "://")
	if !found || scheme == "" || after == "" {
		return "", "", "", "", false
	}
	authority, path := after, "/"
	if i := strings.IndexAny(after, "/?#"); i >= 0 {
		authority, path = after[:i], after[i:]
		if path[0] != '/' {
			path = "/" + path
		}
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host = authority
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", "", "", "", false
		}
		host = authority[:end+1]
		if p, has := strings.CutPrefix(authority[end+1:], ":"); has {
			port = p
		}
	} else if h, p, has := strings.Cut(authority, ":"); has {
		host, port = h, p
	}
	if host == "" {
		return "", "", "", "", false
	}
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	return strings.ToLower(scheme), host, port, path, true
}

// printable reports whether s is non-empty printable ASCII without white space.
func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// oneLine returns s with control characters (tabs and line breaks included) and invalid UTF-8
// replaced by spaces, runs of spaces collapsed and the ends trimmed: safe for a one-line field.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, " ") {
		if r < ' ' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			r = ' '
		}
		if r == ' ' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// exportName returns o.Name, or "omen" when it is empty.
func exportName(o WriteOptions) string {
	if o.Name == "" {
		return "omen"
	}
	return o.Name
}

// identifier returns s reduced to [A-Za-z0-9_-] (others become "_"), starting with a letter, at
// most max bytes: a safe set, table or file name.
func identifier(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			if b.Len() == 0 && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				b.WriteString("o")
			}
			b.WriteByte(c)
		default:
			if b.Len() == 0 {
				b.WriteString("o")
			}
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "omen"
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// stamp formats t as RFC 3339 in UTC, or "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// lineWriter writes the lines of one format to a buffered writer and names the format in errors.
type lineWriter struct {
	format string
	bw     *bufio.Writer
}

func newLineWriter(w io.Writer, format string) *lineWriter {
	return &lineWriter{format: format, bw: bufio.NewWriterSize(w, 64<<10)}
}

// line writes the parts and a newline; write errors surface in close.
func (l *lineWriter) line(parts ...string) {
	for _, p := range parts {
		l.bw.WriteString(p)
	}
	l.bw.WriteByte('\n')
}

func (l *lineWriter) printf(format string, args ...any) { fmt.Fprintf(l.bw, format, args...) }

func (l *lineWriter) close() error {
	if err := l.bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", l.format, err)
	}
	return nil
}

// forEach calls fn for each entry f carries and check accepts, in [sortedItems] order.
func forEach(entries []Entry, f *Format, check func(Entry) string, fn func(Entry)) {
	for _, it := range sortedItems(entries) {
		if !f.Accepts(it.e.Observable.Type) {
			continue
		}
		if check != nil && check(*it.e) != "" {
			continue
		}
		fn(*it.e)
	}
}

// forEachIP calls fn for each valid address or network entry f carries (and keep accepts, when
// not nil), in [sortedItems] order, with the entry's prefix.
func forEachIP(entries []Entry, f *Format, keep func(netip.Prefix) bool, fn func(e *Entry, p netip.Prefix)) {
	for _, it := range sortedItems(entries) {
		if !it.isIP || !f.Accepts(it.e.Observable.Type) || (keep != nil && !keep(it.prefix)) {
			continue
		}
		fn(it.e, it.prefix)
	}
}
