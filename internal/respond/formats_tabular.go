package respond

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// csv: a header and one row per entry, RFC 4180 quoting (encoding/csv), LF line ends. Multiple
// sources and tags are joined with ";". Times are RFC 3339 UTC, empty when unknown. Free-text
// columns (sources, threat_type, malware, tags) starting with "=", "+", "-", "@" get a leading
// "'" so that spreadsheets do not run them as formulas; the value column is never altered.
var csvFormat = Format{
	Name:        "csv",
	Description: "CSV: value,type,score,tlp,first_seen,last_seen,sources,threat_type,malware,tags",
	ContentType: "text/csv; charset=utf-8",
}

// CSVHeader is the header row of the csv format.
var CSVHeader = []string{"value", "type", "score", "tlp", "first_seen", "last_seen", "sources", "threat_type", "malware", "tags"}

// json: {"name": ..., "generated": ..., "count": n, "entries": [{...}]}.
var jsonFormat = Format{
	Name:        "json",
	Description: `JSON object: {"name","generated","count","entries":[{"value","type","score","tlp",...}]}`,
	ContentType: "application/json",
}

// splunk-csv writes a lookup for Splunk (ES threat intelligence). When every entry falls into one
// ES collection, the header is that collection's: ip_intel "description,ip,weight" (addresses and
// networks), domains "description,domain,weight", http_intel
// "description,http_referrer,http_user_agent,url,weight", file_intel
// "description,file_hash,file_name,weight", email_intel "description,src_user,subject,weight". A
// mixed export (no --type) writes one generic lookup "description,ip,domain,url,file_hash,
// src_user,weight,type", each row filling its own key column. weight is omen's score clamped to
// 1..100.
var splunkCSV = Format{
	Name:        "splunk-csv",
	Description: "Splunk lookup CSV: ES threat-intel collection headers (ip_intel, domains, http_intel, file_intel, email_intel) with weight",
	Types: []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR, intel.Domain, intel.URL, intel.Email,
		intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512},
	ContentType: "text/csv; charset=utf-8",
}

// wazuh-cdb writes a Wazuh CDB list: "key:value" lines, value "<score>|<threat type>" (for
// lookup="match_key_value" check_value rules). Keys containing ":" (IPv6 addresses, URLs) are
// quoted. IPv4 networks use Wazuh's dot notation for address_match_key: a /8, /16 or /24 is the
// dotted prefix ("10.", "192.168.", "172.16.19."); other lengths are split into the longer
// octet-aligned networks they cover (a /23 is two /24 keys, a /25 128 address keys: at most 128
// keys). IPv6 networks cannot be expressed and are left out ([Unwritable]), as are /0 and keys containing
// '"'. Export one list per type (--type) to load them as separate lists.
var wazuhCDB = Format{
	Name:        "wazuh-cdb",
	Description: "Wazuh CDB list (key:score|threat type), IPv4 networks in dot notation",
	Types: []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR, intel.Domain, intel.URL, intel.Email,
		intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512, intel.Account},
	Aggregate:   true,
	ContentType: "text/plain; charset=utf-8",
}

// qradar-json writes the body of QRadar's POST /reference_data/sets/bulk_load/{name}: a JSON
// array of the values as strings. A reference set has one element type: export one type per set
// (IP sets take addresses; networks are not set members, so cidr is not carried).
var qradarJSON = Format{
	Name:        "qradar-json",
	Description: "QRadar reference set bulk_load body: a JSON array of values",
	Types: []intel.Type{intel.IPv4, intel.IPv6, intel.Domain, intel.URL, intel.Email,
		intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512, intel.JA3, intel.ASN, intel.CVE, intel.Account},
	ContentType: "application/json",
}

func init() {
	csvFormat.Write = writeCSV
	jsonFormat.Write = writeJSON
	splunkCSV.Write = writeSplunkCSV
	wazuhCDB.Write = writeWazuhCDB
	qradarJSON.Write = writeQRadarJSON
	registerText(csvFormat, nil)
	registerText(jsonFormat, nil)
	registerText(splunkCSV, checkSplunk)
	registerText(wazuhCDB, checkWazuh)
	registerText(qradarJSON, nil)
}

