// Package misp is the `misp` source kind: a MISP feed directory (manifest.json plus one
// <event-uuid>.json per event, as MISP's "misp" feed format and PyMISP's feed generator write it),
// such as CIRCL OSINT or Botvrij.
//
// The parser ([ParseManifest], [ParseEvent], [Event.Reports], [Event.Entities]) is pure. The
// collector fetches the manifest, then only the events whose timestamp moved since the last good
// run, and writes their to_ids attributes as reports and their galaxy clusters as entities.
//
// Mapping decisions, all on [Event.Reports] and [Event.Entities]:
//   - Only attributes with to_ids set are reported (MISP's own rule for export to controls); the
//     rest are context. Attributes of types omen does not keep (filename, regkey, mutex, yara,
//     snort, ssdeep, imphash, link, comment, text...) are counted as skipped, never as rejected.
//   - TLP: the attribute's tlp: tag, else the event's, else the source's ("tlp:white" is clear).
//   - Confidence: admiralty-scale:information-credibility="1".."6" (90, 75, 50, 25, 10, 50) or
//     estimative-language:likelihood-probability (almost-certain 95 … almost-no-chance 5), the
//     attribute's tags first, then the event's, else the source's confidence.
//   - Threat type: the attribute's MISP category, lower case with hyphens ("payload-delivery").
//   - Malware: the one malware or tool family the attribute's galaxy tags name, else the one the
//     event's clusters (Galaxy array and misp-galaxy: tags) name; none when they name several.
//   - Tags: the event's and the attribute's tags without tlp: and misp-galaxy: (kept as the TLP and
//     as entities), plus "port:N" and "filename:<name>" from composite values.
//   - Galaxy clusters become entities with the ID [ClusterID] (type and value, so a cluster named by
//     tag in one event and by Galaxy array in another is one entity; the MISP UUID is kept in the
//     attributes as misp_uuid); mitre-* clusters whose value ends in " - T1059" get attack_id.
package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Int is a MISP number, which exports write as a JSON number or a string ("1", "1418217625").
// An empty string or null is 0.
type Int int64

// UnmarshalJSON implements [json.Unmarshaler].
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid MISP number %.40q", s)
	}
	*n = Int(v)
	return nil
}

// Bool is a MISP flag: true/false, or "1"/"0", 1/0, "true"/"false" in older exports; null is false.
type Bool bool

// UnmarshalJSON implements [json.Unmarshaler].
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(string(bytes.TrimSpace(b)), `"`)) {
	case "true", "1":
		*v = true
	case "false", "0", "", "null":
		*v = false
	default:
		return fmt.Errorf("invalid MISP flag %.40s", b)
	}
	return nil
}

// Org is an organisation as an event or a manifest entry names it.
type Org struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

// Tag is a MISP tag: "tlp:white", `misp-galaxy:threat-actor="APT28"`, or free text.
type Tag struct {
	Name string `json:"name"`
}

// ManifestEntry is one event as manifest.json describes it.
type ManifestEntry struct {
	Orgc          Org    `json:"Orgc"`
	Tag           []Tag  `json:"Tag"`
	Info          string `json:"info"`
	Date          string `json:"date"`
	Analysis      Int    `json:"analysis"`
	ThreatLevelID Int    `json:"threat_level_id"`
	Timestamp     Int    `json:"timestamp"` // last change of the event, Unix seconds
}

// Manifest is a feed's manifest.json: its events by UUID.
type Manifest map[string]ManifestEntry

// ParseManifest reads a manifest.json. Anything but a JSON object of objects is an error.
func ParseManifest(r io.Reader) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(r)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding MISP manifest: %w", err)
	}
	if m == nil {
		return nil, errors.New("decoding MISP manifest: not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decoding MISP manifest: data after the JSON object")
	}
	for k := range m {
		if !IsUUID(k) {
			return nil, fmt.Errorf("decoding MISP manifest: key %.60q is not an event UUID", k)
		}
	}
	return m, nil
}

