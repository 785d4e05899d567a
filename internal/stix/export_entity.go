package stix

import (
	"context"
	"regexp"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// validType matches a STIX object type name.
var validType = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// sdoType is the STIX type an entity is written as.
func sdoType(e intel.Entity) string {
	t := string(e.Type)
	if len(t) < 3 || len(t) > 250 || !validType.MatchString(t) {
		return "x-omen-entity"
	}
	return t
}

// sdoID is the STIX id an entity is written under: its own id when that is a STIX id of its type,
// else one derived from it.
func sdoID(e intel.Entity) string {
	t := sdoType(e)
	if checkID(e.ID, t) == nil {
		return e.ID
	}
	return omenID(t, e.ID)
}

// aliasTypes are the SDO types with an aliases property.
var aliasTypes = map[string]bool{"campaign": true, "infrastructure": true, "intrusion-set": true, "malware": true,
	"threat-actor": true, "tool": true}

// nameRequired are the SDO types that must have a name (malware only as a family, which omen
// writes it as).
var nameRequired = map[string]bool{"attack-pattern": true, "campaign": true, "course-of-action": true, "identity": true,
	"infrastructure": true, "intrusion-set": true, "malware": true, "report": true, "threat-actor": true, "tool": true,
	"vulnerability": true}

// passThrough are the attributes the import took from STIX properties of the same name; they go
// back to those properties.
var passThrough = []string{"labels", "malware_types", "threat_actor_types", "tool_types", "infrastructure_types",
	"identity_class", "sectors", "report_types", "context", "country", "region", "goals", "objective",
	"primary_motivation", "sophistication", "city", "latitude", "longitude", "first_seen", "last_seen", "published", "object_refs", "is_family",
	"pattern", "pattern_type", "pattern_version", "valid_from", "valid_until", "indicator_types"}

// entity writes an entity as its SDO and remembers its relationships.
func (ex *exporter) entity(ctx context.Context, e intel.Entity) error {
	typ, id := sdoType(e), ex.refs[e.ID]
	mod := e.Modified
	if mod.IsZero() && e.Created.IsZero() {
		mod = ex.now
	}
	obj := common(map[string]any{}, typ, id, e.Created, mod, e.TLP)
	switch {
	case e.Name != "":
		obj["name"] = e.Name
	case nameRequired[typ]:
		obj["name"] = e.ID
	}
	if e.Description != "" {
		obj["description"] = e.Description
	}
	if len(e.Aliases) > 0 {
		if aliasTypes[typ] {
			obj["aliases"] = e.Aliases
		} else {
			obj["x_omen_aliases"] = e.Aliases
		}
	}
	for _, k := range passThrough {
		if v, ok := e.Attributes[k]; ok && !empty(v) {
			obj[k] = v
		}
	}
	if c, ok := e.Attributes["confidence"].(float64); ok && c >= 0 && c <= 100 {
		obj["confidence"] = int(c)
	}
	if e.Attributes["revoked"] == true {
		obj["revoked"] = true
	}
	if refs := externalRefs(e.Attributes); len(refs) > 0 {
		obj["external_references"] = refs
	}
	if len(e.Attributes) > 0 {
		obj["x_omen_attributes"] = e.Attributes
	}
	required(obj, typ, e, ex.now)
	if err := ex.write(obj); err != nil {
		return err
	}
	ex.counts.Entities++
	return ex.collectRelationships(ctx, e.ID)
}

// empty reports whether an attribute value would be an empty STIX property.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}

// externalRefs rebuilds the external references the import turned into attributes.
func externalRefs(a map[string]any) []map[string]any {
	var out []map[string]any
	if id, ok := a["attack_id"].(string); ok && id != "" {
		r := map[string]any{"source_name": "mitre-attack", "external_id": id}
		if u, ok := a["url"].(string); ok && u != "" {
			r["url"] = u
		}
		out = append(out, r)
	}
	if id, ok := a["cve"].(string); ok && id != "" {
		out = append(out, map[string]any{"source_name": "cve", "external_id": id})
	}
	if id, ok := a["capec_id"].(string); ok && id != "" {
		out = append(out, map[string]any{"source_name": "capec", "external_id": id})
	}
	return out
}

// required fills the properties STIX 2.1 requires of a type and the entity may lack.
func required(obj map[string]any, typ string, e intel.Entity, now time.Time) {
	setDefault := func(k string, v any) {
		if _, ok := obj[k]; !ok {
			obj[k] = v
		}
	}
	created := e.Created
	if created.IsZero() {
		created = now
	}
	switch typ {
	case "malware":
		setDefault("is_family", true)
	case "report":
		setDefault("published", stixTime(created))
		setDefault("object_refs", []string{OmenIdentity})
	case "grouping":
		setDefault("context", "unspecified")
		setDefault("object_refs", []string{OmenIdentity})
	case "note":
		delete(obj, "name")
		setDefault("content", firstNonEmpty(e.Description, e.Name, e.ID))
		if e.Name != "" {
			obj["abstract"] = e.Name
		}
		setDefault("object_refs", []string{OmenIdentity})
	case "location":
		if obj["region"] == nil && obj["country"] == nil && obj["latitude"] == nil {
			obj["region"] = "unknown"
		}
	case "indicator":
		delete(obj, "x_omen_aliases")
		setDefault("pattern_type", "stix")
		setDefault("pattern", "")
		setDefault("valid_from", stixTime(created))
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
