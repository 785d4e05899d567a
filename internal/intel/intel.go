// Package intel is omen's domain model: observables and their canonical forms, reports, indicators,
// sources, entities, relationships, sightings, assets, findings and the audit log.
//
// It is pure: it does no I/O and imports nothing else of omen's, so every other package can build on it.
package intel

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Type is the type of an observable. The zero value is not a valid type.
type Type string

// The observable types omen knows. Their canonical forms are described on [Normalize].
const (
	IPv4    Type = "ipv4"
	IPv6    Type = "ipv6"
	CIDR    Type = "cidr"
	Domain  Type = "domain"
	URL     Type = "url"
	Email   Type = "email"
	MD5     Type = "md5"
	SHA1    Type = "sha1"
	SHA256  Type = "sha256"
	SHA512  Type = "sha512"
	JA3     Type = "ja3"
	ASN     Type = "asn"
	CVE     Type = "cve"
	Account Type = "account"
)

// Types lists every valid [Type] in a stable order.
var Types = []Type{IPv4, IPv6, CIDR, Domain, URL, Email, MD5, SHA1, SHA256, SHA512, JA3, ASN, CVE, Account}

// Valid reports whether t is one of [Types].
func (t Type) Valid() bool {
	for _, v := range Types {
		if t == v {
			return true
		}
	}
	return false
}

// Canonical returns t as the constant of its type when it is one (the same string, held once),
// so that a million values read from a store do not carry a million copies of "ipv4".
func (t Type) Canonical() Type {
	for _, v := range Types {
		if t == v {
			return v
		}
	}
	return t
}

// ParseType returns the [Type] named s (case-insensitive), or an error naming s.
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(strings.TrimSpace(s)))
	if !t.Valid() {
		return "", fmt.Errorf("unknown observable type %q", s)
	}
	return t, nil
}

// IsIP reports whether t is an address or network type.
func (t Type) IsIP() bool { return t == IPv4 || t == IPv6 || t == CIDR }

// IsHash reports whether t is a file hash type.
func (t Type) IsHash() bool { return t == MD5 || t == SHA1 || t == SHA256 || t == SHA512 }

// Observable is one value of one type, in canonical form when it came from [Normalize] or [Detect].
type Observable struct {
	Type  Type   `json:"type"`
	Value string `json:"value"`
}

// String returns "type:value", the form used for references to observables (see [Relationship]).
func (o Observable) String() string { return string(o.Type) + ":" + o.Value }

// ParseRef parses the "type:value" form written by [Observable.String]. It does not normalise the value.
func ParseRef(ref string) (Observable, bool) {
	t, v, ok := strings.Cut(ref, ":")
	if !ok || !Type(t).Valid() || v == "" {
		return Observable{}, false
	}
	return Observable{Type: Type(t), Value: v}, true
}

// Reliability is a source's reliability on the Admiralty scale, 'A' (completely reliable) to 'F'
// (reliability cannot be judged). F means unknown, not bad: a new source starts at F.
type Reliability byte

// The Admiralty reliability grades.
const (
	ReliabilityA Reliability = 'A'
	ReliabilityB Reliability = 'B'
	ReliabilityC Reliability = 'C'
	ReliabilityD Reliability = 'D'
	ReliabilityE Reliability = 'E'
	ReliabilityF Reliability = 'F'
)

// ParseReliability parses a grade letter A..F (case-insensitive).
func ParseReliability(s string) (Reliability, error) {
	s = strings.TrimSpace(s)
	if len(s) == 1 {
		c := s[0] &^ 0x20 // upper-case
		if c >= 'A' && c <= 'F' {
			return Reliability(c), nil
		}
	}
	return 0, fmt.Errorf("invalid reliability %q: want a letter A to F", s)
}

// Valid reports whether r is one of A..F.
func (r Reliability) Valid() bool { return r >= 'A' && r <= 'F' }

func (r Reliability) String() string {
	if !r.Valid() {
		return "F"
	}
	return string(rune(r))
}

