package list

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
)

// normName folds a column or field name for matching: lower case, letters and digits only.
func normName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r == '_' || r == '-' || r == ' ' || r == '.':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// valueColumns lists the known value columns, best first, folded by [normName], with the type
// their name implies ("" when it implies none).
var valueColumns = []struct {
	name string
	typ  intel.Type
}{
	{"iocvalue", ""}, {"ioc", ""}, {"indicator", ""}, {"observable", ""}, {"value", ""},
	{"dstip", ""}, {"ip", ""}, {"ipaddress", ""}, {"ipaddr", ""}, {"ipv4", intel.IPv4}, {"ipv6", intel.IPv6},
	{"cidr", intel.CIDR}, {"network", intel.CIDR},
	{"url", intel.URL}, {"asn", intel.ASN}, {"domain", intel.Domain}, {"hostname", intel.Domain}, {"host", intel.Domain}, {"fqdn", intel.Domain},
	{"sha256hash", intel.SHA256}, {"sha256", intel.SHA256}, {"sha1hash", intel.SHA1}, {"sha1", intel.SHA1},
	{"md5hash", intel.MD5}, {"md5", intel.MD5}, {"sha512", intel.SHA512},
	{"cve", intel.CVE}, {"cveid", intel.CVE}, {"email", intel.Email}, {"ja3", intel.JA3},
}

// valueRank returns the rank of a folded name in [valueColumns] (lower is better), or -1.
func valueRank(norm string) int {
	for i, c := range valueColumns {
		if c.name == norm {
			return i
		}
	}
	return -1
}

// impliedType returns the observable type a folded column name implies, or "".
func impliedType(norm string) intel.Type {
	if i := valueRank(norm); i >= 0 {
		return valueColumns[i].typ
	}
	return ""
}

// role is what a known non-value column says about the record.
type role uint8

const (
	roleNone role = iota
	roleFirstSeen
	roleLastSeen
	roleValidUntil
	roleConfidence
	roleTags
	roleThreatType
	roleMalware
	roleKEV      // knownRansomwareCampaignUse: tag kev, and ransomware when Known
	roleTagValue // the value itself is a tag (Spamhaus sblid)
	numRoles
)

// roleColumns maps folded column names to their role and rank within it (lower is better).
var roleColumns = map[string]struct {
	role role
	rank int
}{
	"firstseenutc": {roleFirstSeen, 0}, "firstseen": {roleFirstSeen, 1}, "dateadded": {roleFirstSeen, 2}, "created": {roleFirstSeen, 3},
	"lastseenutc": {roleLastSeen, 0}, "lastseen": {roleLastSeen, 1}, "lastonline": {roleLastSeen, 2},
	"validuntil": {roleValidUntil, 0}, "expiration": {roleValidUntil, 1},
	"confidencelevel": {roleConfidence, 0}, "confidence": {roleConfidence, 1},
	"tags":       {roleTags, 0},
	"threattype": {roleThreatType, 0}, "threat": {roleThreatType, 1},
	"malwareprintable": {roleMalware, 0}, "malware": {roleMalware, 1}, "signature": {roleMalware, 2}, "fkmalware": {roleMalware, 3},
	"knownransomwarecampaignuse": {roleKEV, 0},
	"sblid":                      {roleTagValue, 0},
}

// isKnownColumn reports whether a folded name is a value or role column.
func isKnownColumn(norm string) bool {
	_, ok := roleColumns[norm]
	return ok || valueRank(norm) >= 0
}

// roleSet records, for one header or object, which column fills each role.
type roleSet struct {
	idx  [numRoles]int // column index + 1; 0 = none
	rank [numRoles]int
}

// add offers column i with folded name norm to the set.
func (rs *roleSet) add(i int, norm string) {
	rc, ok := roleColumns[norm]
	if !ok {
		return
	}
	if rs.idx[rc.role] == 0 || rc.rank < rs.rank[rc.role] {
		rs.idx[rc.role], rs.rank[rc.role] = i+1, rc.rank
	}
}

// fill sets rec's fields from the columns in rs; get returns column i's value.
func (rs *roleSet) fill(rec *Record, get func(i int) any) {
	for r := roleFirstSeen; r < numRoles; r++ {
		if rs.idx[r] == 0 {
			continue
		}
		v := get(rs.idx[r] - 1)
		switch r {
		case roleFirstSeen:
			rec.FirstSeen = parseTime(v)
		case roleLastSeen:
			rec.LastSeen = parseTime(v)
		case roleValidUntil:
			rec.ValidUntil = parseTime(v)
		case roleConfidence:
			rec.Confidence = parseConfidence(v)
		case roleTags:
			addTags(rec, v)
		case roleThreatType:
			rec.ThreatType = cleanText(scalarString(v))
		case roleMalware:
			rec.Malware = cleanText(scalarString(v))
		case roleKEV:
			addTag(rec, "kev")
			if strings.EqualFold(strings.TrimSpace(scalarString(v)), "known") {
				addTag(rec, "ransomware")
			}
		case roleTagValue:
			addTag(rec, scalarString(v))
		}
	}
}

