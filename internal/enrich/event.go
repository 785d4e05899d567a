package enrich

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Format is the format of input events.
type Format string

// The input formats.
const (
	FormatECS      Format = "ecs"      // Elastic Common Schema JSON: nested objects, dotted keys or both
	FormatZeek     Format = "zeek"     // Zeek JSON logs (conn, dns, http, ssl, files, x509, notice, smtp, ...)
	FormatSuricata Format = "suricata" // Suricata EVE JSON
	FormatCEF      Format = "cef"      // ArcSight Common Event Format lines, with or without a syslog prefix
)

// ParseFormat returns the [Format] named s (case-insensitive), or an error naming s.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatECS, FormatZeek, FormatSuricata, FormatCEF:
		return f, nil
	}
	return "", fmt.Errorf("unknown event format %q (want ecs, zeek, suricata or cef)", s)
}

// Field is one observable found in an event.
type Field struct {
	// Path is the field as it appears in the event, dotted: "source.ip", "id.resp_h",
	// "dns.answers.data". Arrays do not show in it: every element of dns.answers has the path
	// "dns.answers.data".
	Path string
	// ECS is the ECS field Path stands for ("destination.ip" for Zeek's "id.resp_h"); the same as
	// Path for ECS and CEF input.
	ECS string
	// Observable is the value in canonical form (see intel.Normalize).
	Observable intel.Observable
}

// Context is what the pipeline needs from an event besides its observables. Every field is
// optional; when the event holds several values, the first one wins (Tactics and HostIPs keep all).
type Context struct {
	Timestamp time.Time    // @timestamp (RFC 3339 or epoch milliseconds); Zeek ts; Suricata timestamp; CEF rt or end
	HostName  string       // host.name, else host.hostname
	HostIPs   []netip.Addr // host.ip (a string or an array)
	UserName  string       // user.name, as written
	Outcome   string       // event.outcome (success, failure, unknown)
	Action    string       // event.action
	Kind      string       // event.kind ("alert", "event", ...); Suricata's event_type
	Tactics   []string     // threat.tactic.name
	Dataset   string       // event.dataset, else event.module
}

// Event is one decoded event. [Decoder.Decode] resets and reuses it, so its slices (and the bytes
// of Raw for CEF input) are only valid until the next Decode into the same Event.
type Event struct {
	// Raw is the event as a JSON object. For JSON input it is the input line itself, without
	// surrounding white space, and aliases it: the caller must not change the line while it uses
	// the Event. For CEF input it is an ECS JSON object built from the line, owned by the Event.
	Raw []byte
	// Fields are the observables in document order; each (Path, Observable) pair appears once.
	Fields []Field
	// Context holds the non-observable fields the pipeline uses.
	Context Context

	buf      []byte // CEF: the ECS JSON built from the line
	scratch  []byte // unescaped string values
	keyBuf   []byte // unescaped object keys
	hostname string // host.hostname, used when there is no host.name
	module   string // event.module, used when there is no event.dataset
	zeekHost string // Zeek http: host and uri, composed into a URL
	zeekURI  string
}

// Reset empties ev, keeping its memory for reuse.
func (ev *Event) Reset() {
	ev.Raw = nil
	ev.Fields = ev.Fields[:0]
	ev.Context = Context{HostIPs: ev.Context.HostIPs[:0], Tactics: ev.Context.Tactics[:0]}
	ev.hostname, ev.module, ev.zeekHost, ev.zeekURI = "", "", "", ""
}

// SyntaxError reports an input line that is not a well-formed event of its format.
type SyntaxError struct {
	Offset int    // byte offset in the input line where the problem was found
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg) }

// Decoder decodes events of one format. It keeps no state between calls, so one Decoder may be used
// by many goroutines at once (each with its own [Event]).
type Decoder struct {
	format Format
	root   *node
}

