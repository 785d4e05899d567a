package stix

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Selection picks what [Export] writes: every indicator and entity, or the indicators of the
// given observables and the given entities. Relationships between the objects written come along.
type Selection struct {
	All         bool
	Observables []intel.Observable // canonical
	EntityIDs   []string
	// Types, when set, keeps the indicators of these observable types only (with All).
	Types []intel.Type
}

// ExportCounts says what an export wrote.
type ExportCounts struct {
	Indicators    int `json:"indicators"`
	Observables   int `json:"observables"` // SCOs
	Entities      int `json:"entities"`
	Relationships int `json:"relationships"`
	Markings      int `json:"markings"`
	Skipped       int `json:"skipped"` // indicators of types STIX has no observable for (ja3, cve)
	// Withheld counts warninglisted indicators (known-benign infrastructure, such as public
	// resolvers or CDNs): omen never exports them, whoever asks.
	Withheld int `json:"withheld_warninglisted"`
}

// OmenIdentity is the id of the identity object omen's exports name as their creator.
var OmenIdentity = omenID("identity", "omen")

// omenIdentityCreated is the fixed creation time of omen's identity object.
const omenIdentityCreated = "2026-01-01T00:00:00.000Z"

// stixTime formats t as a STIX timestamp with millisecond precision.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Export writes a STIX 2.1 bundle of the selection to w: per indicator an indicator object whose
// pattern matches its observable, the observable as an SCO with its deterministic id and a
// based-on relationship between them; entities as their SDOs with their attributes (and all of
// them under x_omen_attributes); the relationships between the objects written; omen's identity
// as created_by_ref; and the TLP 2.0 marking definitions the objects reference. Only what
// clearance allows is written: reports, entities and relationships marked above it are left out.
func Export(ctx context.Context, st store.Store, sel Selection, clearance intel.TLP, w io.Writer) (ExportCounts, error) {
	ex := &exporter{st: st, clearance: clearance, bw: bufio.NewWriterSize(w, 1<<16), refs: map[string]string{},
		seen: map[string]bool{}, now: time.Now().UTC(), types: sel.Types}
	ex.enc = json.NewEncoder(ex.bw)
	ex.enc.SetEscapeHTML(false)
	fmt.Fprintf(ex.bw, `{"type":"bundle","id":"bundle--%s","objects":[`, uuid.New())
	if err := ex.run(ctx, sel); err != nil {
		return ex.counts, err
	}
	ex.bw.WriteString("]}\n")
	return ex.counts, ex.bw.Flush()
}

// exporter is the state of one export.
type exporter struct {
	st        store.Store
	clearance intel.TLP
	bw        *bufio.Writer
	enc       *json.Encoder
	n         int               // objects written
	refs      map[string]string // omen ref (observable "type:value" or entity id) -> STIX id written
	seen      map[string]bool
	tlps      [intel.TLPRed + 1]bool
	counts    ExportCounts
	now       time.Time
	pending   []intel.Relationship // relationships whose other end may be written later
	types     []intel.Type         // Selection.Types
}

// identityObject is omen's identity, the creator its exports and published objects name.
func identityObject() map[string]any {
	return map[string]any{"type": "identity", "spec_version": "2.1", "id": OmenIdentity,
		"created": omenIdentityCreated, "modified": omenIdentityCreated, "name": "omen", "identity_class": "system"}
}

func (ex *exporter) run(ctx context.Context, sel Selection) error {
	if err := ex.write(identityObject()); err != nil {
		return err
	}
	ents, err := ex.selectEntities(ctx, sel)
	if err != nil {
		return err
	}
	for _, e := range ents { // ids first, so that indicator relationships find them
		ex.refs[e.ID] = sdoID(e)
	}
	if err := ex.indicators(ctx, sel); err != nil {
		return err
	}
	for _, e := range ents {
		if err := ex.entity(ctx, e); err != nil {
			return err
		}
	}
	return ex.finish()
}