// scalarString returns a JSON scalar or CSV field as text; "" for null, objects and arrays.
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// placeholders are what feeds write for "nothing".
var placeholders = []string{"", "-", "n/a", "na", "none", "null", "nil", "unknown"}

// cleanText trims s and returns "" for the placeholders feeds use for "nothing".
func cleanText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= len("unknown") {
		for _, ph := range placeholders {
			if strings.EqualFold(s, ph) {
				return ""
			}
		}
	}
	if len(s) > 200 || !utf8.ValidString(s) {
		return ""
	}
	return s
}

const (
	maxTags   = 32
	maxTagLen = 64
)

// addTags adds the tags in v: a JSON array, or text split on commas (when it has any) or spaces.
func addTags(rec *Record, v any) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			addTag(rec, scalarString(e))
		}
	default:
		s := scalarString(v)
		if strings.Contains(s, ",") {
			for t := range strings.SplitSeq(s, ",") {
				addTag(rec, t)
			}
			return
		}
		for _, t := range strings.Fields(s) {
			addTag(rec, t)
		}
	}
}

// addTag adds one tag to rec unless it is empty, a placeholder, too long, unprintable or present.
func addTag(rec *Record, t string) {
	t = cleanText(t)
	if t == "" || len(t) > maxTagLen || len(rec.Tags) >= maxTags {
		return
	}
	for _, r := range t {
		if !unicode.IsPrint(r) {
			return
		}
	}
	for _, have := range rec.Tags {
		if have == t {
			return
		}
	}
	rec.Tags = append(rec.Tags, t)
}

// parseTime reads the date formats feeds use; the zero time when v is none of them.
func parseTime(v any) time.Time {
	s := strings.TrimSpace(scalarString(v))
	if s == "" {
		return time.Time{}
	}
	if isDigits(s) {
		if len(s) > 11 {
			return time.Time{}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return time.Time{}
		}
		return time.Unix(n, 0).UTC()
	}
	for _, layout := range []string{time.DateTime, time.RFC3339Nano, "2006-01-02T15:04:05", time.DateOnly, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 MST"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	return time.Time{}
}

// parseConfidence reads a confidence 0..100 (clamped); 0 when v is not a number.
func parseConfidence(v any) int {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(scalarString(v)), "%"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0
	}
	return int(math.Round(max(0, min(100, f))))
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
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

var errEmpty = errors.New("empty value")

// resolve turns a raw value into an observable: with [Options.Type] by [intel.Normalize], else by
// [intel.Detect], then as the type its column implies, then without a ":port" suffix (returned as a
// "port:N" tag). The error is the first attempt's.
func (p *parser) resolve(raw string, implied intel.Type) (intel.Observable, string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return intel.Observable{}, "", errEmpty
	}
	o, err := p.resolve1(raw, implied)
	if err == nil {
		if o.Type == intel.IPv4 || o.Type == intel.IPv6 || o.Type == intel.Domain {
			if _, port, ok := splitPort(raw); ok {
				return o, "port:" + port, nil // Detect reads host:port as the host
			}
		}
		return o, "", nil
	}
	if host, port, ok := splitPort(raw); ok {
		if o, err2 := p.resolve1(host, implied); err2 == nil && (o.Type == intel.IPv4 || o.Type == intel.IPv6 || o.Type == intel.Domain) {
			return o, "port:" + port, nil
		}
	}
	return intel.Observable{}, "", err
}

func (p *parser) resolve1(raw string, implied intel.Type) (intel.Observable, error) {
	t := p.opts.Type
	if t == "" {
		o, err := intel.Detect(raw)
		if err == nil || implied == "" {
			return o, err
		}
		t = implied
		if o2, err2 := normalize(t, raw); err2 == nil {
			return o2, nil
		}
		return o, err
	}
	return normalize(t, raw)
}

// normalize is [intel.Normalize] that also reads a bare ASN number ("932" as AS932).
func normalize(t intel.Type, raw string) (intel.Observable, error) {
	o, err := intel.Normalize(t, raw)
	if err != nil && t == intel.ASN && isDigits(raw) {
		if o2, err2 := intel.Normalize(t, "AS"+raw); err2 == nil {
			return o2, nil
		}
	}
	return o, err
}

// splitPort splits "host:port" and "[v6]:port"; ok is false unless port is 1 to 5 digits.
func splitPort(s string) (host, port string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	host, port = s[:i], s[i+1:]
	if !isDigits(port) || len(port) > 5 {
		return "", "", false
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return "", "", false // a bare IPv6 address, not host:port
	}
	return host, port, true
}