// NewDecoder returns a Decoder for format f. For Zeek and Suricata, m is the field mapping to use;
// nil means the shipped one (see [ShippedMapping]). For ECS and CEF, the standard ECS fields are
// always extracted and m, if not nil, adds input paths (custom fields) to them; paths under
// threat.indicator and threat.enrichments are refused there, as those fields are never extracted.
func NewDecoder(f Format, m *Mapping) (*Decoder, error) {
	d := &Decoder{format: f, root: &node{}}
	switch f {
	case FormatECS, FormatCEF:
		for path, k := range ecsFields {
			d.root.insert(path, path, k, ctxNone)
		}
		for path, c := range ctxFields {
			d.root.insert(path, path, kindNone, c)
		}
		if m != nil {
			for in := range m.Fields {
				if excluded(in) {
					return nil, fmt.Errorf("mapping %q: field %q: threat.indicator and threat.enrichments are never extracted", m.Name, in)
				}
			}
		}
	case FormatZeek, FormatSuricata:
		if m == nil {
			var err error
			if m, err = ShippedMapping(string(f)); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown event format %q", string(f))
	}
	if m != nil {
		if err := m.validate(); err != nil {
			return nil, err
		}
		for in, ecs := range m.Fields {
			d.root.insert(in, ecs, ecsFields[ecs], ctxNone)
		}
		for in, c := range m.Context {
			d.root.insert(in, in, kindNone, ctxFields[c])
		}
	}
	if f == FormatZeek {
		// http.log: url.full is "http://" + host + uri, a field with the path "host+uri".
		d.root.insert("host", "host", kindNone, ctxZeekHost)
		d.root.insert("uri", "uri", kindNone, ctxZeekURI)
	}
	return d, nil
}

// Format returns the format d decodes.
func (d *Decoder) Format() Format { return d.format }

// excluded reports whether an ECS path is under threat.indicator or threat.enrichments.
func excluded(path string) bool {
	for _, p := range []string{"threat.indicator", "threat.enrichments"} {
		if path == p || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}

// Decode decodes one line (one event) into ev, which it resets first. Invalid input gives an error
// wrapping a [*SyntaxError] with the byte offset of the problem; values that are not valid
// observables ("-", empty strings, malformed addresses) are skipped without error.
func (d *Decoder) Decode(line []byte, ev *Event) error {
	ev.Reset()
	if d.format == FormatCEF {
		if err := ev.buildCEF(line); err != nil {
			return fmt.Errorf("invalid CEF event: %w", err)
		}
		ev.Raw = ev.buf
		if err := ev.scan(d.root, ev.buf, 0); err != nil {
			// The JSON is ours: failing to scan it is a bug, not bad input.
			return fmt.Errorf("invalid CEF event: internal error: %w", err)
		}
		return nil
	}
	start := 0
	for start < len(line) && isSpace(line[start]) {
		start++
	}
	end := len(line)
	for end > start && isSpace(line[end-1]) {
		end--
	}
	if start == end {
		return fmt.Errorf("invalid %s event: %w", d.format, &SyntaxError{Offset: 0, Msg: "empty line"})
	}
	ev.Raw = line[start:end:end]
	if err := ev.scan(d.root, ev.Raw, start); err != nil {
		ev.Raw = nil
		return fmt.Errorf("invalid %s event: %w", d.format, err)
	}
	return nil
}

// scan walks data, a JSON object, extracting the fields on the trie rooted at root. base is the
// offset of data in the input line, for error messages.
func (ev *Event) scan(root *node, data []byte, base int) error {
	s := scanner{data: data, ev: ev}
	i := s.ws(0)
	if i >= len(data) || data[i] != '{' {
		return s.fail(base, i, "an event must be a JSON object")
	}
	i, err := s.value(i, root)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Offset += base
		}
		return err
	}
	if i = s.ws(i); i != len(data) {
		return s.fail(base, i, "unexpected data after the JSON object")
	}
	if ev.Context.HostName == "" {
		ev.Context.HostName = ev.hostname
	}
	if ev.Context.Dataset == "" {
		ev.Context.Dataset = ev.module
	}
	if ev.zeekHost != "" && strings.HasPrefix(ev.zeekURI, "/") {
		if o, ok := observable(kindURL, "http://"+ev.zeekHost+ev.zeekURI); ok {
			ev.add(&zeekURLLeaf, o)
		}
	}
	return nil
}

// zeekURLLeaf is the composed URL of Zeek http.log events.
var zeekURLLeaf = leaf{path: "host+uri", ecs: "url.full", kind: kindURL}

