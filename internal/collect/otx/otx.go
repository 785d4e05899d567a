// Package otx is the `otx` source kind: the pulses an AlienVault OTX account subscribes to, read from
// GET /api/v1/pulses/subscribed. Each pulse becomes a report entity; its indicators become reports
// related to it; its adversary a threat-actor entity and its malware families malware entities, with
// the same IDs the misp kind gives the galaxy clusters of those names.
package otx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

func init() { collect.Register("otx", New) }

// MaxPages caps the pages one run follows through "next"; the rest waits for the next run, which
// starts again from the saved modified_since cursor.
const MaxPages = 50

// pageLimit is the limit= asked of the API when the configured URL does not set one.
const pageLimit = "50"

// Page is one response of the subscribed-pulses API. A bare JSON array of pulses (how IntelMQ
// stores OTX data) parses as a page without Next.
type Page struct {
	Results []Pulse `json:"results"`
	Next    string  `json:"next"`
	Count   int     `json:"count"`
}

// Pulse is one OTX pulse.
type Pulse struct {
	ID                string      `json:"id"`
	Name              string      `json:"name"`
	Description       string      `json:"description"`
	AuthorName        string      `json:"author_name"`
	Created           string      `json:"created"`
	Modified          string      `json:"modified"`
	Tags              Names       `json:"tags"`
	References        Names       `json:"references"`
	TLP               string      `json:"TLP"` // matches "tlp" too (encoding/json folds case)
	Adversary         string      `json:"adversary"`
	TargetedCountries Names       `json:"targeted_countries"`
	Industries        Names       `json:"industries"`
	MalwareFamilies   Names       `json:"malware_families"`
	AttackIDs         Names       `json:"attack_ids"`
	Indicators        []Indicator `json:"indicators"`
}

