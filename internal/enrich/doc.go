// Package enrich decodes SOC events, extracts their observables and writes enrichment results back
// into them.
//
// A [Decoder] reads one event per line in one of four formats: ECS JSON (nested objects, dotted keys
// or any mixture of both), Zeek JSON logs and Suricata EVE through field mappings ([Mapping],
// [ShippedMapping]), and ArcSight CEF lines, which it turns into ECS JSON. It walks each JSON event
// once with a byte scanner that descends only into the objects and arrays on the paths it wants,
// validates everything else while skipping it, and unescapes only the strings it keeps; it never
// builds a map of the event. Each observable comes out as a [Field] (the path in the event, the ECS
// field it stands for and the canonical observable, see intel.Normalize), with the [Context] the
// pipeline needs (timestamp, host, user, outcome, action, kind, tactics, dataset). Fields under
// threat.indicator and threat.enrichments are never extracted.
//
// [Merge] applies [Addition]s (threat.enrichments, event.risk_score, omen.priority, ...) to an event
// without touching any other byte of it.
package enrich
