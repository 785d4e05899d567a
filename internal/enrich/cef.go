package enrich

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/jsonw"
)

// CEF (ArcSight Common Event Format) lines look like
//
//	[syslog prefix ]CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
//
// In the header, "\|" and "\\" are escapes. The extension is space-separated key=value pairs; a
// value runs to the space before the next key=, and "\=", "\\", "\n" and "\r" are escapes in it.
// The decoder turns a line into an ECS JSON object (Event.Raw) and extracts fields from that.

// cefKeys maps CEF extension keys, short and full names, to the ECS field they fill. Keys not here
// go to cef.extensions.<key> as written.
var cefKeys = map[string]string{
	"src": "source.ip", "sourceAddress": "source.ip",
	"dst": "destination.ip", "destinationAddress": "destination.ip",
	"sourceTranslatedAddress":      "source.nat.ip",
	"destinationTranslatedAddress": "destination.nat.ip",
	"spt":                          "source.port", "sourcePort": "source.port",
	"dpt": "destination.port", "destinationPort": "destination.port",
	"sourceTranslatedPort":      "source.nat.port",
	"destinationTranslatedPort": "destination.nat.port",
	"shost":                     "source.domain", "sourceHostName": "source.domain",
	"dhost": "destination.domain", "destinationHostName": "destination.domain",
	"smac": "source.mac", "sourceMacAddress": "source.mac",
	"dmac": "destination.mac", "destinationMacAddress": "destination.mac",
	"suser": "source.user.name", "sourceUserName": "source.user.name",
	"duser": "destination.user.name", "destinationUserName": "destination.user.name",
	"suid": "source.user.id", "sourceUserId": "source.user.id",
	"duid": "destination.user.id", "destinationUserId": "destination.user.id",
	"request": "url.original", "requestUrl": "url.original",
	"requestMethod":            "http.request.method",
	"requestContext":           "http.request.referrer",
	"requestClientApplication": "user_agent.original",
	"fname":                    "file.name", "fileName": "file.name",
	"filePath": "file.path",
	"fsize":    "file.size", "fileSize": "file.size",
	"fileHash": "file.hash",
	"act":      "event.action", "deviceAction": "event.action",
	"outcome": "event.outcome", "eventOutcome": "event.outcome",
	"rt": "@timestamp", "deviceReceiptTime": "@timestamp",
	"end": "event.end", "endTime": "event.end",
	"start": "event.start", "startTime": "event.start",
	"dvchost": "host.name", "deviceHostName": "host.name",
	"dvc": "observer.ip", "deviceAddress": "observer.ip",
	"msg": "message", "message": "message",
	"proto": "network.transport", "transportProtocol": "network.transport",
	"app": "network.protocol", "applicationProtocol": "network.protocol",
	"in": "source.bytes", "bytesIn": "source.bytes",
	"out": "destination.bytes", "bytesOut": "destination.bytes",
}

// ianaProtocols names the IP protocol numbers some products write in proto.
var ianaProtocols = map[string]string{"1": "icmp", "6": "tcp", "17": "udp", "47": "gre", "50": "esp", "58": "ipv6-icmp", "132": "sctp"}

// cefNumeric are the ECS fields written as JSON numbers when the value is an integer.
var cefNumeric = map[string]bool{
	"source.port": true, "destination.port": true, "source.nat.port": true, "destination.nat.port": true,
	"file.size": true, "source.bytes": true, "destination.bytes": true,
}

// cefEntry is one field of the ECS object built from a CEF line.
type cefEntry struct {
	path []string
	val  string
	num  bool
}