// IsUUID reports whether s is a UUID in its 8-4-4-4-12 hexadecimal form, as MISP names events.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Attribute is one MISP attribute, of the event or of one of its objects.
type Attribute struct {
	UUID           string `json:"uuid"`
	Type           string `json:"type"`
	Category       string `json:"category"`
	Value          string `json:"value"`
	ToIDs          Bool   `json:"to_ids"`
	Comment        string `json:"comment"`
	Timestamp      Int    `json:"timestamp"`
	FirstSeen      string `json:"first_seen"` // ISO 8601, optional
	LastSeen       string `json:"last_seen"`
	ObjectRelation string `json:"object_relation"`
	Deleted        Bool   `json:"deleted"`
	Tag            []Tag  `json:"Tag"`
}

// Object is a MISP object: a group of attributes (a file with its hashes, a URL with its host).
type Object struct {
	UUID         string      `json:"uuid"`
	Name         string      `json:"name"`
	MetaCategory string      `json:"meta-category"`
	Deleted      Bool        `json:"deleted"`
	Attribute    []Attribute `json:"Attribute"`
}

// Galaxy is a galaxy attached to an event with the clusters the event refers to.
type Galaxy struct {
	UUID          string    `json:"uuid"`
	Name          string    `json:"name"`
	Type          string    `json:"type"`
	GalaxyCluster []Cluster `json:"GalaxyCluster"`
}

// Cluster is one galaxy cluster (a threat actor, a malware family, an ATT&CK technique...).
type Cluster struct {
	UUID        string         `json:"uuid"`
	Type        string         `json:"type"`
	Value       string         `json:"value"`
	TagName     string         `json:"tag_name"`
	Description string         `json:"description"`
	Meta        map[string]any `json:"meta"`
	// Related lists clusters this one is tied to, by UUID: MISP's mitre-* clusters carry the UUIDs
	// of the ATT&CK objects, so a threat actor's "similar" link names its ATT&CK intrusion set.
	Related []struct {
		DestUUID string `json:"dest-uuid"`
		Type     string `json:"type"`
	} `json:"related"`
}

// Event is a MISP event, as a feed's <uuid>.json holds it inside {"Event": ...}.
type Event struct {
	UUID             string      `json:"uuid"`
	Info             string      `json:"info"`
	Date             string      `json:"date"` // YYYY-MM-DD
	ThreatLevelID    Int         `json:"threat_level_id"`
	Analysis         Int         `json:"analysis"`
	Timestamp        Int         `json:"timestamp"`
	PublishTimestamp Int         `json:"publish_timestamp"`
	Orgc             Org         `json:"Orgc"`
	Tag              []Tag       `json:"Tag"`
	Attribute        []Attribute `json:"Attribute"`
	Object           []Object    `json:"Object"`
	Galaxy           []Galaxy    `json:"Galaxy"`
}

// ParseEvent reads one event: {"Event": {...}} as feeds write it, or the bare event object that
// MISP's API and PyMISP also produce.
func ParseEvent(r io.Reader) (*Event, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decoding MISP event: %w", err)
	}
	if raw == nil {
		return nil, errors.New("decoding MISP event: not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decoding MISP event: data after the JSON object")
	}
	body, wrapped := raw["Event"]
	var e Event
	if wrapped {
		if string(bytes.TrimSpace(body)) == "null" {
			return nil, errors.New("decoding MISP event: \"Event\" is null")
		}
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("decoding MISP event: %w", err)
		}
	} else {
		if !isEventLike(raw) {
			return nil, errors.New("decoding MISP event: no \"Event\" object")
		}
		// Decode the same map again as an event: cheap next to the decode above.
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("decoding MISP event: %w", err)
		}
	}
	return &e, nil
}

// isEventLike reports whether a bare object has at least one field only an event has.
func isEventLike(m map[string]json.RawMessage) bool {
	for _, k := range []string{"Attribute", "Object", "info", "uuid"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// date returns the event's date (midnight UTC), zero when missing or malformed.
func (e *Event) date() time.Time {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(e.Date))
	if err != nil {
		return time.Time{}
	}
	return t
}

// unix turns a MISP timestamp into a time, zero for 0 or absurd values.
func unix(n Int) time.Time {
	if n <= 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(int64(n), 0).UTC()
}

// parseSeen parses an attribute's first_seen/last_seen: ISO 8601 as MISP writes it
// ("2019-06-18T12:34:56.000000+00:00"), zero when empty or unreadable.
func parseSeen(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
