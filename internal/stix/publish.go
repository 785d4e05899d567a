package stix

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
)

// Publisher keeps omen's merged indicators in the STIX pool ([store.STIXPool]), so that the TAXII
// collections, views over the pool, serve what every source taught omen and not only what arrived
// as STIX.
//
// Each indicator is one STIX indicator object (the id [Export] gives it), created by
// [OmenIdentity] and marked with the indicator's least restrictive TLP. It says only what the
// reports at that level say, so nothing more restricted leaks into it. A new version is written
// only when what the object says changes: a list refreshing its values' last-seen does not count,
// so a consumer polling with added_after is not handed the whole list again every hour. An
// indicator that has decayed away gets one more version with valid_until set.
//
// A Publisher remembers what it published; the first Run reads that back from the pool. Run is
// not safe for concurrent use.
type Publisher struct {
	Store  store.Store
	Model  risk.Model // its decay lifetimes say when an indicator has expired
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now

	last map[string]published // indicator object id → its last published version
}

// published is what the Publisher remembers of a version it wrote.
type published struct {
	hash              uint64
	created, modified time.Time
	revoked           bool
}

// PublishStats counts what a [Publisher.Run] did.
type PublishStats struct {
	Indicators int           `json:"indicators"` // indicators read
	Published  int           `json:"published"`  // new versions written
	Unchanged  int           `json:"unchanged"`  // indicators whose last version still holds
	Skipped    int           `json:"skipped"`    // observables STIX has no pattern for (CVE, JA3)
	Withheld   int           `json:"withheld"`   // warninglisted indicators, never published
	Revoked    int           `json:"revoked"`    // published earlier, warninglisted since: revoked
	Elapsed    time.Duration `json:"elapsed_ns"`
}

// hashProperty carries the content hash in the published object, so a restarted Publisher can
// tell whether its last version still holds.
const hashProperty = "x_omen_content_hash"

