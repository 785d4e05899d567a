package stix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/omen-tip/omen/internal/collect/attack"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// attackTypes are the types whose ATT&CK properties internal/collect/attack knows how to read.
var attackTypes = map[string]bool{
	"attack-pattern": true, "intrusion-set": true, "malware": true, "tool": true, "course-of-action": true,
	"campaign": true, "x-mitre-tactic": true,
}

// entities maps an SDO (or an SDO-like custom object, or a pattern-only indicator) to its entity.
// A revoked object keeps its entity, flagged with the attribute revoked=true; a revoked version
// without a name only sets that flag on the entity held.
func (ru *run) entities(ctx context.Context, it item) ([]intel.Entity, []intel.Relationship, error) {
	o := it.o
	if o.Revoked && entityName(o) == "" {
		err := ru.st.MergeEntityAttributes(ctx, o.ID, map[string]any{"revoked": true})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, fmt.Errorf("stix import: flagging %s revoked: %w", o.ID, err)
		}
		return nil, nil, nil
	}
	e := intel.Entity{ID: o.ID, Type: intel.EntityType(o.Type), Name: entityName(o), Description: o.Description,
		Source: ru.o.Source, TLP: it.tlp, Created: o.created, Modified: o.version(), Attributes: attributes(o)}
	sp := o.props()
	for _, a := range append(slices.Clone(sp.Aliases), sp.MitreAlias...) {
		if a != e.Name && !slices.Contains(e.Aliases, a) {
			e.Aliases = append(e.Aliases, a)
		}
	}
	if attackTypes[o.Type] {
		mergeAttack(&e, it.raw, ru.o.Source)
	}
	maps.Copy(e.Attributes, sp.OmenAttrs)
	if o.Revoked {
		e.Attributes["revoked"] = true
	}
	if len(e.Attributes) == 0 {
		e.Attributes = nil
	}
	return []intel.Entity{e}, nil, nil
}

// mergeAttack adds the ATT&CK properties (ATT&CK id and URL, platforms, tactics, sub-technique
// flag...) that internal/collect/attack reads, by handing it the object as a one-object bundle,
// so that the two imports agree on them.
func mergeAttack(e *intel.Entity, raw []byte, source string) {
	var b bytes.Buffer
	b.Grow(len(raw) + 40)
	b.WriteString(`{"type":"bundle","objects":[`)
	b.Write(raw)
	b.WriteString(`]}`)
	es, _, _, err := attack.Parse(&b, source)
	if err != nil || len(es) != 1 {
		return // revoked or deprecated (attack skips those), or not ATT&CK-shaped: the generic mapping stands
	}
	maps.Copy(e.Attributes, es[0].Attributes)
}

// entityName is the name an entity is listed under.
func entityName(o *object) string {
	sp := o.props()
	switch {
	case o.Name != "":
		return o.Name
	case o.Type == "note" && sp.Abstract != "":
		return sp.Abstract
	case o.Type == "note":
		return truncate(sp.Content, 120)
	case o.Type == "location":
		for _, s := range []string{sp.City, sp.Region, sp.Country} {
			if s != "" {
				return s
			}
		}
	case o.Type == "indicator":
		return truncate(o.Pattern, 200)
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// attributes gathers the type-specific properties omen keeps on an entity.
func attributes(o *object) map[string]any {
	sp := o.props()
	a := map[string]any{}
	set := func(k string, v any) {
		switch x := v.(type) {
		case string:
			if x != "" {
				a[k] = x
			}
		case []string:
			if len(x) > 0 {
				a[k] = x
			}
		case *bool:
			if x != nil {
				a[k] = *x
			}
		case *int:
			if x != nil {
				a[k] = *x
			}
		case *float64:
			if x != nil {
				a[k] = *x
			}
		}
	}
	set("labels", o.Labels)
	set("malware_types", sp.MalwareTypes)
	set("is_family", sp.IsFamily)
	set("threat_actor_types", sp.ActorTypes)
	set("tool_types", sp.ToolTypes)
	set("infrastructure_types", sp.InfraTypes)
	set("identity_class", sp.IdentityClass)
	set("sectors", sp.Sectors)
	set("report_types", sp.ReportTypes)
	set("context", sp.Context)
	set("country", sp.Country)
	set("region", sp.Region)
	set("city", sp.City)
	set("latitude", sp.Latitude)
	set("longitude", sp.Longitude)
	set("goals", sp.Goals)
	set("objective", sp.Objective)
	set("primary_motivation", sp.Motivation)
	set("sophistication", sp.Sophisticatn)
	set("published", sp.Published)
	set("first_seen", sp.FirstSeen)
	set("last_seen", sp.LastSeen)
	set("object_refs", sp.ObjectRefs)
	set("confidence", o.Confidence)
	if o.Type == "indicator" {
		set("pattern", o.Pattern)
		set("pattern_type", o.PatternType)
		set("pattern_version", o.PatternVersion)
		set("valid_from", o.ValidFrom)
		set("valid_until", o.ValidUntil)
		set("indicator_types", o.IndicatorTypes)
	}
	for _, r := range sp.ExternalRefs {
		switch {
		case r.Source == "cve" && r.ExternalID != "":
			a["cve"] = r.ExternalID
		case r.Source == "capec" && r.ExternalID != "":
			a["capec_id"] = r.ExternalID
		}
	}
	return a
}