// ---- csv

// cell neutralises spreadsheet formulas in a free-text cell.
func cell(s string) string {
	s = oneLine(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

func joinCells(ss []string) string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = oneLine(s); s != "" {
			out = append(out, s)
		}
	}
	return cell(strings.Join(out, ";"))
}

func writeCSV(w io.Writer, entries []Entry, _ WriteOptions) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	forEach(entries, &csvFormat, nil, func(e Entry) {
		cw.Write([]string{
			e.Observable.Value, string(e.Observable.Type), strconv.Itoa(e.Score), e.TLP.String(),
			stamp(e.FirstSeen), stamp(e.LastSeen), joinCells(e.Sources), cell(e.ThreatType),
			cell(e.Malware), joinCells(e.Tags),
		})
	})
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing csv: %w", err)
	}
	return nil
}

// ---- json

// JSONEntry is one entry of the json format.
type JSONEntry struct {
	Value      string   `json:"value"`
	Type       string   `json:"type"`
	Score      int      `json:"score"`
	TLP        string   `json:"tlp"`
	FirstSeen  string   `json:"first_seen,omitempty"`
	LastSeen   string   `json:"last_seen,omitempty"`
	Sources    []string `json:"sources,omitempty"`
	ThreatType string   `json:"threat_type,omitempty"`
	Malware    string   `json:"malware,omitempty"`
	Tags       []string `json:"tags,omitempty"`
}

// JSONExport is the document of the json format.
type JSONExport struct {
	Name      string      `json:"name"`
	Generated string      `json:"generated,omitempty"`
	Count     int         `json:"count"`
	Entries   []JSONEntry `json:"entries"`
}

func writeJSON(w io.Writer, entries []Entry, o WriteOptions) error {
	doc := JSONExport{Name: exportName(o), Generated: stamp(o.Generated), Entries: []JSONEntry{}}
	forEach(entries, &jsonFormat, nil, func(e Entry) {
		doc.Entries = append(doc.Entries, JSONEntry{
			Value: strings.ToValidUTF8(e.Observable.Value, "\uFFFD"), Type: string(e.Observable.Type),
			Score: e.Score, TLP: e.TLP.String(), FirstSeen: stamp(e.FirstSeen), LastSeen: stamp(e.LastSeen),
			Sources: e.Sources, ThreatType: e.ThreatType, Malware: e.Malware, Tags: e.Tags,
		})
	})
	doc.Count = len(doc.Entries)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}

// ---- splunk-csv

// splunkCollection returns the ES collection of t and its key column.
func splunkCollection(t intel.Type) (collection, key string) {
	switch {
	case t.IsIP():
		return "ip_intel", "ip"
	case t == intel.Domain:
		return "domains", "domain"
	case t == intel.URL:
		return "http_intel", "url"
	case t == intel.Email:
		return "email_intel", "src_user"
	case t.IsHash():
		return "file_intel", "file_hash"
	}
	return "", ""
}

// splunkHeaders are the ES collection headers; the key column is found by name.
var splunkHeaders = map[string][]string{
	"ip_intel":    {"description", "ip", "weight"},
	"domains":     {"description", "domain", "weight"},
	"http_intel":  {"description", "http_referrer", "http_user_agent", "url", "weight"},
	"file_intel":  {"description", "file_hash", "file_name", "weight"},
	"email_intel": {"description", "src_user", "subject", "weight"},
	"":            {"description", "ip", "domain", "url", "file_hash", "src_user", "weight", "type"},
}

func checkSplunk(e Entry) string {
	if e.Observable.Type.IsIP() {
		return checkIP(e)
	}
	return ""
}

