package assets

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/omen-tip/omen/internal/intel"
)

// Format is the format of an asset file.
type Format string

// Asset file formats.
const (
	CSV  Format = "csv"
	YAML Format = "yaml"
	JSON Format = "json"
)

// MaxFileSize is the largest asset file read.
const MaxFileSize = 64 << 20

// ParseFormat parses a format name: csv, yaml (or yml) or json.
func ParseFormat(s string) (Format, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case "csv", "yaml", "json":
		return Format(f), nil
	case "yml":
		return YAML, nil
	}
	return "", fmt.Errorf("asset file format %q: want csv, yaml or json", s)
}

// FormatOf returns the format of a file from its extension (.csv, .yaml, .yml, .json).
func FormatOf(path string) (Format, error) {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	if ext == "" {
		return "", fmt.Errorf("%s: no file extension: say the format with --format csv|yaml|json", path)
	}
	f, err := ParseFormat(ext)
	if err != nil {
		return "", fmt.Errorf("%s: unknown extension .%s: say the format with --format csv|yaml|json", path, ext)
	}
	return f, nil
}

// Entry is a valid asset read from a file.
type Entry struct {
	Line  int // 1-based line where the record starts; 0 when unknown
	Index int // 1-based number of the record in the file
	Asset intel.Asset
}

// Reject is a record, or a part of a file, that was refused.
type Reject struct {
	Line  int    `json:"line,omitempty"`  // 1-based; 0 when unknown
	Index int    `json:"index,omitempty"` // 1-based record number in a JSON or YAML list; 0 for CSV
	Error string `json:"error"`
}

// String formats r as "line 7: asset 3: reason".
func (r Reject) String() string {
	var b strings.Builder
	if r.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", r.Line)
	}
	if r.Index > 0 {
		fmt.Fprintf(&b, "asset %d: ", r.Index)
	}
	b.WriteString(r.Error)
	return b.String()
}

// Result is what [Parse] read from a file.
type Result struct {
	Read    int // records read: accepted plus rejected
	Entries []Entry
	Rejects []Reject
}

// Parse reads an asset file of format f. Every record is validated with [Normalize]; a bad record
// is rejected with its line (and index in a JSON or YAML list) and the rest of the file goes on.
// A second record with the natural key ([Key]) of an earlier one is rejected too. A syntax error
// that stops the file is a reject at its line, after the records read before it. Parse returns an
// error only when r cannot be read or is larger than [MaxFileSize].
func Parse(r io.Reader, f Format) (Result, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return Result{}, fmt.Errorf("reading assets: %w", err)
	}
	if len(b) > MaxFileSize {
		return Result{}, fmt.Errorf("reading assets: larger than %d bytes", MaxFileSize)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	p := &collector{seen: map[string]string{}}
	switch f {
	case CSV:
		p.csv(b)
	case YAML:
		p.yaml(b)
	case JSON:
		p.json(b)
	default:
		return Result{}, fmt.Errorf("asset file format %q: want csv, yaml or json", f)
	}
	return p.res, nil
}

// collector gathers the records of one file.
type collector struct {
	res  Result
	seen map[string]string // natural key → where its first record is
}

// add validates one record.
func (p *collector) add(line, index int, r Record) {
	p.res.Read++
	a, err := Normalize(r)
	if err != nil {
		p.reject(line, index, err.Error())
		return
	}
	k := Key(a)
	if first, ok := p.seen[k]; ok {
		p.reject(line, index, fmt.Sprintf("duplicate %s asset %q: first at %s", a.Kind, a.Name, first))
		return
	}
	p.seen[k] = Reject{Line: line, Index: index}.where()
	p.res.Entries = append(p.res.Entries, Entry{Line: line, Index: index, Asset: a})
}

// where names a record's position: "line 7" when known, else "asset 3".
func (r Reject) where() string {
	if r.Line > 0 {
		return fmt.Sprintf("line %d", r.Line)
	}
	return fmt.Sprintf("asset %d", r.Index)
}

// bad counts a record that could not be decoded.
func (p *collector) bad(line, index int, msg string) {
	p.res.Read++
	p.reject(line, index, msg)
}

func (p *collector) reject(line, index int, msg string) {
	p.res.Rejects = append(p.res.Rejects, Reject{Line: line, Index: index, Error: msg})
}

// CSV.

