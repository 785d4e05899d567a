// Package attack maps MITRE ATT&CK STIX bundles (2.0 and 2.1) to omen's entities and relationships:
// tactics, techniques and sub-techniques, groups, software, campaigns, mitigations and the
// relationships between them.
package attack

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// object holds the STIX properties omen keeps from an ATT&CK object.
type object struct {
	Type        string    `json:"type"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
	Revoked     bool      `json:"revoked"`
	Deprecated  bool      `json:"x_mitre_deprecated"`
	Aliases     []string  `json:"aliases"`
	MitreAlias  []string  `json:"x_mitre_aliases"`
	ShortName   string    `json:"x_mitre_shortname"`
	Platforms   []string  `json:"x_mitre_platforms"`
	SubTech     bool      `json:"x_mitre_is_subtechnique"`
	Phases      []struct {
		KillChain string `json:"kill_chain_name"`
		Phase     string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	ExternalRefs []struct {
		Source     string `json:"source_name"`
		ExternalID string `json:"external_id"`
		URL        string `json:"url"`
	} `json:"external_references"`
	RelType   string `json:"relationship_type"`
	SourceRef string `json:"source_ref"`
	TargetRef string `json:"target_ref"`
}

var entityTypes = map[string]intel.EntityType{
	"attack-pattern":   intel.AttackPattern,
	"intrusion-set":    intel.IntrusionSet,
	"malware":          intel.Malware,
	"tool":             intel.Tool,
	"course-of-action": intel.CourseOfAction,
	"campaign":         intel.Campaign,
	"x-mitre-tactic":   "x-mitre-tactic",
}

// Stats counts what a bundle held.
type Stats struct {
	Entities, Relationships, Skipped int // Skipped: revoked, deprecated, or types omen does not keep
}

// Parse reads one STIX bundle and returns its entities and relationships, attributed to source.
// Revoked and deprecated objects are skipped, as are relationships of them.
func Parse(r io.Reader, source string) ([]intel.Entity, []intel.Relationship, Stats, error) {
	var b struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	var st Stats
	if err := json.NewDecoder(r).Decode(&b); err != nil {
		return nil, nil, st, fmt.Errorf("decoding STIX bundle: %w", err)
	}
	if b.Type != "bundle" {
		return nil, nil, st, fmt.Errorf("not a STIX bundle: type %q", b.Type)
	}
	var es []intel.Entity
	var rels []intel.Relationship
	gone := map[string]bool{}
	for i, raw := range b.Objects {
		var o object
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, nil, st, fmt.Errorf("object %d: %w", i, err)
		}
		if o.Revoked || o.Deprecated {
			gone[o.ID] = true
			st.Skipped++
			continue
		}
		if o.Type == "relationship" {
			rels = append(rels, intel.Relationship{ID: o.ID, Type: o.RelType, SourceRef: o.SourceRef, TargetRef: o.TargetRef,
				Source: source, Created: o.Created, Modified: o.Modified})
			continue
		}
		t, ok := entityTypes[o.Type]
		if !ok {
			st.Skipped++
			continue
		}
		e := intel.Entity{ID: o.ID, Type: t, Name: o.Name, Description: o.Description, Source: source,
			Created: o.Created, Modified: o.Modified, Attributes: map[string]any{}}
		for _, a := range append(o.Aliases, o.MitreAlias...) {
			if a != o.Name {
				e.Aliases = append(e.Aliases, a)
			}
		}
		for _, ref := range o.ExternalRefs {
			if ref.Source == "mitre-attack" && ref.ExternalID != "" {
				e.Attributes["attack_id"] = ref.ExternalID
				e.Attributes["url"] = ref.URL
			}
		}
		if len(o.Platforms) > 0 {
			e.Attributes["platforms"] = o.Platforms
		}
		if o.ShortName != "" {
			e.Attributes["shortname"] = o.ShortName
		}
		if o.Type == "attack-pattern" {
			e.Attributes["subtechnique"] = o.SubTech
		}
		var tactics []string
		for _, p := range o.Phases {
			if p.KillChain == "mitre-attack" {
				tactics = append(tactics, p.Phase)
			}
		}
		if len(tactics) > 0 {
			e.Attributes["tactics"] = tactics
		}
		es = append(es, e)
	}
	kept := rels[:0]
	for _, r := range rels {
		if gone[r.SourceRef] || gone[r.TargetRef] {
			st.Skipped++
			continue
		}
		kept = append(kept, r)
	}
	st.Entities, st.Relationships = len(es), len(kept)
	return es, kept, st, nil
}
