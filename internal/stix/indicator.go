package stix

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix/pattern"
	"github.com/omen-tip/omen/internal/store"
)

// IndicatorEntity is the entity type of indicators kept as patterns only (non-STIX pattern types,
// or STIX patterns that do not reduce to observables): they have no observable to report on, but
// their relationships (indicates → malware, ...) stay visible from the entity.
const IndicatorEntity intel.EntityType = "indicator"

// reduce returns the observables a STIX pattern stands for, or why it has none. Patterns of
// another pattern_type (pcre, sigma, snort, suricata, yara, ...) are not parsed.
func reduce(patternType, p string) ([]intel.Observable, string) {
	obs, _, why := reduceAll(patternType, p)
	return obs, why
}

// reduceAll is [reduce] that also returns the values of the pattern that are not valid
// observables (they are left out, and the rest of the pattern still counts).
func reduceAll(patternType, p string) ([]intel.Observable, []string, string) {
	if patternType != "" && patternType != "stix" {
		return nil, nil, "pattern_type " + patternType
	}
	pt, err := pattern.Parse(p)
	if err != nil {
		return nil, nil, fmt.Sprintf("invalid pattern: %v", err)
	}
	red := pt.Reduce()
	if !red.Reducible {
		return nil, red.Invalid, red.Reason
	}
	obs := make([]intel.Observable, 0, len(red.Atoms))
	for _, a := range red.Atoms {
		if a.Observable.Type != "" && !slices.Contains(obs, a.Observable) {
			obs = append(obs, a.Observable)
		}
	}
	if len(obs) == 0 {
		return nil, red.Invalid, "no observable in the pattern"
	}
	return obs, red.Invalid, ""
}

// applyIndicator writes one report per observable of a reducible indicator, or, for one kept as a
// pattern only, returns its entity. A revoked indicator's reports expire now; without a pattern of
// its own it takes the pattern of the version held.
func (ru *run) applyIndicator(ctx context.Context, it item, held store.STIXObject) ([]intel.Entity, error) {
	o := it.o
	ru.counts.Indicators++
	pat, pt := o.Pattern, o.PatternType
	if pat == "" && len(held.Raw) > 0 {
		if h, err := decodeObject(held.Raw); err == nil {
			pat, pt = h.Pattern, h.PatternType
		}
	}
	obs, invalid, why := reduceAll(pt, pat)
	for _, v := range invalid {
		ru.counts.InvalidValues++
		ru.errorf(it.index, o.ID, fmt.Errorf("pattern value left out: %s", v))
	}
	if len(obs) == 0 {
		ru.counts.PatternOnly++
		ru.log.Debug("indicator kept as a pattern only", "id", o.ID, "reason", why)
		e, _, err := ru.entities(ctx, it)
		return e, err
	}
	ru.counts.Reducible++
	ru.indicatorIDs = append(ru.indicatorIDs, o.ID)
	base := ru.report(it)
	for _, ob := range obs {
		r := base
		r.Observable = ob
		err := ru.ing.Add(ctx, r)
		if errors.Is(err, store.ErrInvalidReport) {
			ru.errorf(it.index, o.ID, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stix import: %w", err)
		}
		ru.counts.Observables++
	}
	return nil, nil
}

// report is the report an indicator makes on each of its observables.
func (ru *run) report(it item) intel.Report {
	o := it.o
	r := intel.Report{Source: ru.o.Source, Confidence: ru.conf, TLP: it.tlp, FirstSeen: mustTime(o.ValidFrom),
		LastSeen: o.version(), ValidUntil: mustTime(o.ValidUntil), Tags: tags(o), ThreatType: threatType(o)}
	if o.Confidence != nil && *o.Confidence >= 0 && *o.Confidence <= 100 {
		r.Confidence = *o.Confidence
	}
	if r.FirstSeen.IsZero() {
		r.FirstSeen = o.created
	}
	if !ru.o.KeepDates && r.LastSeen.Before(ru.now) {
		r.LastSeen = ru.now
	}
	if r.LastSeen.IsZero() {
		r.LastSeen = ru.now
	}
	if r.FirstSeen.IsZero() || r.FirstSeen.After(r.LastSeen) {
		r.FirstSeen = r.LastSeen
	}
	if o.Revoked {
		r.ValidUntil = ru.now
		if r.LastSeen.Before(ru.now) {
			r.LastSeen = ru.now
		}
	}
	return r
}

// tags are an indicator's labels and indicator_types, without repeats.
func tags(o *object) []string {
	var out []string
	for _, t := range append(slices.Clone(o.Labels), o.IndicatorTypes...) {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// threatTypes maps indicator-type-ov values (and common labels) to omen's threat types.
var threatTypes = map[string]string{
	"malicious-activity": "malicious-activity", "anonymization": "anonymizer", "compromised": "compromised",
	"anomalous-activity": "anomalous-activity", "attribution": "attribution", "benign": "benign",
	"c2": "c2", "command-and-control": "c2", "botnet-c2": "c2", "phishing": "phishing", "scanner": "scanner",
	"malware-download": "malware-download", "payload-delivery": "malware-download",
}

// threatType is the most specific threat type among an indicator's types and labels: a specific
// one (c2, phishing...) wins over malicious-activity.
func threatType(o *object) string {
	if o.OmenThreat != "" {
		return o.OmenThreat
	}
	best := ""
	for _, t := range append(slices.Clone(o.IndicatorTypes), o.Labels...) {
		tt, ok := threatTypes[strings.ToLower(strings.TrimSpace(t))]
		if !ok {
			continue
		}
		if best == "" || (best == "malicious-activity" && tt != "malicious-activity") {
			best = tt
		}
	}
	return best
}