// MarshalText implements [encoding.TextMarshaler].
func (r Reliability) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler].
func (r *Reliability) UnmarshalText(b []byte) error {
	v, err := ParseReliability(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// TLP is a Traffic Light Protocol 2.0 level. Levels are ordered: a caller cleared for a level may see
// everything at that level and below.
type TLP uint8

// TLP 2.0 levels, least to most restrictive. TLP:WHITE (1.0) parses as [TLPClear].
const (
	TLPClear TLP = iota
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

var tlpNames = [...]string{"clear", "green", "amber", "amber+strict", "red"}

// ParseTLP parses a TLP level: "clear", "white", "green", "amber", "amber+strict", "red", with or
// without a "tlp:" prefix, in any case.
func ParseTLP(s string) (TLP, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "tlp:")
	switch v {
	case "white":
		return TLPClear, nil
	case "amber-strict", "amber strict":
		return TLPAmberStrict, nil
	}
	for i, n := range tlpNames {
		if v == n {
			return TLP(i), nil
		}
	}
	return 0, fmt.Errorf("invalid TLP %q: want clear, green, amber, amber+strict or red", s)
}

func (t TLP) String() string {
	if int(t) < len(tlpNames) {
		return tlpNames[t]
	}
	return "red"
}

// Allows reports whether a caller cleared for level c may see data marked t.
func (c TLP) Allows(t TLP) bool { return t <= c }

// MarshalText implements [encoding.TextMarshaler].
func (t TLP) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler].
func (t *TLP) UnmarshalText(b []byte) error {
	v, err := ParseTLP(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Source is a producer of reports: a feed, a file import, an analyst, a TAXII collection.
type Source struct {
	ID          int64       `json:"id"`
	Name        string      `json:"name"` // unique, stable; used in evidence strings
	Kind        string      `json:"kind"` // "import", "list", "misp", "taxii", ...
	URL         string      `json:"url,omitempty"`
	Reliability Reliability `json:"reliability"`
	Confidence  int         `json:"confidence"` // default confidence 0..100 for its reports
	TLP         TLP         `json:"tlp"`        // default TLP for its reports
	Enabled     bool        `json:"enabled"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	// Health of the last collection run; empty for sources never run by a collector.
	LastRun     time.Time `json:"last_run,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"` // why the last run failed or was rejected
	LastStats   RunStats  `json:"last_stats"`           // counts of the last run, good or not
	// GoodRecords is the number of records of the last good run that read the whole input (not a
	// 304): the yardstick for "the list suddenly shrank".
	GoodRecords int `json:"good_records"`
	// TruePositives and FalsePositives count the analysts' verdicts on findings about values this
	// source reported (store.Store.RecordVerdict): the input of its learned reliability.
	TruePositives  int `json:"true_positives"`
	FalsePositives int `json:"false_positives"`
}

// Source health states, see [Source.Health].
const (
	HealthNever    = "never-run"
	HealthOK       = "ok"
	HealthDegraded = "degraded"
)

// Health says whether the source's last run succeeded: never-run, ok, or degraded (the last run
// failed or was rejected; the data of the last good run stays in force).
func (s Source) Health() string {
	switch {
	case s.LastRun.IsZero():
		return HealthNever
	case s.LastError != "" || s.LastSuccess.Before(s.LastRun):
		return HealthDegraded
	}
	return HealthOK
}

// RunStats counts what one collection run did.
type RunStats struct {
	Duration      time.Duration `json:"duration_ns"`
	FetchedBytes  int64         `json:"fetched_bytes"`
	NotModified   bool          `json:"not_modified,omitempty"` // the server answered 304
	Records       int           `json:"records"`                // records parsed from the input
	New           int           `json:"new"`
	Updated       int           `json:"updated"`
	Rejected      int           `json:"rejected"`
	Entities      int           `json:"entities"`
	Relationships int           `json:"relationships"`
}

// SourceRun is the outcome of one collection run, as the store records it.
type SourceRun struct {
	At    time.Time
	Stats RunStats
	Err   string // empty on success
	// State, on success and when not nil, replaces the source's saved collector state (cursor,
	// ETag, manifest timestamps...).
	State []byte
}

// Report is one source saying something about one observable: omen's unit of observation.
// Reports are kept per source; the [Indicator] is the merge of all reports on one observable.
type Report struct {
	Observable Observable `json:"observable"`
	Source     string     `json:"source"`     // Source.Name
	Confidence int        `json:"confidence"` // 0..100
	TLP        TLP        `json:"tlp"`
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`            // when the source last asserted it
	ValidUntil time.Time  `json:"valid_until,omitzero"` // zero: no explicit expiry (decay still applies)
	Tags       []string   `json:"tags,omitempty"`
	ThreatType string     `json:"threat_type,omitempty"` // c2, phishing, malware-download, scanner, ...
	Malware    string     `json:"malware,omitempty"`     // malware family, if the source names one
}

// Expired reports whether the report's explicit validity ended before now.
func (r Report) Expired(now time.Time) bool {
	return !r.ValidUntil.IsZero() && !now.Before(r.ValidUntil)
}

// Indicator is the merge of every report on one observable.
type Indicator struct {
	ID         int64      `json:"id"`
	Observable Observable `json:"observable"`
	FirstSeen  time.Time  `json:"first_seen"` // earliest FirstSeen over the reports
	LastSeen   time.Time  `json:"last_seen"`  // latest LastSeen over the reports
	// Warninglists names the warninglists the value was on when it was last ingested. A warninglisted
	// value is stored and flagged, never dropped; scoring dampens it.
	Warninglists []string `json:"warninglists,omitempty"`
	Reports      []Report `json:"reports,omitempty"`
}

// TLP is the least restrictive marking over the reports: the fact is shareable at that level.
func (in Indicator) TLP() TLP {
	if len(in.Reports) == 0 {
		return TLPRed
	}
	m := TLPRed
	for _, r := range in.Reports {
		m = min(m, r.TLP)
	}
	return m
}

// Tags returns the union of the reports' tags in first-seen order.
func (in Indicator) Tags() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range in.Reports {
		for _, t := range r.Tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// Visible returns a copy of in holding only the reports a caller cleared for c may see, and whether
// any are left.
func (in Indicator) Visible(c TLP) (Indicator, bool) {
	out := in
	out.Reports = nil
	for _, r := range in.Reports {
		if c.Allows(r.TLP) {
			out.Reports = append(out.Reports, r)
		}
	}
	return out, len(out.Reports) > 0
}

// EntityType is a STIX-aligned entity type.
type EntityType string

// Entity types.
const (
	ThreatActor    EntityType = "threat-actor"
	IntrusionSet   EntityType = "intrusion-set"
	Campaign       EntityType = "campaign"
	Malware        EntityType = "malware"
	Tool           EntityType = "tool"
	AttackPattern  EntityType = "attack-pattern"
	CourseOfAction EntityType = "course-of-action"
	Vulnerability  EntityType = "vulnerability"
	Identity       EntityType = "identity"
	ReportEntity   EntityType = "report"
	Infrastructure EntityType = "infrastructure"
)

// Entity is a threat actor, campaign, malware family, ATT&CK technique, vulnerability or alike.
type Entity struct {
	ID          string     `json:"id"` // STIX id ("malware--<uuid>") or another stable id
	Type        EntityType `json:"type"`
	Name        string     `json:"name"`
	Aliases     []string   `json:"aliases,omitempty"`
	Description string     `json:"description,omitempty"`
	Source      string     `json:"source,omitempty"`
	TLP         TLP        `json:"tlp"`
	Created     time.Time  `json:"created,omitzero"`
	Modified    time.Time  `json:"modified,omitzero"`
	// Attributes holds type-specific properties (ATT&CK id, KEV dates, EPSS score...) as JSON.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Relationship links two entities, or an observable ("type:value", see [Observable.String]) and an
// entity: uses, indicates, attributed-to, targets, mitigates, related-to.
type Relationship struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	SourceRef string    `json:"source_ref"`
	TargetRef string    `json:"target_ref"`
	Source    string    `json:"source,omitempty"` // the omen source that asserted it
	TLP       TLP       `json:"tlp"`
	Created   time.Time `json:"created,omitzero"`
	Modified  time.Time `json:"modified,omitzero"`
}

// Sighting records that the organisation saw an observable: where, when, how often, and the analyst's
// verdict once there is one.
type Sighting struct {
	ID         int64      `json:"id"`
	Observable Observable `json:"observable"`
	Where      string     `json:"where"` // host, sensor or user that saw it
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	Count      int        `json:"count"`
	Verdict    string     `json:"verdict,omitempty"` // "", "tp" or "fp"
	Note       string     `json:"note,omitempty"`
}

// Criticality of an asset to the business.
type Criticality string

// Criticality levels (Elastic's four).
const (
	CriticalityLow     Criticality = "low"
	CriticalityMedium  Criticality = "medium"
	CriticalityHigh    Criticality = "high"
	CriticalityExtreme Criticality = "extreme"
)

// Asset is something of the organisation's: a network, domain, host, person, technology or brand.
type Asset struct {
	ID          int64             `json:"id"`
	Kind        string            `json:"kind"` // network, domain, host, person, technology, brand
	Name        string            `json:"name"`
	Values      []string          `json:"values,omitempty"` // CIDRs, domains, IPs, emails, user names, CPEs
	Criticality Criticality       `json:"criticality,omitempty"`
	DataClass   string            `json:"data_classification,omitempty"`
	Service     string            `json:"business_service,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	Exposure    string            `json:"exposure,omitempty"` // internet-facing, internal, segmented
	Attributes  map[string]string `json:"attributes,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// Finding statuses.
const (
	FindingNew           = "new"
	FindingTriaged       = "triaged"
	FindingInProgress    = "in-progress"
	FindingResolved      = "resolved"
	FindingFalsePositive = "false-positive"
)

// Finding is something that needs the SOC's attention.
type Finding struct {
	ID              int64       `json:"id"`
	Kind            string      `json:"kind"` // indicator-match, lookalike-domain, leaked-credential, ...
	Title           string      `json:"title"`
	Observable      *Observable `json:"observable,omitempty"`
	AssetID         int64       `json:"asset_id,omitempty"`
	Priority        int         `json:"priority"`
	Status          string      `json:"status"`
	Assignee        string      `json:"assignee,omitempty"`
	TLP             TLP         `json:"tlp"`
	Evidence        []string    `json:"evidence,omitempty"`
	Recommendations []string    `json:"recommendations,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	// Key deduplicates findings: events with the same key fold into one finding, e.g.
	// "indicator-match|ipv4:192.0.2.1|asset:7".
	Key      string    `json:"key,omitempty"`
	Level    string    `json:"level,omitempty"` // priority band of the strongest event (omen-prio-1)
	Count    int       `json:"count"`           // events folded in, at least 1
	LastSeen time.Time `json:"last_seen"`       // time of the latest event folded in
	// ClosedAt is when the finding was last resolved or marked a false positive; zero while open.
	ClosedAt time.Time `json:"closed_at,omitzero"`
	// Detail is the omen.priority object (score, factors, gates, evidence) of the strongest event.
	Detail  json.RawMessage `json:"detail,omitempty"`
	Actions []string        `json:"actions,omitempty"` // actions taken and status history, oldest first
	Note    string          `json:"note,omitempty"`    // the analyst's latest note
}

// Open reports whether the finding still needs work: its status is neither resolved nor false
// positive.
func (f Finding) Open() bool {
	return f.Status != FindingResolved && f.Status != FindingFalsePositive
}

// FindingStatuses lists the finding statuses in workflow order.
var FindingStatuses = []string{FindingNew, FindingTriaged, FindingInProgress, FindingResolved, FindingFalsePositive}

// AllowEntry is one value of the organisation's allowlist: never alert on it. Entries come from
// false-positive verdicts on findings and from analysts by hand.
type AllowEntry struct {
	ID         int64      `json:"id"`
	Observable Observable `json:"observable"`
	Reason     string     `json:"reason,omitempty"`
	Actor      string     `json:"actor,omitempty"`      // who put it there: API key name, "cli", ...
	FindingID  int64      `json:"finding_id,omitempty"` // the finding whose verdict put it there
	CreatedAt  time.Time  `json:"created_at"`
}

// AuditEntry is one line of the audit log: who did what to which object.
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // API key name, "cli", "system"
	Action string    `json:"action"` // "key.create", "import", "finding.update", ...
	Object string    `json:"object,omitempty"`
	Detail string    `json:"detail,omitempty"` // never a secret
}

// Role is an API key's role.
type Role string

// Roles, most to least privileged. Consumers may only read exports and TAXII.
const (
	RoleAdmin    Role = "admin"
	RoleAnalyst  Role = "analyst"
	RoleReader   Role = "reader"
	RoleConsumer Role = "consumer"
)

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleAnalyst, RoleReader, RoleConsumer:
		return r, nil
	}
	return "", fmt.Errorf("invalid role %q: want admin, analyst, reader or consumer", s)
}

// APIKey is a stored API key. The secret itself is never stored: only its SHA-256.
type APIKey struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Prefix    string    `json:"prefix"` // first characters of the key, to tell keys apart
	Hash      []byte    `json:"-"`      // SHA-256 of the whole key
	Clearance TLP       `json:"clearance"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	Revoked   bool      `json:"revoked"`
}
