package enrich

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store"
)

// involvedAsset is one of the organisation's assets an event involves, and through which value.
type involvedAsset struct {
	asset intel.Asset
	value intel.Observable
	field string // the event field, "" for the event's host
}

var critRank = map[intel.Criticality]int{intel.CriticalityLow: 1, intel.CriticalityMedium: 2, intel.CriticalityHigh: 3,
	intel.CriticalityExtreme: 4}

// assets returns the assets the event's values and host belong to, once each.
func (w *Worker) assets(snap *match.Snapshot) []involvedAsset {
	var out []involvedAsset
	var buf []match.AssetHit
	add := func(o intel.Observable, field string) {
		buf = snap.Assets(o, buf[:0])
		for _, h := range buf {
			if slices.ContainsFunc(out, func(x involvedAsset) bool { return x.asset.ID == h.ID }) {
				continue
			}
			if a, ok := w.e.kb.Asset(h.ID); ok {
				out = append(out, involvedAsset{asset: a, value: o, field: field})
			}
		}
	}
	c := &w.ev.Context
	if c.HostName != "" {
		if o, err := intel.Detect(c.HostName); err == nil {
			add(o, "host.name")
		} else if o, err := intel.Normalize(intel.Account, c.HostName); err == nil {
			add(o, "host.name") // a bare host name is held as a name, like a user name
		}
	}
	for _, ip := range c.HostIPs {
		t := intel.IPv4
		if ip.Is6() && !ip.Is4In6() {
			t = intel.IPv6
		}
		add(intel.Observable{Type: t, Value: ip.Unmap().String()}, "host.ip")
	}
	for _, f := range w.ev.Fields {
		add(f.Observable, f.Path)
	}
	return out
}

// own reports whether o is one of the organisation's own values among the involved assets.
func own(o intel.Observable, involved []involvedAsset) bool {
	for _, a := range involved {
		if a.value == o {
			return true
		}
	}
	return false
}

// topAsset is the involved asset with the highest criticality (the first on a tie).
func topAsset(involved []involvedAsset) *involvedAsset {
	var top *involvedAsset
	for i := range involved {
		if top == nil || critRank[involved[i].asset.Criticality] > critRank[top.asset.Criticality] {
			top = &involved[i]
		}
	}
	return top
}

// maxLinked caps the entities linked to one matched indicator.
const maxLinked = 32

// linked returns the entities an indicator is linked to: through its relationships, the malware
// families its reports name, and the techniques those use.
func linked(g *kb.Graph, h *kb.Hit, clearance intel.TLP) []intel.Entity {
	var out []intel.Entity
	add := func(e intel.Entity) {
		if len(out) < maxLinked && clearance.Allows(e.TLP) && !slices.ContainsFunc(out, func(x intel.Entity) bool { return x.ID == e.ID }) {
			out = append(out, e)
		}
	}
	ref := h.Indicator.Observable.String()
	for _, r := range h.Relationships {
		if !clearance.Allows(r.TLP) {
			continue
		}
		other := r.TargetRef
		if other == ref {
			other = r.SourceRef
		}
		if e, ok := g.Entity(other); ok {
			add(e)
		}
	}
	for _, r := range h.Indicator.Reports {
		if r.Malware == "" || !clearance.Allows(r.TLP) {
			continue
		}
		for _, e := range g.Named(r.Malware) {
			if e.Type == intel.Malware || e.Type == intel.Tool {
				add(e)
				break
			}
		}
	}
	for _, e := range slices.Clone(out) {
		switch e.Type {
		case intel.Malware, intel.Tool, intel.IntrusionSet, intel.ThreatActor, intel.Campaign:
		default:
			continue
		}
		for _, r := range g.From(e.ID) {
			if r.Type != "uses" || !clearance.Allows(r.TLP) {
				continue
			}
			if t, ok := g.Entity(r.TargetRef); ok && t.Type == intel.AttackPattern {
				add(t)
			}
		}
	}
	return out
}

// recentWindow is how long the sightings of a value stay in memory for corroboration.
const recentWindow = 24 * time.Hour

// maxRecent bounds the values whose sightings are kept in memory.
const maxRecent = 200_000

// recentSightings keeps, per matched value, where it was seen lately: this process's own matches
// (at once) on top of what the store held when the value was first matched (other processes'
// sightings). It answers "3 other hosts contacted this IP today" without a database read per
// event.
type recentSightings struct {
	st store.Store
	mu sync.Mutex
	m  map[intel.Observable]*valueSightings
}

type valueSightings struct {
	by map[string]intel.Sighting // by where
}

func newRecentSightings(st store.Store) *recentSightings {
	return &recentSightings{st: st, m: map[intel.Observable]*valueSightings{}}
}

// seen records that where saw obs at at, and returns the sightings of obs (as the priority model
// wants them: one per observable and place, with counts). known holds the stored sightings of
// values the caller already read (a matched indicator's own value): only the others are read.
func (r *recentSightings) seen(ctx context.Context, obs []intel.Observable, known map[intel.Observable][]intel.Sighting,
	where string, at time.Time, log *slog.Logger) []intel.Sighting {
	var missing, read []intel.Observable
	r.mu.Lock()
	for _, o := range obs {
		if _, ok := r.m[o]; !ok {
			missing = append(missing, o)
			if _, ok := known[o]; !ok {
				read = append(read, o)
			}
		}
	}
	r.mu.Unlock()
	var stored []intel.Sighting
	for _, o := range missing {
		stored = append(stored, known[o]...)
	}
	if len(read) > 0 {
		more, err := r.st.SightingsOf(ctx, read)
		if err != nil {
			log.Warn("reading sightings", "err", err) // corroboration is a bonus: go on without it
		}
		stored = append(stored, more...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) > maxRecent {
		n := maxRecent / 8
		for k := range r.m {
			delete(r.m, k)
			if n--; n == 0 {
				break
			}
		}
	}
	for _, o := range missing {
		if _, ok := r.m[o]; !ok {
			r.m[o] = &valueSightings{by: map[string]intel.Sighting{}}
		}
	}
	for _, s := range stored {
		if v := r.m[s.Observable]; v != nil {
			if _, ok := v.by[s.Where]; !ok {
				v.by[s.Where] = s
			}
		}
	}
	var out []intel.Sighting
	cutoff := at.Add(-recentWindow)
	for _, o := range obs {
		v := r.m[o]
		if where != "" {
			s, ok := v.by[where]
			if !ok {
				s = intel.Sighting{Observable: o, Where: where, FirstSeen: at}
			}
			s.Count++
			if at.After(s.LastSeen) {
				s.LastSeen = at
			}
			v.by[where] = s
		}
		for w, s := range v.by {
			if s.LastSeen.Before(cutoff) && s.Verdict == "" {
				delete(v.by, w)
				continue
			}
			out = append(out, s)
		}
	}
	return out
}