// csvColumns maps a header name to the field it sets.
var csvColumns = map[string]func(*Record, string){
	"kind":                func(r *Record, s string) { r.Kind = s },
	"name":                func(r *Record, s string) { r.Name = s },
	"values":              func(r *Record, s string) { r.Values = cell(s) },
	"cidrs":               func(r *Record, s string) { r.CIDRs = cell(s) },
	"domains":             func(r *Record, s string) { r.Domains = cell(s) },
	"hostnames":           func(r *Record, s string) { r.Hostnames = cell(s) },
	"ips":                 func(r *Record, s string) { r.IPs = cell(s) },
	"emails":              func(r *Record, s string) { r.Emails = cell(s) },
	"usernames":           func(r *Record, s string) { r.Usernames = cell(s) },
	"keywords":            func(r *Record, s string) { r.Keywords = cell(s) },
	"privilege":           func(r *Record, s string) { r.Privilege = Text(s) },
	"vendor":              func(r *Record, s string) { r.Vendor = Text(s) },
	"product":             func(r *Record, s string) { r.Product = Text(s) },
	"version":             func(r *Record, s string) { r.Version = Text(s) },
	"cpe":                 func(r *Record, s string) { r.CPE = cell(s) },
	"criticality":         func(r *Record, s string) { r.Criticality = Text(s) },
	"data_classification": func(r *Record, s string) { r.DataClassification = Text(s) },
	"business_service":    func(r *Record, s string) { r.BusinessService = Text(s) },
	"service_tier":        func(r *Record, s string) { r.ServiceTier = Text(s) },
	"owner":               func(r *Record, s string) { r.Owner = Text(s) },
	"exposure":            func(r *Record, s string) { r.Exposure = Text(s) },
}

// CSVColumns lists the columns an asset CSV file may have, besides "attr.NAME" columns.
var CSVColumns = []string{"kind", "name", "values", "cidrs", "domains", "hostnames", "ips", "emails", "usernames",
	"keywords", "privilege", "vendor", "product", "version", "cpe", "criticality", "data_classification",
	"business_service", "service_tier", "owner", "exposure"}

func cell(s string) List {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return List{s}
}

// csvSetter returns the setter of a header cell.
func csvSetter(h string) (func(*Record, string), error) {
	name := strings.ToLower(strings.TrimSpace(h))
	name = strings.NewReplacer(" ", "_", "-", "_").Replace(name)
	if set, ok := csvColumns[name]; ok {
		return set, nil
	}
	if attr, ok := strings.CutPrefix(name, "attr."); ok && attr != "" {
		return func(r *Record, s string) {
			if strings.TrimSpace(s) == "" {
				return
			}
			if r.Attributes == nil {
				r.Attributes = map[string]string{}
			}
			r.Attributes[attr] = s
		}, nil
	}
	return nil, fmt.Errorf("unknown column %q: want %s or attr.NAME", clip(h), strings.Join(CSVColumns, ", "))
}

// csv reads a CSV file with a header line. Lines starting with '#' are comments.
func (p *collector) csv(b []byte) {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	header, err := cr.Read()
	if err == io.EOF {
		return
	}
	if err != nil {
		p.csvError(err)
		return
	}
	hline, _ := cr.FieldPos(0)
	setters, ok := p.csvHeader(hline, header)
	if !ok {
		return
	}
	lastErrLine := -1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			line := p.csvError(err)
			if line == lastErrLine {
				return // no progress: give up rather than loop
			}
			lastErrLine = line
			continue
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(rec) != len(setters) {
			p.bad(line, 0, fmt.Sprintf("%d fields, the header has %d", len(rec), len(setters)))
			continue
		}
		var r Record
		for i, s := range rec {
			setters[i](&r, s)
		}
		p.add(line, 0, r)
	}
}

// csvHeader checks the header: known columns, no column twice, kind and name present.
func (p *collector) csvHeader(line int, header []string) ([]func(*Record, string), bool) {
	setters := make([]func(*Record, string), len(header))
	seen := map[string]bool{}
	var problems []string
	for i, h := range header {
		set, err := csvSetter(h)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		k := strings.ToLower(strings.TrimSpace(h))
		if seen[k] {
			problems = append(problems, fmt.Sprintf("column %q appears twice", h))
		}
		seen[k] = true
		setters[i] = set
	}
	for _, need := range []string{"kind", "name"} {
		if !seen[need] {
			problems = append(problems, fmt.Sprintf("no %q column", need))
		}
	}
	if len(problems) > 0 {
		p.reject(line, 0, "header: "+strings.Join(problems, "; "))
		return nil, false
	}
	return setters, true
}

// csvError records a CSV syntax error and returns its line.
func (p *collector) csvError(err error) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		p.bad(pe.StartLine, 0, pe.Err.Error())
		return pe.StartLine
	}
	p.bad(0, 0, err.Error())
	return 0
}

func blank(rec []string) bool {
	for _, s := range rec {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// JSON.

// json reads a JSON array of assets, or an object {"assets": [...]}.
func (p *collector) json(b []byte) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err == io.EOF {
		return
	}
	if err != nil {
		p.jsonError(b, dec, err)
		return
	}
	switch tok {
	case json.Delim('['):
		p.jsonArray(b, dec)
	case json.Delim('{'):
		p.jsonObject(b, dec)
	default:
		p.reject(lineAt(b, dec.InputOffset()), 0, `want a list of assets or {"assets": [...]}`)
	}
}

func (p *collector) jsonObject(b []byte, dec *json.Decoder) {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			p.jsonError(b, dec, err)
			return
		}
		key, _ := tok.(string)
		if key != "assets" {
			p.reject(lineAt(b, dec.InputOffset()), 0, fmt.Sprintf(`unknown field %q: want {"assets": [...]}`, clip(key)))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				p.jsonError(b, dec, err)
				return
			}
			continue
		}
		if tok, err = dec.Token(); err != nil {
			p.jsonError(b, dec, err)
			return
		}
		if tok != json.Delim('[') {
			p.reject(lineAt(b, dec.InputOffset()), 0, `"assets" must be a list`)
			return
		}
		if !p.jsonArray(b, dec) {
			return
		}
	}
}

