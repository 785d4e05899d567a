package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// object holds the STIX properties omen reads, over every object type: one decode per object.
// Everything else stays in the verbatim JSON.
type object struct {
	Type        string   `json:"type"`
	ID          string   `json:"id"`
	SpecVersion string   `json:"spec_version"`
	Created     string   `json:"created"`
	Modified    string   `json:"modified"`
	Revoked     bool     `json:"revoked"`
	Confidence  *int     `json:"confidence"`
	Markings    []string `json:"object_marking_refs"`
	Labels      []string `json:"labels"`

	Name        string `json:"name"`
	Description string `json:"description"`

	// indicator
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	PatternVersion string   `json:"pattern_version"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until"`
	IndicatorTypes []string `json:"indicator_types"`

	// relationship and sighting
	RelType      string   `json:"relationship_type"`
	SourceRef    string   `json:"source_ref"`
	TargetRef    string   `json:"target_ref"`
	SightingOf   string   `json:"sighting_of_ref"`
	WhereSighted []string `json:"where_sighted_refs"`
	Count        *int     `json:"count"`

	OmenThreat string `json:"x_omen_threat_type"`
	// the properties of SDOs and markings, allocated only when one of them is present
	*SDOProps

	// set by validate
	created, modified time.Time
}

// SDOProps are the properties of SDOs, markings and observed-data that indicators do not have:
// decoded into a struct of their own, allocated only when the object has one of them, so that the
// bulk of a feed (indicators) decodes into a small struct. It is exported only because
// encoding/json allocates embedded struct pointers of exported types alone; it is no API.
type SDOProps struct {
	Aliases    []string `json:"aliases"`
	MitreAlias []string `json:"x_mitre_aliases"`
	// observed-data, report, grouping, note
	ObjectRefs  []string                   `json:"object_refs"`
	Objects     map[string]json.RawMessage `json:"objects"` // 2.0 observed-data
	Abstract    string                     `json:"abstract"`
	Content     string                     `json:"content"`
	Published   string                     `json:"published"`
	FirstSeen   string                     `json:"first_seen"`
	LastSeen    string                     `json:"last_seen"`
	FirstObs    string                     `json:"first_observed"`
	LastObs     string                     `json:"last_observed"`
	NumObserved *int                       `json:"number_observed"`

	// a few type-specific properties kept as entity attributes
	MalwareTypes  []string `json:"malware_types"`
	IsFamily      *bool    `json:"is_family"`
	ActorTypes    []string `json:"threat_actor_types"`
	ToolTypes     []string `json:"tool_types"`
	InfraTypes    []string `json:"infrastructure_types"`
	IdentityClass string   `json:"identity_class"`
	Sectors       []string `json:"sectors"`
	ReportTypes   []string `json:"report_types"`
	Context       string   `json:"context"`
	Country       string   `json:"country"`
	Region        string   `json:"region"`
	City          string   `json:"city"`
	Latitude      *float64 `json:"latitude"`
	Longitude     *float64 `json:"longitude"`
	Goals         []string `json:"goals"`
	Objective     string   `json:"objective"`
	Motivation    string   `json:"primary_motivation"`
	Sophisticatn  string   `json:"sophistication"`
	ExternalRefs  []struct {
		Source     string `json:"source_name"`
		ExternalID string `json:"external_id"`
		URL        string `json:"url"`
	} `json:"external_references"`
	OmenAttrs map[string]any `json:"x_omen_attributes"`

	// marking-definition
	DefinitionType string                     `json:"definition_type"`
	Definition     json.RawMessage            `json:"definition"`
	Extensions     map[string]json.RawMessage `json:"extensions"`
}

// noProps stands for the properties of an object that has none of them.
var noProps SDOProps

// props returns o's SDO properties, empty ones when it has none.
func (o *object) props() *SDOProps {
	if o.SDOProps == nil {
		return &noProps
	}
	return o.SDOProps
}

// scoTypes are the STIX 2.1 cyber-observable object types (formats.md 1.3).
var scoTypes = map[string]bool{
	"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true, "email-addr": true,
	"email-message": true, "file": true, "ipv4-addr": true, "ipv6-addr": true, "mac-addr": true, "mutex": true,
	"network-traffic": true, "process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
}

// nonEntityTypes are the known types that are not kept as entities.
var nonEntityTypes = map[string]bool{
	"indicator": true, "relationship": true, "sighting": true, "observed-data": true, "marking-definition": true,
	"bundle": true, "language-content": true, "extension-definition": true,
}

// decodeObject decodes and validates one object: a JSON object with a type, an id of that type
// ("type--<uuid>") and, when present, valid timestamps.
func decodeObject(raw []byte) (*object, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("decoding: %w", unwrapJSON(err))
	}
	if err := o.validate(); err != nil {
		return &o, err
	}
	return &o, nil
}

// unwrapJSON shortens encoding/json's type errors to their useful part.
func unwrapJSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("property %s: want %s, got JSON %s", strings.TrimPrefix(te.Field, "SDOProps."), te.Type, te.Value)
	}
	return err
}

func (o *object) validate() error {
	if o.Type == "" {
		return errors.New("missing type")
	}
	if o.ID == "" {
		return errors.New("missing id")
	}
	if err := checkID(o.ID, o.Type); err != nil {
		return err
	}
	var err error
	if o.created, err = parseTime("created", o.Created); err != nil {
		return err
	}
	if o.modified, err = parseTime("modified", o.Modified); err != nil {
		return err
	}
	sp := o.props()
	for _, p := range [][2]string{{"valid_from", o.ValidFrom}, {"valid_until", o.ValidUntil}, {"published", sp.Published},
		{"first_seen", sp.FirstSeen}, {"last_seen", sp.LastSeen}} {
		if _, err := parseTime(p[0], p[1]); err != nil {
			return err
		}
	}
	if o.Type == "indicator" && o.Pattern == "" && !o.Revoked {
		return errors.New("indicator without a pattern")
	}
	if o.Type == "relationship" && (o.SourceRef == "" || o.TargetRef == "") {
		return errors.New("relationship without source_ref or target_ref")
	}
	return nil
}

// checkID checks that id is "<typ>--<uuid>".
func checkID(id, typ string) error {
	t, u, ok := strings.Cut(id, "--")
	if !ok || t != typ {
		return fmt.Errorf("id %q does not start with %q", id, typ+"--")
	}
	if len(u) != 36 {
		return fmt.Errorf("id %q: not a UUID", id)
	}
	if _, err := uuid.Parse(u); err != nil {
		return fmt.Errorf("id %q: not a UUID", id)
	}
	return nil
}

// parseTime parses a STIX timestamp (RFC 3339, UTC); "" is the zero time.
func parseTime(prop, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %s timestamp %q", prop, s)
	}
	return t.UTC(), nil
}

// mustTime parses a timestamp validate has already checked.
func mustTime(s string) time.Time {
	t, _ := parseTime("", s)
	return t
}

// version is the version identifier of o: modified, else created, else zero.
func (o *object) version() time.Time {
	if !o.modified.IsZero() {
		return o.modified
	}
	return o.created
}

// specVersion is o's spec_version, or its default: "2.0" inside a 2.0 bundle, and for SDOs and
// SROs without one (2.1 requires it on them); "2.1" for a top-level SCO (only 2.1 has those).
func (o *object) specVersion(bundle string) string {
	switch {
	case o.SpecVersion != "":
		return o.SpecVersion
	case bundle == "2.0":
		return "2.0"
	case scoTypes[o.Type]:
		return "2.1"
	}
	return "2.0"
}