// Indicator is one indicator of a pulse. Its numeric or string id is not kept.
type Indicator struct {
	Indicator   string `json:"indicator"`
	Type        string `json:"type"`
	Created     string `json:"created"`
	Expiration  string `json:"expiration"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// Names is a list of names that OTX writes either as strings or, in newer pulses, as objects
// ({"id", "name", "display_name"}); objects give their display_name, name or id.
type Names []string

// UnmarshalJSON implements [json.Unmarshaler].
func (n *Names) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Names, 0, len(raw))
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
			continue
		}
		var o struct {
			ID          any    `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"display_name"`
		}
		if err := json.Unmarshal(r, &o); err != nil {
			return fmt.Errorf("list entry %.40s: want a string or an object", r)
		}
		switch {
		case o.DisplayName != "":
			out = append(out, o.DisplayName)
		case o.Name != "":
			out = append(out, o.Name)
		case o.ID != nil:
			if s, ok := o.ID.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	*n = out
	return nil
}

// ParsePage decodes one API page or a bare array of pulses. Anything else (an object without a
// results array, trailing garbage, truncated JSON) is an error.
func ParsePage(r io.Reader) (*Page, error) {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("rejected the input: not OTX JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("rejected the input: data after the OTX JSON document")
	}
	var p Page
	switch first := firstByte(raw); first {
	case '[':
		if err := json.Unmarshal(raw, &p.Results); err != nil {
			return nil, fmt.Errorf("rejected the input: not an array of OTX pulses: %w", err)
		}
		p.Count = len(p.Results)
	case '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("rejected the input: %w", err)
		}
		if r, ok := probe["results"]; !ok || firstByte(r) != '[' {
			return nil, errors.New("rejected the input: no results array: not an OTX pulses page")
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("rejected the input: not an OTX pulses page: %w", err)
		}
	default:
		return nil, errors.New("rejected the input: not an OTX pulses page or array")
	}
	return &p, nil
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
	}
	return 0
}

// parseTime reads OTX times: ISO 8601 without a zone ("2016-11-03T20:15:43.264000", taken as UTC)
// or RFC 3339.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	// Parsing accepts a fractional second after the seconds even when the layout has none.
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// cursorLayout is how the modified_since cursor is written: OTX's own format.
const cursorLayout = "2006-01-02T15:04:05.000000"

// typeOf maps an OTX indicator type to omen's; ok is false for the types omen does not keep
// (FilePath, Mutex, YARA, ...).
func typeOf(otxType string) (intel.Type, bool) {
	switch strings.ToLower(otxType) {
	case "ipv4":
		return intel.IPv4, true
	case "ipv6":
		return intel.IPv6, true
	case "domain", "hostname":
		return intel.Domain, true
	case "url", "uri":
		return intel.URL, true
	case "filehash-md5":
		return intel.MD5, true
	case "filehash-sha1":
		return intel.SHA1, true
	case "filehash-sha256":
		return intel.SHA256, true
	case "filehash-sha512":
		return intel.SHA512, true
	case "email":
		return intel.Email, true
	case "cve":
		return intel.CVE, true
	case "cidr":
		return intel.CIDR, true
	case "ja3":
		return intel.JA3, true
	}
	return "", false
}

// ReportID is the ID of the report entity of a pulse.
func ReportID(pulseID string) string {
	return "report--otx-" + strings.ToLower(strings.TrimSpace(pulseID))
}

// AdversaryID and MalwareID are the entity IDs of a pulse's adversary and malware family: those of
// the MISP threat-actor and malpedia galaxy clusters of the same name, so both kinds meet.
func AdversaryID(name string) string { return collect.ClusterID("threat-actor", name) }

// MalwareID: see [AdversaryID].
func MalwareID(name string) string { return collect.ClusterID("malpedia", name) }

// Collector collects the subscribed pulses of one OTX account.
//
// A run asks for the pulses modified since the newest modified time of the last good run, follows
// "next" up to [MaxPages] pages, and parses every page before it writes anything: a page that
// fails (an HTTP error, an HTML page, truncated JSON) fails the run and nothing is written.
type Collector struct{ src config.Source }

var _ collect.Collector = (*Collector)(nil)

// New validates src: the list settings are refused, and an http(s) URL needs auth_header and
// auth_env (the API key); a file URL (tests, offline imports) needs neither.
func New(src config.Source) (collect.Collector, error) {
	if src.Format != "" || src.Column != "" || src.Type != "" || src.Delimiter != "" || len(src.Comment) > 0 {
		return nil, errors.New("kind otx takes no list settings (format, column, type, delimiter, comment)")
	}
	u, err := url.Parse(src.URL)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", src.URL, err)
	}
	switch u.Scheme {
	case "http", "https":
		if src.AuthHeader == "" || src.AuthEnv == "" {
			return nil, errors.New("kind otx: an http(s) url needs auth_header (X-OTX-API-KEY) and auth_env")
		}
	case "file":
	default:
		return nil, fmt.Errorf("url %q: want http, https or file", src.URL)
	}
	if (src.AuthHeader == "") != (src.AuthEnv == "") {
		return nil, errors.New("kind otx: auth_header and auth_env go together")
	}
	return &Collector{src: src}, nil
}

type state struct {
	ModifiedSince string `json:"modified_since,omitempty"`
}

func (c *Collector) headers() (map[string]string, error) { return collect.AuthHeaders(c.src) }

// firstURL adds limit and modified_since to an http(s) URL; a file URL is taken as it is.
func (c *Collector) firstURL(since string) (string, error) {
	u, err := url.Parse(c.src.URL)
	if err != nil {
		return "", err
	}
	if u.Scheme == "file" {
		return c.src.URL, nil
	}
	q := u.Query()
	if q.Get("limit") == "" {
		q.Set("limit", pageLimit)
	}
	if since != "" {
		q.Set("modified_since", since)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// sameOrigin reports whether next may be fetched with the API key: it must stay on the scheme and
// host of the configured URL, so a forged "next" cannot take the key elsewhere.
func (c *Collector) sameOrigin(next string) bool {
	a, err1 := url.Parse(c.src.URL)
	b, err2 := url.Parse(next)
	return err1 == nil && err2 == nil && a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host)
}

// Collect runs once.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	var res collect.Result
	var st state
	_ = json.Unmarshal(env.State, &st)
	headers, err := c.headers()
	if err != nil {
		return res, err
	}
	u, err := c.firstURL(st.ModifiedSince)
	if err != nil {
		return res, err
	}
	var pulses []Pulse
	for page := 1; u != ""; page++ {
		if page > MaxPages {
			if env.Logger != nil {
				env.Logger.Warn("OTX page cap reached; the rest comes next run", "source", c.src.Name, "pages", MaxPages)
			}
			break
		}
		p, n, err := c.fetchPage(ctx, env, u, headers)
		res.Fetched += n
		if err != nil {
			return res, fmt.Errorf("page %d: %w", page, err)
		}
		pulses = append(pulses, p.Results...)
		u = strings.TrimSpace(p.Next)
		if u != "" && !c.sameOrigin(u) {
			return res, fmt.Errorf("rejected the input: page %d: next %q leaves %s", page, u, c.src.URL)
		}
	}

	now := env.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	b := c.build(pulses, now)
	res.Records, res.Rejected = b.records, b.rejected
	if err := collect.CheckInput(c.src, res.Records, res.Rejected, env.GoodRecords); err != nil {
		return res, err
	}
	var classify func(intel.Observable) []string
	if env.Importer != nil {
		classify = env.Importer.Classifier()
	}
	ing, err := env.Store.NewIngester(ctx, store.IngestOptions{Source: c.src.Name, Classify: classify})
	if err != nil {
		return res, fmt.Errorf("starting ingest: %w", err)
	}
	for _, r := range b.reports {
		if err := ing.Add(ctx, r); err != nil {
			if errors.Is(err, store.ErrInvalidReport) {
				res.Rejected++
				continue
			}
			ing.Abort()
			return res, fmt.Errorf("writing reports: %w", err)
		}
	}
	is, err := ing.Close(ctx)
	res.New, res.Updated = is.New, is.Updated
	if err != nil {
		return res, fmt.Errorf("writing reports: %w", err)
	}
	if len(b.entities) > 0 {
		if err := env.Store.PutEntities(ctx, b.entities); err != nil {
			return res, fmt.Errorf("storing entities: %w", err)
		}
	}
	if len(b.rels) > 0 {
		if err := env.Store.PutRelationships(ctx, b.rels); err != nil {
			return res, fmt.Errorf("storing relationships: %w", err)
		}
	}
	res.Entities, res.Relationships = len(b.entities), len(b.rels)
	next := st.ModifiedSince
	if !b.newest.IsZero() && (next == "" || b.newest.After(parseTime(next))) {
		next = b.newest.Format(cursorLayout)
	}
	res.State, _ = json.Marshal(state{ModifiedSince: next})
	return res, nil
}

func (c *Collector) fetchPage(ctx context.Context, env *collect.Env, u string, headers map[string]string) (*Page, int64, error) {
	dl, err := env.Fetch.Fetch(ctx, collect.FetchRequest{URL: u, Headers: headers, MaxBytes: c.src.MaxBytes,
		Timeout: time.Duration(c.src.Timeout)})
	if err != nil {
		return nil, 0, err
	}
	defer dl.Close()
	if dl.NotModified {
		return nil, 0, errors.New("304 Not Modified to an unconditional request")
	}
	if fetch.LooksLikeHTML(dl.Path) {
		return nil, dl.Bytes, errors.New("rejected the input: an HTML page, not OTX JSON")
	}
	f, err := os.Open(dl.Path)
	if err != nil {
		return nil, dl.Bytes, err
	}
	defer f.Close()
	p, err := ParsePage(f)
	return p, dl.Bytes, err
}

// built is what a run writes, made before anything is written.
type built struct {
	reports           []intel.Report
	entities          []intel.Entity
	rels              []intel.Relationship
	records, rejected int
	newest            time.Time
}

func (c *Collector) build(pulses []Pulse, now time.Time) built {
	var b built
	entSeen := map[string]bool{}
	addEnt := func(e intel.Entity) {
		if !entSeen[e.ID] {
			entSeen[e.ID] = true
			b.entities = append(b.entities, e)
		}
	}
	relSeen := map[string]bool{}
	addRel := func(typ, from, to string, tlp intel.TLP, at time.Time) {
		id := relID(c.src.Name, typ, from, to)
		if !relSeen[id] {
			relSeen[id] = true
			b.rels = append(b.rels, intel.Relationship{ID: id, Type: typ, SourceRef: from, TargetRef: to,
				Source: c.src.Name, TLP: tlp, Created: at, Modified: at})
		}
	}
	for _, p := range pulses {
		created, modified := parseTime(p.Created), parseTime(p.Modified)
		if modified.IsZero() {
			modified = created
		}
		if modified.After(b.newest) {
			b.newest = modified
		}
		tlp := c.src.TLP
		if t, err := intel.ParseTLP(p.TLP); err == nil && strings.TrimSpace(p.TLP) != "" {
			tlp = t
		}
		tags := append([]string(nil), c.src.Tags...)
		for _, t := range p.Tags {
			if len(t) <= 64 {
				tags = append(tags, t)
			}
		}
		malware := ""
		if len(p.MalwareFamilies) == 1 {
			malware = p.MalwareFamilies[0]
		}
		report := ""
		if strings.TrimSpace(p.ID) != "" {
			report = ReportID(p.ID)
			attrs := map[string]any{"otx_pulse_id": p.ID}
			for k, v := range map[string]Names{"references": p.References, "targeted_countries": p.TargetedCountries,
				"industries": p.Industries, "attack_ids": p.AttackIDs, "malware_families": p.MalwareFamilies} {
				if len(v) > 0 {
					attrs[k] = []string(v)
				}
			}
			if p.AuthorName != "" {
				attrs["author"] = p.AuthorName
			}
			if p.Adversary != "" {
				attrs["adversary"] = p.Adversary
			}
			if len(p.AttackIDs) > 0 {
				attrs["attack_id"] = []string(p.AttackIDs)
			}
			addEnt(intel.Entity{ID: report, Type: intel.ReportEntity, Name: p.Name, Description: p.Description,
				Source: c.src.Name, TLP: tlp, Created: created, Modified: modified, Attributes: attrs})
		}
		var targets []string // what each indicator "indicates"
		for _, m := range p.MalwareFamilies {
			id := MalwareID(m)
			addEnt(intel.Entity{ID: id, Type: intel.Malware, Name: m, Source: c.src.Name, TLP: tlp})
			targets = append(targets, id)
		}
		if adv := strings.TrimSpace(p.Adversary); adv != "" {
			id := AdversaryID(adv)
			addEnt(intel.Entity{ID: id, Type: intel.ThreatActor, Name: adv, Source: c.src.Name, TLP: tlp})
			if report != "" {
				addRel("attributed-to", report, id, tlp, modified)
			}
		}
		for _, in := range p.Indicators {
			typ, ok := typeOf(in.Type)
			if !ok {
				continue // a type omen does not keep: neither a record nor a reject
			}
			o, err := intel.Normalize(typ, in.Indicator)
			if err != nil {
				b.rejected++
				continue
			}
			b.records++
			first := parseTime(in.Created)
			if first.IsZero() {
				first = created
			}
			last := modified
			if first.IsZero() {
				first = now
			}
			if last.Before(first) {
				last = first
			}
			b.reports = append(b.reports, intel.Report{Observable: o, Confidence: c.src.Confidence, TLP: tlp,
				FirstSeen: first, LastSeen: last, ValidUntil: parseTime(in.Expiration), Tags: tags,
				ThreatType: c.src.ThreatType, Malware: malware})
			ref := o.String()
			if report != "" {
				addRel("related-to", ref, report, tlp, modified)
			}
			for _, t := range targets {
				addRel("indicates", ref, t, tlp, modified)
			}
		}
	}
	return b
}

// relID derives a relationship ID from what it says and who says it, so a re-run replaces it.
func relID(source, typ, from, to string) string {
	h := sha256.Sum256([]byte(source + "\x00" + typ + "\x00" + from + "\x00" + to))
	s := hex.EncodeToString(h[:16])
	return "relationship--" + s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
