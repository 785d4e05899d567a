package lookup

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/omen-tip/omen/internal/jsonw"
)

// AppendJSON appends r as JSON to b: the same document encoding/json writes for a Result (without
// HTML escaping), written directly because a bulk lookup answers thousands of results and
// reflection would cost more than finding them.
func (r *Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"query":`...)
	b = jsonw.AppendString(b, r.Query)
	if r.Type != "" {
		b = append(b, `,"type":`...)
		b = jsonw.AppendString(b, string(r.Type))
	}
	if r.Value != "" {
		b = append(b, `,"value":`...)
		b = jsonw.AppendString(b, r.Value)
	}
	b = append(b, `,"verdict":`...)
	b = jsonw.AppendString(b, r.Verdict)
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, int64(r.Score), 10)
	b = append(b, `,"band":`...)
	b = jsonw.AppendString(b, r.Band)
	b = append(b, `,"matches":`...)
	b = appendMatches(b, r.Matches)
	if len(r.Expired) > 0 {
		b = append(b, `,"expired":`...)
		b = appendMatches(b, r.Expired)
	}
	b = append(b, `,"warninglists":`...)
	if r.Warninglists == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, w := range r.Warninglists {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = jsonw.AppendString(b, w.Name)
			if w.Entry != "" {
				b = append(b, `,"entry":`...)
				b = jsonw.AppendString(b, w.Entry)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"evidence":`...)
	b = appendStrings(b, r.Evidence)
	b = append(b, `,"model_version":`...)
	b = jsonw.AppendString(b, r.ModelVersion)
	if r.Error != "" {
		b = append(b, `,"error":`...)
		b = jsonw.AppendString(b, r.Error)
	}
	return append(b, '}')
}

func appendMatches(b []byte, ms []Match) []byte {
	if ms == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"match":`...)
		b = jsonw.AppendString(b, ms[i].Match)
		b = append(b, `,"indicator":`...)
		b = ms[i].Indicator.appendJSON(b)
		b = append(b, '}')
	}
	return append(b, ']')
}

func (v *Indicator) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = jsonw.AppendString(b, string(v.Type))
	b = append(b, `,"value":`...)
	b = jsonw.AppendString(b, v.Value)
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, int64(v.Score), 10)
	b = append(b, `,"first_seen":`...)
	b = appendTime(b, v.FirstSeen)
	b = append(b, `,"last_seen":`...)
	b = appendTime(b, v.LastSeen)
	b = append(b, `,"tlp":`...)
	b = jsonw.AppendString(b, v.TLP.String())
	b = append(b, `,"tags":`...)
	b = appendStrings(b, v.Tags)
	b = append(b, `,"sources":`...)
	if v.Sources == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range v.Sources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = jsonw.AppendString(b, s.Name)
			b = append(b, `,"reliability":`...)
			b = jsonw.AppendString(b, s.Reliability.String())
			b = append(b, `,"confidence":`...)
			b = strconv.AppendInt(b, int64(s.Confidence), 10)
			b = append(b, `,"first_seen":`...)
			b = appendTime(b, s.FirstSeen)
			b = append(b, `,"last_seen":`...)
			b = appendTime(b, s.LastSeen)
			if s.ThreatType != "" {
				b = append(b, `,"threat_type":`...)
				b = jsonw.AppendString(b, s.ThreatType)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"entities":`...)
	if v.Entities == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range v.Entities {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.Entities[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (e *EntityRef) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = jsonw.AppendString(b, string(e.Type))
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, e.Name)
	if e.ID != "" {
		b = append(b, `,"id":`...)
		b = jsonw.AppendString(b, e.ID)
	}
	if e.Via != "" {
		b = append(b, `,"via":`...)
		b = jsonw.AppendString(b, e.Via)
	}
	if len(e.Attributes) > 0 {
		// Free-form and rare: encoding/json's own encoding (sorted keys).
		if a, err := marshalNoEscape(e.Attributes); err == nil {
			b = append(b, `,"attributes":`...)
			b = append(b, a...)
		}
	}
	return append(b, '}')
}

// marshalNoEscape is json.Marshal without HTML escaping and without the trailing newline.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, s)
	}
	return append(b, ']')
}

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with nanoseconds).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