// selectEntities returns the selected entities the caller may see.
func (ex *exporter) selectEntities(ctx context.Context, sel Selection) ([]intel.Entity, error) {
	var ents []intel.Entity
	if sel.All {
		all, err := ex.st.ListEntities(ctx, store.EntityFilter{})
		if err != nil {
			return nil, fmt.Errorf("stix export: listing entities: %w", err)
		}
		ents = all
	} else {
		for _, id := range sel.EntityIDs {
			e, err := ex.st.Entity(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("stix export: reading entity %s: %w", id, err)
			}
			ents = append(ents, e)
		}
	}
	return slices.DeleteFunc(ents, func(e intel.Entity) bool { return !ex.clearance.Allows(e.TLP) }), nil
}

// indicators writes the selected indicators.
func (ex *exporter) indicators(ctx context.Context, sel Selection) error {
	if sel.All {
		return ex.st.ScanIndicators(ctx, func(in intel.Indicator) error { return ex.indicator(ctx, in) })
	}
	for len(sel.Observables) > 0 {
		n := min(len(sel.Observables), 1000)
		ins, err := ex.st.Indicators(ctx, sel.Observables[:n])
		if err != nil {
			return fmt.Errorf("stix export: reading indicators: %w", err)
		}
		for _, in := range ins {
			if _, done := ex.refs[in.Observable.String()]; done {
				continue
			}
			if err := ex.indicator(ctx, in); err != nil {
				return err
			}
		}
		sel.Observables = sel.Observables[n:]
	}
	return nil
}

// write appends one object to the bundle.
func (ex *exporter) write(obj map[string]any) error {
	if ex.n > 0 {
		ex.bw.WriteByte(',')
	}
	ex.n++
	if refs, ok := obj["object_marking_refs"].([]string); ok {
		for _, r := range refs {
			for t, id := range tlp2IDs {
				if id == r {
					ex.tlps[t] = true
				}
			}
		}
	}
	if err := ex.enc.Encode(obj); err != nil {
		return fmt.Errorf("stix export: encoding %v: %w", obj["id"], err)
	}
	return nil
}

// common sets the properties every SDO and SRO written has.
func common(obj map[string]any, typ, id string, created, modified time.Time, tlp intel.TLP) map[string]any {
	if created.IsZero() {
		created = modified
	}
	if modified.Before(created) {
		modified = created
	}
	obj["type"], obj["spec_version"], obj["id"] = typ, "2.1", id
	obj["created"], obj["modified"] = stixTime(created), stixTime(modified)
	obj["created_by_ref"] = OmenIdentity
	obj["object_marking_refs"] = []string{TLPMarkingID(tlp)}
	return obj
}

// indicator writes an indicator, its SCO and the based-on relationship, and remembers the
// observable's relationships.
func (ex *exporter) indicator(ctx context.Context, in intel.Indicator) error {
	in, ok := in.Visible(ex.clearance)
	if !ok {
		return nil
	}
	if len(ex.types) > 0 && !slices.Contains(ex.types, in.Observable.Type) {
		return nil
	}
	if len(in.Warninglists) > 0 {
		ex.counts.Withheld++
		return nil
	}
	scoType, props, pat, ok := scoOf(in.Observable)
	if !ok {
		ex.counts.Skipped++
		return nil
	}
	ref := in.Observable.String()
	id := omenID("indicator", ref)
	first, last, conf, until, threat := summarize(in)
	obj := common(map[string]any{}, "indicator", id, first, last, in.TLP())
	obj["name"], obj["pattern"], obj["pattern_type"], obj["pattern_version"] = in.Observable.Value, pat, "stix", "2.1"
	obj["valid_from"], obj["confidence"] = stixTime(first), conf
	if until.After(first) {
		obj["valid_until"] = stixTime(until)
	}
	if tags := in.Tags(); len(tags) > 0 {
		obj["labels"] = tags
	}
	obj["indicator_types"] = []string{indicatorType(threat)}
	if threat != "" {
		obj["x_omen_threat_type"] = threat
	}
	if err := ex.write(obj); err != nil {
		return err
	}
	ex.refs[ref] = id
	ex.counts.Indicators++
	if err := ex.sco(scoType, props, id, first, last, in.TLP()); err != nil {
		return err
	}
	return ex.collectRelationships(ctx, ref)
}

