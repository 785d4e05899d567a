package stix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// item is one valid object of a batch.
type item struct {
	index int
	raw   json.RawMessage
	o     *object
	tlp   intel.TLP
}

// sdoTypes are the STIX 2.1 domain object types.
var sdoTypes = map[string]bool{
	"attack-pattern": true, "campaign": true, "course-of-action": true, "grouping": true, "identity": true,
	"incident": true, "indicator": true, "infrastructure": true, "intrusion-set": true, "location": true,
	"malware": true, "malware-analysis": true, "note": true, "observed-data": true, "opinion": true,
	"report": true, "threat-actor": true, "tool": true, "vulnerability": true,
}

// knownType reports whether t is a type the STIX 2.1 specification defines.
func knownType(t string) bool {
	return sdoTypes[t] || scoTypes[t] || nonEntityTypes[t]
}

// flush stores and applies the queued objects. The verbatim objects are written in the
// background while the batch is applied and the next one read; the next flush waits for them
// before it asks which versions are held.
func (ru *run) flush(ctx context.Context) error {
	if len(ru.batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	items := ru.decodeBatch()
	ru.batch = ru.batch[:0]
	if err := ru.waitPut(); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	held, err := ru.held(ctx, items)
	if err != nil {
		return err
	}
	objs := make([]store.STIXObject, len(items))
	for i, it := range items {
		objs[i] = ru.stixObject(it)
	}
	done := make(chan putResult, 1)
	ru.putting = done
	go func() {
		added, err := ru.st.PutSTIXObjects(ctx, objs)
		done <- putResult{added: added, n: len(objs), err: err}
	}()
	return ru.apply(ctx, items, held)
}

// putResult is the outcome of one background PutSTIXObjects.
type putResult struct {
	added, n int
	err      error
}

// waitPut waits for the background write of the previous batch and counts it.
func (ru *run) waitPut() error {
	if ru.putting == nil {
		return nil
	}
	r := <-ru.putting
	ru.putting = nil
	if r.err != nil {
		return fmt.Errorf("stix import: storing %d objects: %w", r.n, r.err)
	}
	ru.counts.Stored += r.added
	ru.counts.Unchanged += r.n - r.added
	return nil
}

// decoded is one queued object after decodeObject.
type decoded struct {
	o   *object
	err error
}

// decodeAll decodes the batch, on several cores when it is large: decoding is most of an
// import's own work.
func decodeAll(batch []pending) []decoded {
	out := make([]decoded, len(batch))
	workers := min(runtime.GOMAXPROCS(0), 4)
	if len(batch) < 128 || workers < 2 {
		for i, p := range batch {
			out[i].o, out[i].err = decodeObject(p.raw)
		}
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(batch) + workers - 1) / workers
	for lo := 0; lo < len(batch); lo += chunk {
		hi := min(lo+chunk, len(batch))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i].o, out[i].err = decodeObject(batch[i].raw)
			}
		})
	}
	wg.Wait()
	return out
}

// decodeBatch decodes and validates the queued objects, rejecting the bad ones, and learns the
// batch's TLP marking definitions before the objects' TLPs are worked out.
func (ru *run) decodeBatch() []item {
	items := make([]item, 0, len(ru.batch))
	for i, d := range decodeAll(ru.batch) {
		p, o := ru.batch[i], d.o
		if d.err != nil {
			typ, id := "", ""
			if o != nil {
				typ, id = o.Type, o.ID
			}
			ru.reject(p.index, typ, id, d.err)
			continue
		}
		ru.counts.Objects++
		ru.counts.ByType[o.Type]++
		if o.Type == "marking-definition" {
			if t, ok := markingTLP(o); ok {
				ru.markings[o.ID] = t
			}
		}
		items = append(items, item{index: p.index, raw: p.raw, o: o})
	}
	for i := range items {
		items[i].tlp = ru.tlpOf(items[i].o)
	}
	return items
}

// tlpOf is the most restrictive TLP among o's markings; the import's TLP when it has none
// (marking definitions themselves are TLP:CLEAR).
func (ru *run) tlpOf(o *object) intel.TLP {
	found, t := false, intel.TLPClear
	for _, ref := range o.Markings {
		m, ok := tlpMarkings[ref]
		if !ok {
			m, ok = ru.markings[ref]
		}
		if ok {
			found, t = true, max(t, m)
		}
	}
	switch {
	case found:
		return t
	case o.Type == "marking-definition":
		return intel.TLPClear
	}
	return ru.o.TLP
}

// stixObject is the verbatim version of it, with its metadata.
func (ru *run) stixObject(it item) store.STIXObject {
	conf := -1
	if it.o.Confidence != nil {
		conf = *it.o.Confidence
	}
	return store.STIXObject{Collection: ru.coll, ID: it.o.ID, Type: it.o.Type, SpecVersion: it.o.specVersion(ru.bundleSV),
		Created: it.o.created, Modified: it.o.version(), Revoked: it.o.Revoked, TLP: it.tlp, Confidence: conf,
		Raw: compact(it.raw)}
}