// Run publishes every indicator whose object changed since the last run.
func (p *Publisher) Run(ctx context.Context) (PublishStats, error) {
	start := time.Now()
	var st PublishStats
	if p.last == nil {
		if err := p.putReferenced(ctx); err != nil {
			return st, err
		}
		last, err := p.load(ctx)
		if err != nil {
			return st, err
		}
		p.last = last
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	at := now().UTC().Truncate(time.Millisecond)
	var batch []store.STIXObject
	pending := map[string]published{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := p.Store.PutSTIXObjects(ctx, batch); err != nil {
			return fmt.Errorf("stix publish: storing %d indicators: %w", len(batch), err)
		}
		for id, v := range pending {
			p.last[id] = v
		}
		st.Published += len(batch)
		batch, pending = batch[:0], map[string]published{}
		return nil
	}
	err := p.Store.ScanIndicators(ctx, func(in intel.Indicator) error {
		st.Indicators++
		obj, ok := p.object(in, at)
		if !ok {
			st.Skipped++
			return nil
		}
		if len(in.Warninglists) > 0 {
			// Known-benign infrastructure is never published; one published before it was
			// warninglisted gets a last, revoked version so that consumers drop it.
			st.Withheld++
			if prev, seen := p.last[obj.id]; !seen || prev.revoked {
				return nil
			}
			obj.props["revoked"] = true
			st.Revoked++
		}
		b, err := json.Marshal(obj.props)
		if err != nil {
			return fmt.Errorf("stix publish: encoding %s: %w", obj.id, err)
		}
		h := fnv.New64a()
		h.Write(b)
		sum := h.Sum64()
		prev, seen := p.last[obj.id]
		if seen && prev.hash == sum {
			st.Unchanged++
			return nil
		}
		created, modified := obj.created, at
		if seen {
			created = prev.created
			if !modified.After(prev.modified) { // a new version needs a later modified
				modified = prev.modified.Add(time.Millisecond)
			}
		}
		if modified.Before(created) {
			modified = created
		}
		obj.props["created"], obj.props["modified"] = stixTime(created), stixTime(modified)
		obj.props[hashProperty] = strconv.FormatUint(sum, 16)
		raw, err := json.Marshal(obj.props)
		if err != nil {
			return fmt.Errorf("stix publish: encoding %s: %w", obj.id, err)
		}
		revoked := obj.props["revoked"] == true
		batch = append(batch, store.STIXObject{Collection: store.STIXPool, ID: obj.id, Type: "indicator",
			SpecVersion: "2.1", Created: created, Modified: modified, Revoked: revoked, TLP: obj.tlp,
			Confidence: obj.confidence, Raw: raw})
		pending[obj.id] = published{hash: sum, created: created, modified: modified, revoked: revoked}
		if len(batch) >= BatchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	st.Elapsed = time.Since(start)
	if p.Logger != nil && err == nil {
		p.Logger.Info("stix pool published", "indicators", st.Indicators, "published", st.Published,
			"unchanged", st.Unchanged, "skipped", st.Skipped, "withheld_warninglisted", st.Withheld,
			"revoked", st.Revoked, "elapsed", st.Elapsed.Round(time.Millisecond))
	}
	return st, err
}

// pubObject is an indicator object before its version is decided.
type pubObject struct {
	id         string
	props      map[string]any // without created, modified and the hash
	created    time.Time      // for a first version
	tlp        intel.TLP
	confidence int
}

// object builds in's indicator object from the reports at its least restrictive TLP; ok is false
// for an observable STIX has no pattern for.
func (p *Publisher) object(in intel.Indicator, now time.Time) (pubObject, bool) {
	tlp := in.TLP()
	v, ok := in.Visible(tlp)
	if !ok {
		return pubObject{}, false
	}
	_, _, pat, ok := scoOf(v.Observable)
	if !ok {
		return pubObject{}, false
	}
	first, last, conf, until, threat := summarize(v)
	if life := p.Model.DecayFor(v.Observable.Type).Lifetime; until.IsZero() && life > 0 && now.Sub(last) >= life {
		until = last.Add(life) // decayed away: say so once
	}
	first = first.UTC().Truncate(time.Millisecond)
	o := pubObject{id: omenID("indicator", v.Observable.String()), created: first, tlp: tlp, confidence: conf}
	o.props = map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": o.id, "created_by_ref": OmenIdentity,
		"object_marking_refs": []string{TLPMarkingID(tlp)},
		"name":                v.Observable.Value, "pattern": pat, "pattern_type": "stix", "pattern_version": "2.1",
		"valid_from": stixTime(first), "confidence": conf, "indicator_types": []string{indicatorType(threat)},
	}
	if until.After(first) {
		o.props["valid_until"] = stixTime(until)
	}
	if tags := v.Tags(); len(tags) > 0 {
		o.props["labels"] = tags
	}
	if threat != "" {
		o.props["x_omen_threat_type"] = threat
	}
	var sources []string
	for _, r := range v.Reports {
		sources = append(sources, r.Source)
	}
	slices.Sort(sources)
	o.props["x_omen_sources"] = slices.Compact(sources)
	return o, true
}

// load reads back the last version of every indicator omen published to the pool.
func (p *Publisher) load(ctx context.Context) (map[string]published, error) {
	last := map[string]published{}
	q := store.STIXQuery{Collection: store.STIXPool, Types: []string{"indicator"}, MaxTLP: intel.TLPRed, Limit: 1000}
	for {
		page, err := p.Store.STIXObjects(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("stix publish: reading the pool: %w", err)
		}
		for _, o := range page.Objects {
			var m struct {
				CreatedBy string `json:"created_by_ref"`
				Hash      string `json:"x_omen_content_hash"`
			}
			if json.Unmarshal(o.Raw, &m) != nil || m.CreatedBy != OmenIdentity || m.Hash == "" {
				continue
			}
			if h, err := strconv.ParseUint(m.Hash, 16, 64); err == nil {
				last[o.ID] = published{hash: h, created: o.Created, modified: o.Modified, revoked: o.Revoked}
			}
		}
		if !page.More {
			return last, nil
		}
		q.Next = page.Next
	}
}

// putReferenced puts the objects every published indicator refers to in the pool, so that a TAXII
// client can resolve them: omen's identity and the TLP 2.0 marking definitions. The store keeps
// one version of each.
func (p *Publisher) putReferenced(ctx context.Context) error {
	objs := []map[string]any{identityObject()}
	for t := intel.TLPClear; t <= intel.TLPRed; t++ {
		objs = append(objs, tlpMarkingObject(t))
	}
	batch := make([]store.STIXObject, 0, len(objs))
	for _, o := range objs {
		raw, err := json.Marshal(o)
		if err != nil {
			return err
		}
		m, err := ObjectMeta(raw)
		if err != nil {
			return fmt.Errorf("stix publish: %s: %w", o["id"], err)
		}
		m.Collection = store.STIXPool
		batch = append(batch, m)
	}
	if _, err := p.Store.PutSTIXObjects(ctx, batch); err != nil {
		return fmt.Errorf("stix publish: storing omen's identity and markings: %w", err)
	}
	return nil
}