// summarize works out an indicator's dates, confidence, validity and threat type from its
// visible reports: the latest report says the threat type and validity.
func summarize(in intel.Indicator) (first, last time.Time, conf int, until time.Time, threat string) {
	allUntil := true
	for _, r := range in.Reports {
		if first.IsZero() || r.FirstSeen.Before(first) {
			first = r.FirstSeen
		}
		if !r.LastSeen.Before(last) {
			last, threat = r.LastSeen, r.ThreatType
		}
		conf = max(conf, r.Confidence)
		if r.ValidUntil.IsZero() {
			allUntil = false
		} else if r.ValidUntil.After(until) {
			until = r.ValidUntil
		}
	}
	if !allUntil {
		until = time.Time{}
	}
	return first, last, conf, until, threat
}

// indicatorType maps omen's threat type to the indicator-type-ov vocabulary.
func indicatorType(threat string) string {
	switch threat {
	case "anonymizer":
		return "anonymization"
	case "compromised", "benign", "attribution", "anomalous-activity":
		return threat
	}
	return "malicious-activity"
}

// sco writes an observable's SCO and the based-on relationship from its indicator.
func (ex *exporter) sco(typ string, props map[string]any, indID string, created, modified time.Time, tlp intel.TLP) error {
	id, _ := SCOID(typ, props)
	if !ex.seen[id] {
		ex.seen[id] = true
		obj := map[string]any{"type": typ, "spec_version": "2.1", "id": id, "object_marking_refs": []string{TLPMarkingID(tlp)}}
		for k, v := range props {
			obj[k] = v
		}
		if err := ex.write(obj); err != nil {
			return err
		}
		ex.counts.Observables++
	}
	rel := common(map[string]any{}, "relationship", omenID("relationship", "based-on|"+indID+"|"+id), created, modified, tlp)
	rel["relationship_type"], rel["source_ref"], rel["target_ref"] = "based-on", indID, id
	ex.counts.Relationships++
	return ex.write(rel)
}

// collectRelationships remembers ref's relationships, to be written once both ends are known.
func (ex *exporter) collectRelationships(ctx context.Context, ref string) error {
	rels, err := ex.st.Relationships(ctx, ref)
	if err != nil {
		return fmt.Errorf("stix export: reading relationships of %s: %w", ref, err)
	}
	for _, r := range rels {
		if ex.clearance.Allows(r.TLP) && !ex.seen[r.ID] {
			ex.seen[r.ID] = true
			ex.pending = append(ex.pending, r)
		}
	}
	return nil
}

// finish writes the relationships whose ends were both written, and the marking definitions.
func (ex *exporter) finish() error {
	for _, r := range ex.pending {
		src, ok1 := ex.refs[r.SourceRef]
		dst, ok2 := ex.refs[r.TargetRef]
		if !ok1 || !ok2 {
			continue
		}
		id := r.ID
		if checkID(id, "relationship") != nil {
			id = omenID("relationship", r.ID)
		}
		obj := common(map[string]any{}, "relationship", id, r.Created, r.Modified, r.TLP)
		if r.Created.IsZero() && r.Modified.IsZero() {
			obj["created"], obj["modified"] = stixTime(ex.now), stixTime(ex.now)
		}
		obj["relationship_type"], obj["source_ref"], obj["target_ref"] = r.Type, src, dst
		if err := ex.write(obj); err != nil {
			return err
		}
		ex.counts.Relationships++
	}
	for t, used := range ex.tlps {
		if used {
			if err := ex.write(tlpMarkingObject(intel.TLP(t))); err != nil {
				return err
			}
			ex.counts.Markings++
		}
	}
	return nil
}