// compact returns raw without insignificant white space. Input on one line is kept as it is (it
// has no new line, so at most a few spaces to save).
func compact(raw json.RawMessage) []byte {
	if bytes.IndexByte(raw, '\n') < 0 {
		return raw
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// held returns the latest version the store holds of each object of the batch, by id.
func (ru *run) held(ctx context.Context, items []item) (map[string]store.STIXObject, error) {
	ids := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if !seen[it.o.ID] {
			seen[it.o.ID] = true
			ids = append(ids, it.o.ID)
		}
	}
	page, err := ru.st.STIXObjects(ctx, store.STIXQuery{Collection: ru.coll, IDs: ids, Versions: []string{"last"}, MaxTLP: intel.TLPRed})
	if err != nil {
		return nil, fmt.Errorf("stix import: reading the versions held: %w", err)
	}
	out := make(map[string]store.STIXObject, len(page.Objects))
	for _, h := range page.Objects {
		if cur, ok := out[h.ID]; !ok || h.Modified.After(cur.Modified) {
			out[h.ID] = h
		}
	}
	return out, nil
}

// apply maps the batch's current versions to reports, entities and relationships. A version
// older than the one held, or than another version of the same batch, is kept verbatim only.
func (ru *run) apply(ctx context.Context, items []item, held map[string]store.STIXObject) error {
	newest := make(map[string]time.Time, len(items))
	for _, it := range items {
		if v := it.o.version(); v.After(newest[it.o.ID]) {
			newest[it.o.ID] = v
		}
	}
	var ents []intel.Entity
	var rels []intel.Relationship
	entIdx := map[string]int{}
	for _, it := range items {
		v := it.o.version()
		if h, ok := held[it.o.ID]; (ok && v.Before(h.Modified)) || v.Before(newest[it.o.ID]) {
			ru.counts.Outdated++
			continue
		}
		if it.o.Revoked {
			ru.counts.Revoked++
		}
		if !knownType(it.o.Type) {
			ru.counts.Custom++
		}
		e, r, err := ru.applyOne(ctx, it, held[it.o.ID])
		if err != nil {
			return err
		}
		for _, x := range e {
			if i, ok := entIdx[x.ID]; ok {
				ents[i] = x
				continue
			}
			entIdx[x.ID] = len(ents)
			ents = append(ents, x)
		}
		rels = append(rels, r...)
	}
	return ru.putGraph(ctx, ents, rels)
}

// applyOne maps one object, returning the entities and relationships it gives.
func (ru *run) applyOne(ctx context.Context, it item, held store.STIXObject) ([]intel.Entity, []intel.Relationship, error) {
	o := it.o
	switch {
	case o.Type == "indicator":
		e, err := ru.applyIndicator(ctx, it, held)
		return e, nil, err
	case o.Type == "relationship":
		ru.counts.Relationships++
		return nil, []intel.Relationship{ru.relationship(it)}, nil
	case o.Type == "sighting":
		ru.counts.Sightings++
		return nil, ru.sighted(it), nil
	case o.Type == "observed-data":
		ru.counts.Observed += len(o.props().Objects) + len(o.props().ObjectRefs)
		return nil, nil, nil
	case nonEntityTypes[o.Type] || scoTypes[o.Type]:
		return nil, nil, nil
	case sdoTypes[o.Type] || o.Created != "":
		// STIX SDOs, and custom objects that look like SDOs (they have a created timestamp).
		return ru.entities(ctx, it)
	}
	return nil, nil, nil
}

// putGraph stores the batch's entities and relationships.
func (ru *run) putGraph(ctx context.Context, ents []intel.Entity, rels []intel.Relationship) error {
	if len(ents) > 0 {
		if err := ru.st.PutEntities(ctx, ents); err != nil {
			return fmt.Errorf("stix import: %w", err)
		}
		ru.counts.Entities += len(ents)
	}
	if len(rels) > 0 {
		if err := ru.st.PutRelationships(ctx, rels); err != nil {
			return fmt.Errorf("stix import: %w", err)
		}
	}
	return nil
}

// revokedRef is how a revoked relationship's ends are rewritten, so that it no longer links them
// (the store has no delete for relationships); the verbatim object keeps the original.
func revokedRef(ref string) string { return "revoked:" + ref }

// relationship maps an SRO. The relationships whose source is an indicator are remembered, to be
// linked from the indicator's observables at the end.
func (ru *run) relationship(it item) intel.Relationship {
	o := it.o
	r := intel.Relationship{ID: o.ID, Type: o.RelType, SourceRef: o.SourceRef, TargetRef: o.TargetRef,
		Source: ru.o.Source, TLP: it.tlp, Created: o.created, Modified: o.version()}
	if o.Revoked {
		r.SourceRef, r.TargetRef = revokedRef(r.SourceRef), revokedRef(r.TargetRef)
	}
	if isType(o.SourceRef, "indicator") {
		ru.indicatorRels = append(ru.indicatorRels, r)
	}
	return r
}

// sighted records a third-party sighting as "sighted" relationships from where it was sighted
// (identities, locations) to what was sighted; without where_sighted_refs, from the sighting
// itself.
func (ru *run) sighted(it item) []intel.Relationship {
	o := it.o
	if o.SightingOf == "" {
		return nil
	}
	where := o.WhereSighted
	if len(where) == 0 {
		where = []string{o.ID}
	}
	out := make([]intel.Relationship, 0, len(where))
	for i, w := range where {
		id := o.ID
		if i > 0 {
			id = fmt.Sprintf("%s/%d", o.ID, i)
		}
		r := intel.Relationship{ID: id, Type: "sighted", SourceRef: w, TargetRef: o.SightingOf, Source: ru.o.Source,
			TLP: it.tlp, Created: o.created, Modified: o.version()}
		if o.Revoked {
			r.SourceRef, r.TargetRef = revokedRef(r.SourceRef), revokedRef(r.TargetRef)
		}
		out = append(out, r)
	}
	return out
}

// isType reports whether the STIX id is of type t.
func isType(id, t string) bool {
	return len(id) > len(t)+2 && id[:len(t)] == t && id[len(t):len(t)+2] == "--"
}