// jsonArray reads the elements of an array whose '[' was read; it reports whether it reached ']'.
func (p *collector) jsonArray(b []byte, dec *json.Decoder) bool {
	for i := 1; dec.More(); i++ {
		start := skipSpace(b, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.res.Read++
			line := lineAt(b, start)
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = lineAt(b, se.Offset)
			}
			p.reject(line, i, jsonMessage(err))
			return false
		}
		line := lineAt(b, start)
		r, err := DecodeJSON(raw)
		if err != nil {
			p.bad(line, i, err.Error())
			continue
		}
		p.add(line, i, r)
	}
	if _, err := dec.Token(); err != nil {
		p.jsonError(b, dec, err)
		return false
	}
	return true
}

func (p *collector) jsonError(b []byte, dec *json.Decoder, err error) {
	p.reject(jsonErrLine(b, dec, err), 0, jsonMessage(err))
}

// jsonErrLine returns the line of a decoding error: its offset for a syntax error, else where the
// decoder stopped.
func jsonErrLine(b []byte, dec *json.Decoder, err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return lineAt(b, se.Offset)
	}
	return lineAt(b, dec.InputOffset())
}

// jsonMessage drops encoding/json's "json: " prefix and names an object that is not an asset.
func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return "want an object"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of JSON input"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return strings.Replace(msg, "cannot unmarshal", "cannot read", 1)
}

// lineAt returns the 1-based line of byte offset off in b.
func lineAt(b []byte, off int64) int {
	off = min(max(off, 0), int64(len(b)))
	return bytes.Count(b[:off], []byte("\n")) + 1
}

// skipSpace returns the offset of the first byte at or after off that is not white space or a comma.
func skipSpace(b []byte, off int64) int64 {
	for off < int64(len(b)) && strings.IndexByte(" \t\r\n,", b[off]) >= 0 {
		off++
	}
	return off
}

// YAML.

// yamlError is what the YAML library's errors offer.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

// yaml reads a YAML list of assets, or a mapping {assets: [...]}; every document of the file.
// The YAML library can panic on some malformed documents; that is a reject, never a crash.
func (p *collector) yaml(b []byte) {
	defer func() {
		if r := recover(); r != nil {
			p.reject(0, 0, fmt.Sprintf("malformed YAML: the decoder failed (%v)", r))
		}
	}()
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		line, msg := yamlPos(err)
		p.reject(line, 0, msg)
		return
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		p.yamlBody(doc.Body)
	}
}

// yamlBody finds the list of assets in a document.
func (p *collector) yamlBody(n ast.Node) {
	switch b := unwrapYAML(n).(type) {
	case *ast.SequenceNode:
		p.yamlList(b)
		return
	case *ast.MappingNode:
		for _, mv := range b.Values {
			p.yamlKey(mv)
		}
		return
	case *ast.MappingValueNode:
		p.yamlKey(b)
		return
	case *ast.NullNode:
		return
	}
	p.reject(nodeLine(n), 0, "want a list of assets or {assets: [...]}")
}

func (p *collector) yamlKey(mv *ast.MappingValueNode) {
	if mv.Key == nil || mv.Key.String() != "assets" {
		key := ""
		if mv.Key != nil {
			key = mv.Key.String()
		}
		p.reject(nodeLine(mv), 0, fmt.Sprintf("unknown field %q: want assets", clip(key)))
		return
	}
	seq, ok := unwrapYAML(mv.Value).(*ast.SequenceNode)
	if !ok {
		if _, null := unwrapYAML(mv.Value).(*ast.NullNode); !null {
			p.reject(nodeLine(mv), 0, "assets must be a list")
		}
		return
	}
	p.yamlList(seq)
}

func (p *collector) yamlList(seq *ast.SequenceNode) {
	for i, item := range seq.Values {
		line := nodeLine(item)
		var r Record
		if err := yaml.NodeToValue(item, &r, yaml.Strict()); err != nil {
			el, msg := yamlPos(err)
			if el == 0 {
				el = line
			}
			p.bad(el, i+1, msg)
			continue
		}
		p.add(line, i+1, r)
	}
}

// unwrapYAML looks through tags and anchors.
func unwrapYAML(n ast.Node) ast.Node {
	for range 16 {
		switch x := n.(type) {
		case *ast.TagNode:
			n = x.Value
		case *ast.AnchorNode:
			n = x.Value
		default:
			return n
		}
	}
	return n
}

func nodeLine(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// yamlPos returns the line and the message of a YAML error.
func yamlPos(err error) (int, string) {
	var ye yamlError
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return line, ye.GetMessage()
	}
	return 0, err.Error()
}