// add appends a field unless the same (path, observable) is already there.
func (ev *Event) add(l *leaf, o intel.Observable) {
	for i := range ev.Fields {
		if ev.Fields[i].Observable == o && ev.Fields[i].Path == l.path {
			return
		}
	}
	ev.Fields = append(ev.Fields, Field{Path: l.path, ECS: l.ecs, Observable: o})
}

// setContext records a string value of a context field; the first value wins.
func (ev *Event) setContext(c ctxKey, v string) {
	c2 := &ev.Context
	switch c {
	case ctxTimestamp:
		if c2.Timestamp.IsZero() {
			c2.Timestamp = parseTime(v)
		}
	case ctxHostName:
		setFirst(&c2.HostName, v)
	case ctxHostHostname:
		setFirst(&ev.hostname, v)
	case ctxHostIP:
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			c2.HostIPs = append(c2.HostIPs, a.Unmap())
		}
	case ctxUserName:
		if v != "-" {
			setFirst(&c2.UserName, v)
		}
	case ctxOutcome:
		setFirst(&c2.Outcome, v)
	case ctxAction:
		setFirst(&c2.Action, v)
	case ctxKind:
		setFirst(&c2.Kind, v)
	case ctxTactic:
		if v != "" && !containsString(c2.Tactics, v) {
			c2.Tactics = append(c2.Tactics, v)
		}
	case ctxDataset:
		setFirst(&c2.Dataset, v)
	case ctxModule:
		setFirst(&ev.module, v)
	case ctxZeekHost:
		setFirst(&ev.zeekHost, v)
	case ctxZeekURI:
		setFirst(&ev.zeekURI, v)
	}
}

// setNumberContext records a numeric value of a context field: only timestamps take numbers,
// in epoch seconds (Zeek) or milliseconds (Elasticsearch dates), told apart by magnitude.
func (ev *Event) setNumberContext(c ctxKey, f float64) {
	if c != ctxTimestamp || !ev.Context.Timestamp.IsZero() {
		return
	}
	ev.Context.Timestamp = epochTime(f)
}

func setFirst(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// epochTime converts seconds (below 1e11, that is before the year 5138) or milliseconds since
// the Unix epoch to a UTC time; out-of-range values give the zero time.
func epochTime(f float64) time.Time {
	if f != f || f <= 0 || f >= 1e15 {
		return time.Time{}
	}
	if f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Microsecond)
	}
	ms := int64(f)
	return time.UnixMilli(ms).UTC()
}

// timeLayouts are the string timestamp forms accepted: RFC 3339 (ECS), Suricata's numeric zone
// without a colon, and a few common variants.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseTime parses a string timestamp; numbers in strings are epoch seconds or milliseconds. An
// unparsable value gives the zero time.
func parseTime(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if isNumeric(v) {
		var f float64
		if _, err := fmt.Sscan(v, &f); err == nil {
			return epochTime(f)
		}
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func isNumeric(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return len(s) > 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// node is a node of the trie of wanted paths, one level per dotted segment.
type node struct {
	children map[string]*node
	leaf     *leaf
}

// leaf is what to do with the values at a path.
type leaf struct {
	path string // Field.Path
	ecs  string // Field.ECS
	kind kind
	ctx  ctxKey
}

// insert adds path (dotted) to the trie. A path may be both an observable and a context field.
func (n *node) insert(path, ecs string, k kind, c ctxKey) {
	for seg := range strings.SplitSeq(path, ".") {
		if n.children == nil {
			n.children = map[string]*node{}
		}
		child := n.children[seg]
		if child == nil {
			child = &node{}
			n.children[seg] = child
		}
		n = child
	}
	if n.leaf == nil {
		n.leaf = &leaf{path: path}
	}
	if k != kindNone {
		n.leaf.kind, n.leaf.ecs = k, ecs
	}
	if c != ctxNone && n.leaf.ctx == ctxNone {
		n.leaf.ctx = c
	}
}

// child returns the node reached from n by the dotted key, or nil.
func (n *node) child(key []byte) *node {
	for n != nil && n.children != nil {
		dot := bytes.IndexByte(key, '.')
		if dot < 0 {
			return n.children[string(key)]
		}
		n = n.children[string(key[:dot])]
		key = key[dot+1:]
	}
	return nil
}