func writeSplunkCSV(w io.Writer, entries []Entry, _ WriteOptions) error {
	var rows []Entry
	collections := map[string]bool{}
	forEach(entries, &splunkCSV, checkSplunk, func(e Entry) {
		rows = append(rows, e)
		c, _ := splunkCollection(e.Observable.Type)
		collections[c] = true
	})
	coll := ""
	if len(collections) == 1 {
		for c := range collections {
			coll = c
		}
	}
	header := splunkHeaders[coll]
	cw := csv.NewWriter(w)
	cw.Write(header)
	for _, e := range rows {
		_, key := splunkCollection(e.Observable.Type)
		row := make([]string, len(header))
		for i, h := range header {
			switch h {
			case "description":
				row[i] = cell(e.Description())
			case "weight":
				row[i] = strconv.Itoa(min(max(e.Score, 1), 100))
			case "type":
				row[i] = string(e.Observable.Type)
			case key:
				row[i] = e.Observable.Value
			}
		}
		cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing splunk-csv: %w", err)
	}
	return nil
}

// ---- wazuh-cdb

// wazuhKeys returns the CDB keys of e (quoted where needed), or why there are none.
func wazuhKeys(e Entry) ([]string, string) {
	v := e.Observable.Value
	if e.Observable.Type.IsIP() {
		p, ok := entryPrefix(e)
		if !ok {
			return nil, SkipInvalid
		}
		if p.Bits() == 0 {
			return nil, SkipSyntax
		}
		if p.Addr().Is6() {
			if !p.IsSingleIP() {
				return nil, SkipSyntax
			}
			return []string{`"` + p.Addr().String() + `"`}, ""
		}
		return wazuhIPv4Keys(p), ""
	}
	if v == "" || strings.ContainsAny(v, "\"\r\n") {
		return nil, SkipSyntax
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return nil, SkipSyntax
		}
	}
	if strings.Contains(v, ":") {
		v = `"` + v + `"`
	}
	return []string{v}, ""
}

// wazuhIPv4Keys returns the dot-notation keys covering an IPv4 prefix exactly.
func wazuhIPv4Keys(p netip.Prefix) []string {
	if p.Bits() == 32 {
		return []string{p.Addr().String()}
	}
	bits := (p.Bits() + 7) / 8 * 8 // the octet-aligned length at or above; p.Bits() > 0
	n := 1 << (bits - p.Bits())
	keys := make([]string, 0, n)
	a := p.Addr().As4()
	base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	for i := range n {
		x := base + uint32(i)<<(32-bits)
		o := [4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}
		if bits == 32 {
			keys = append(keys, netip.AddrFrom4(o).String())
			continue
		}
		var b strings.Builder
		for j := 0; j < bits/8; j++ {
			b.WriteString(strconv.Itoa(int(o[j])))
			b.WriteByte('.')
		}
		keys = append(keys, b.String())
	}
	return keys
}

func checkWazuh(e Entry) string {
	_, why := wazuhKeys(e)
	return why
}

func writeWazuhCDB(w io.Writer, entries []Entry, _ WriteOptions) error {
	lw := newLineWriter(w, wazuhCDB.Name)
	seen := map[string]bool{}
	forEach(entries, &wazuhCDB, checkWazuh, func(e Entry) {
		keys, _ := wazuhKeys(e)
		value := strconv.Itoa(e.Score)
		if t := oneLine(e.ThreatType); t != "" {
			value += "|" + t
		}
		for _, k := range keys {
			if seen[k] { // keys must be unique
				continue
			}
			seen[k] = true
			lw.line(k, ":", value)
		}
	})
	return lw.close()
}

// ---- qradar-json

func writeQRadarJSON(w io.Writer, entries []Entry, _ WriteOptions) error {
	values := []string{}
	seen := map[string]bool{}
	forEach(entries, &qradarJSON, nil, func(e Entry) {
		v := strings.ToValidUTF8(e.Observable.Value, "\uFFFD")
		if !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	})
	b, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("writing qradar-json: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing qradar-json: %w", err)
	}
	return nil
}