// buildCEF parses a CEF line and writes the ECS JSON object for it to ev.buf.
func (ev *Event) buildCEF(line []byte) error {
	line = bytes.TrimRight(line, "\r\n")
	k := bytes.Index(line, []byte("CEF:"))
	if k < 0 {
		return &SyntaxError{Offset: 0, Msg: `no "CEF:" header`}
	}
	// Header: seven fields separated by unescaped '|'.
	var hdr [7]string
	i := k + 4
	for f := 0; f < 7; f++ {
		j := i
		var sb []byte
		esc := false
		for j < len(line) && line[j] != '|' {
			if line[j] == '\\' && j+1 < len(line) && (line[j+1] == '|' || line[j+1] == '\\') {
				if !esc {
					sb = append(sb[:0], line[i:j]...)
					esc = true
				}
				sb = append(sb, line[j+1])
				j += 2
				continue
			}
			if esc {
				sb = append(sb, line[j])
			}
			j++
		}
		if j >= len(line) {
			return &SyntaxError{Offset: j, Msg: "CEF header has " + strconv.Itoa(f) +
				" of its 7 fields (Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|)"}
		}
		if esc {
			hdr[f] = string(sb)
		} else {
			hdr[f] = string(line[i:j])
		}
		i = j + 1
	}
	if v := strings.TrimSpace(hdr[0]); v == "" || !isNumeric(v) {
		return &SyntaxError{Offset: k + 4, Msg: "CEF version " + strconv.Quote(hdr[0]) + " is not a number"}
	}
	exts, err := parseExtension(line, i)
	if err != nil {
		return err
	}

	entries := make([]cefEntry, 0, len(exts)+10)
	put := func(path, val string, num bool) {
		if num {
			// Written as a JSON number: canonical decimal ("007" would be invalid JSON).
			n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 63)
			if err != nil {
				num = false
			} else {
				val = strconv.FormatUint(n, 10)
			}
		}
		entries = append(entries, cefEntry{path: strings.Split(path, "."), val: val, num: num})
	}
	put("event.original", string(line), false)
	put("cef.version", strings.TrimSpace(hdr[0]), false)
	put("observer.vendor", hdr[1], false)
	put("observer.product", hdr[2], false)
	put("observer.version", hdr[3], false)
	put("event.code", hdr[4], false)
	put("rule.id", hdr[4], false)
	put("rule.name", hdr[5], false)
	put("cef.severity", hdr[6], false)
	if isInteger(strings.TrimSpace(hdr[6])) {
		put("event.severity", strings.TrimSpace(hdr[6]), true)
	}
	seen := map[string]bool{}
	var ts, endTS string
	for _, e := range exts {
		v := e.val
		target, ok := cefKeys[e.key]
		switch target {
		case "source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip", "observer.ip":
			if _, err := netip.ParseAddr(strings.TrimSpace(v)); err != nil {
				// Not an address: keep it as an address of any kind.
				target = strings.TrimSuffix(strings.TrimSuffix(target, ".ip"), ".nat") + ".address"
			}
		case "source.domain", "destination.domain":
			if _, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				target = strings.TrimSuffix(target, ".domain") + ".address"
			}
		case "file.hash":
			switch len(strings.TrimSpace(v)) {
			case 32:
				target = "file.hash.md5"
			case 40:
				target = "file.hash.sha1"
			case 64:
				target = "file.hash.sha256"
			case 128:
				target = "file.hash.sha512"
			default:
				ok = false
			}
		case "network.transport":
			v = strings.ToLower(v)
			if name, ok := ianaProtocols[v]; ok {
				v = name
			}
		case "network.protocol":
			v = strings.ToLower(v)
		case "@timestamp":
			if ts == "" {
				ts = v
			}
			continue
		case "event.end", "event.start":
			t, good := cefTime(v)
			if !good {
				ok = false
				break
			}
			if target == "event.end" && endTS == "" {
				endTS = v
			}
			v = t.Format(time.RFC3339Nano)
		}
		if !ok || seen[target] {
			// Unmapped, unusable, or a second key for the same field (src and sourceAddress).
			entries = append(entries, cefEntry{path: []string{"cef", "extensions", e.key}, val: e.val})
			continue
		}
		seen[target] = true
		if target == "host.name" {
			put("observer.hostname", v, false)
		}
		put(target, v, cefNumeric[target] && isInteger(strings.TrimSpace(v)))
	}
	for _, raw := range []string{ts, endTS} {
		if raw == "" {
			continue
		}
		if t, ok := cefTime(raw); ok {
			entries = slices.Insert(entries, 0, cefEntry{path: []string{"@timestamp"}, val: t.Format(time.RFC3339Nano)})
			break
		}
	}
	if ts != "" {
		put("cef.extensions.deviceReceiptTime", ts, false)
	}
	ev.buf = appendEntries(ev.buf[:0], entries)
	return nil
}

// cefExt is one key=value pair of a CEF extension, the value unescaped.
type cefExt struct {
	key, val string
}

// parseExtension splits the extension of line, which starts at i, into key=value pairs.
func parseExtension(line []byte, i int) ([]cefExt, error) {
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i >= len(line) {
		return nil, nil
	}
	// Find the keys: an unescaped '=' preceded by a run of key characters that starts the
	// extension or follows a space. Any other '=' belongs to a value.
	type keyPos struct{ start, eq int }
	var keys []keyPos
	for j := i; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++ // skip the escaped byte
		case '=':
			ks := j
			for ks > i && isCEFKeyByte(line[ks-1]) {
				ks--
			}
			if ks == j || (ks > i && line[ks-1] != ' ') {
				continue
			}
			keys = append(keys, keyPos{ks, j})
		}
	}
	if len(keys) == 0 || keys[0].start != i {
		return nil, &SyntaxError{Offset: i, Msg: "CEF extension does not start with key=value"}
	}
	out := make([]cefExt, 0, len(keys))
	for n, kp := range keys {
		end := len(line)
		if n+1 < len(keys) {
			end = keys[n+1].start
		}
		out = append(out, cefExt{
			key: string(line[kp.start:kp.eq]),
			val: unescapeCEFValue(bytes.TrimRight(line[kp.eq+1:end], " \t")),
		})
	}
	return out, nil
}

func isCEFKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '[' || c == ']'
}

// unescapeCEFValue undoes the extension escapes \= \\ \n \r (and \| which some products write).
// A backslash before any other byte is kept as written.
func unescapeCEFValue(v []byte) string {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v)
	}
	out := make([]byte, 0, len(v))
	for j := 0; j < len(v); j++ {
		if v[j] == '\\' && j+1 < len(v) {
			switch v[j+1] {
			case '=', '\\', '|':
				out = append(out, v[j+1])
				j++
				continue
			case 'n':
				out = append(out, '\n')
				j++
				continue
			case 'r':
				out = append(out, '\r')
				j++
				continue
			}
		}
		out = append(out, v[j])
	}
	return string(out)
}

// cefTimeLayouts are the date formats of the CEF standard for rt and end, besides milliseconds
// since the epoch ("MMM dd yyyy HH:mm:ss.SSS zzz" and its variants without year, milliseconds or zone).
var cefTimeLayouts = []string{
	"Jan 2 2006 15:04:05.000 MST",
	"Jan 2 2006 15:04:05.000 -0700",
	"Jan 2 2006 15:04:05.000",
	"Jan 2 2006 15:04:05 MST",
	"Jan 2 2006 15:04:05 -0700",
	"Jan 2 2006 15:04:05",
}

var cefYearlessLayouts = []string{
	"Jan 2 15:04:05.000 MST",
	"Jan 2 15:04:05.000",
	"Jan 2 15:04:05 MST",
	"Jan 2 15:04:05",
}

// cefTime parses a CEF timestamp. A date without a year is taken in the current UTC year.
func cefTime(v string) (time.Time, bool) {
	v = strings.Join(strings.Fields(v), " ")
	if isInteger(v) {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return time.Time{}, false
		}
		return time.UnixMilli(ms).UTC(), true
	}
	for _, l := range cefTimeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), true
		}
	}
	for _, l := range cefYearlessLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.AddDate(time.Now().UTC().Year(), 0, 0).UTC(), true
		}
	}
	if t := parseTime(v); !t.IsZero() {
		return t, true
	}
	return time.Time{}, false
}

func isInteger(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendEntries writes the entries as one JSON object, nesting by path segment. Entries are grouped
// by their first segments (in order of first appearance); a path that is a prefix of another
// path already written is dropped.
func appendEntries(dst []byte, entries []cefEntry) []byte {
	dst = append(dst, '{')
	dst = appendGroup(dst, entries, 0)
	return append(dst, '}')
}

func appendGroup(dst []byte, entries []cefEntry, depth int) []byte {
	var order []string
	groups := map[string][]cefEntry{}
	for _, e := range entries {
		if len(e.path) <= depth {
			continue
		}
		seg := e.path[depth]
		if _, ok := groups[seg]; !ok {
			order = append(order, seg)
		}
		groups[seg] = append(groups[seg], e)
	}
	first := true
	for _, seg := range order {
		g := groups[seg]
		leafIdx := slices.IndexFunc(g, func(e cefEntry) bool { return len(e.path) == depth+1 })
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonw.AppendString(dst, seg)
		dst = append(dst, ':')
		if leafIdx >= 0 {
			e := g[leafIdx]
			if e.num {
				dst = append(dst, e.val...)
			} else {
				dst = jsonw.AppendString(dst, e.val)
			}
			continue
		}
		dst = append(dst, '{')
		dst = appendGroup(dst, g, depth+1)
		dst = append(dst, '}')
	}
	return dst
}
