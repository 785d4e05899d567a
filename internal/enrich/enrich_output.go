package enrich

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

// enrichment is one element of threat.enrichments, as Elastic's indicator-match rule writes it.
type enrichment struct {
	Indicator ecsIndicator `json:"indicator"`
	Feed      ecsFeed      `json:"feed"`
	Matched   ecsMatched   `json:"matched"`
}

type ecsFeed struct {
	Name string `json:"name"`
}

type ecsIndicator struct {
	Type        string     `json:"type"`
	Name        string     `json:"name"`
	IP          string     `json:"ip,omitempty"`
	URL         *ecsURL    `json:"url,omitempty"`
	Email       *ecsEmail  `json:"email,omitempty"`
	File        *ecsFile   `json:"file,omitempty"`
	AS          *ecsAS     `json:"as,omitempty"`
	Description string     `json:"description"`
	Confidence  string     `json:"confidence"`
	FirstSeen   time.Time  `json:"first_seen,omitzero"`
	LastSeen    time.Time  `json:"last_seen,omitzero"`
	ModifiedAt  time.Time  `json:"modified_at,omitzero"`
	Provider    string     `json:"provider"`
	Marking     ecsMarking `json:"marking"`
	Tags        []string   `json:"tags,omitempty"`
	ThreatType  string     `json:"threat_type,omitempty"` // omen's: c2, phishing, ...
	Malware     []string   `json:"malware,omitempty"`
	Score       int        `json:"score"` // omen's indicator score 0..100
}

type ecsURL struct {
	Full   string `json:"full,omitempty"`
	Domain string `json:"domain,omitempty"`
}

type ecsEmail struct {
	Address string `json:"address"`
}

type ecsFile struct {
	Hash map[string]string `json:"hash"`
}

type ecsAS struct {
	Number int64 `json:"number"`
}

type ecsMarking struct {
	TLP        string `json:"tlp"`
	TLPVersion string `json:"tlp_version"`
}

type ecsMatched struct {
	Atomic   string    `json:"atomic"`
	Field    string    `json:"field"`
	ID       string    `json:"id"`
	Index    string    `json:"index"`
	Occurred time.Time `json:"occurred"`
	Type     string    `json:"type"`
	Kind     string    `json:"omen_match,omitempty"` // exact, cidr or parent-domain
}

// omenObject is the event's omen.* namespace.
type omenObject struct {
	Priority        json.RawMessage `json:"priority"`
	Asset           *assetOut       `json:"asset,omitempty"`
	Recommendations []string        `json:"recommendations"`
}

type assetOut struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Criticality string `json:"criticality,omitempty"`
	DataClass   string `json:"data_classification,omitempty"`
	Service     string `json:"business_service,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Exposure    string `json:"exposure,omitempty"`
	Matched     string `json:"matched"` // the event's value that belongs to the asset
	Field       string `json:"field,omitempty"`
}

// enrichments builds the threat.enrichments array: one element per indicator and matched field.
func (w *Worker) enrichments(inds []*indicatorMatch, now time.Time) json.RawMessage {
	var out []enrichment
	for _, im := range inds {
		ind := indicatorView(im)
		for _, f := range im.fields {
			fld := w.ev.Fields[f]
			out = append(out, enrichment{Indicator: ind, Feed: ecsFeed{Name: ind.Provider}, Matched: ecsMatched{
				Atomic: fld.Observable.Value, Field: fld.Path, ID: "omen:indicator:" + strconv.FormatInt(im.ind.ID, 10),
				Index: IndicatorIndex, Occurred: now, Type: "indicator_match_rule", Kind: kindName(im, fld.Observable),
			}})
		}
	}
	b, _ := json.Marshal(out) // plain values: cannot fail
	return b
}

// kindName says how the field's value matched the indicator.
func kindName(im *indicatorMatch, o intel.Observable) string {
	switch {
	case o == im.ind.Observable:
		return "exact"
	case im.ind.Observable.Type == intel.CIDR:
		return "cidr"
	}
	return "parent-domain"
}

func indicatorView(im *indicatorMatch) ecsIndicator {
	in := im.ind
	o := in.Observable
	v := ecsIndicator{Name: o.Value, FirstSeen: in.FirstSeen, LastSeen: in.LastSeen,
		Marking: ecsMarking{TLP: strings.ToUpper(in.TLP().String()), TLPVersion: "2.0"}, Tags: in.Tags()}
	switch o.Type {
	case intel.IPv4:
		v.Type, v.IP = "ipv4-addr", o.Value
	case intel.IPv6:
		v.Type, v.IP = "ipv6-addr", o.Value
	case intel.CIDR:
		v.Type = "ipv4-addr"
		if strings.Contains(o.Value, ":") {
			v.Type = "ipv6-addr"
		}
	case intel.Domain:
		v.Type, v.URL = "domain-name", &ecsURL{Domain: o.Value}
	case intel.URL:
		v.Type, v.URL = "url", &ecsURL{Full: o.Value}
	case intel.Email:
		v.Type, v.Email = "email-addr", &ecsEmail{Address: o.Value}
	case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
		v.Type, v.File = "file", &ecsFile{Hash: map[string]string{string(o.Type): o.Value}}
	case intel.ASN:
		v.Type = "autonomous-system"
		if n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToUpper(o.Value), "AS"), 10, 64); err == nil {
			v.AS = &ecsAS{Number: n}
		}
	case intel.Account:
		v.Type = "user-account"
	default:
		v.Type = "software" // ja3: a TLS client fingerprint names client software
	}
	// Sources, most recent report first.
	reps := slices.Clone(in.Reports)
	slices.SortStableFunc(reps, func(a, b intel.Report) int { return b.LastSeen.Compare(a.LastSeen) })
	var names []string
	best := 0
	for _, r := range reps {
		names = append(names, r.Source)
		best = max(best, r.Confidence)
		if r.LastSeen.After(v.ModifiedAt) {
			v.ModifiedAt = r.LastSeen
		}
		if v.ThreatType == "" {
			v.ThreatType = r.ThreatType
		}
		if r.Malware != "" {
			v.Malware = appendNew(v.Malware, r.Malware)
		}
	}
	if len(reps) > 0 {
		v.Provider = reps[0].Source
	}
	v.Confidence = confidenceLabel(best)
	v.Score = best
	v.Description = fmt.Sprintf("Reported by %d source(s): %s.", len(names), strings.Join(names, ", "))
	if v.ThreatType != "" {
		v.Description += " Threat: " + v.ThreatType + "."
	}
	if len(v.Malware) > 0 {
		v.Description += " Malware: " + strings.Join(v.Malware, ", ") + "."
	}
	return v
}

// confidenceLabel maps 0..100 to ECS's confidence words.
func confidenceLabel(c int) string {
	switch {
	case c >= 70:
		return "High"
	case c >= 30:
		return "Medium"
	case c > 0:
		return "Low"
	}
	return "None"
}

func assetView(h involvedAsset) *assetOut {
	a := h.asset
	return &assetOut{ID: a.ID, Kind: a.Kind, Name: a.Name, Criticality: string(a.Criticality), DataClass: a.DataClass,
		Service: a.Service, Owner: a.Owner, Exposure: a.Exposure, Matched: h.value.Value, Field: h.field}
}

func assetOf(h *involvedAsset) *intel.Asset {
	if h == nil {
		return nil
	}
	a := h.asset
	return &a
}

// recommend turns the priority's action into concrete steps. Nothing is ever proposed for blocking
// when a matched value is the organisation's own or analysts allowlisted it (noBlock), or when the
// value is warninglisted shared infrastructure.
func recommend(p risk.Priority, inds []*indicatorMatch, ev *Event, top *involvedAsset, noBlock bool) []string {
	out := []string{}
	if p.Score < 20 {
		return out
	}
	var block, hashes []string
	var threats []string
	for _, im := range inds {
		o := im.ind.Observable
		for _, r := range im.ind.Reports {
			if r.ThreatType != "" {
				threats = appendNew(threats, r.ThreatType)
			}
		}
		if len(im.ind.Warninglists) > 0 {
			continue
		}
		switch o.Type {
		case intel.IPv4, intel.IPv6, intel.CIDR, intel.Domain, intel.URL:
			block = appendNew(block, o.Value)
		case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
			hashes = appendNew(hashes, o.Value)
		}
	}
	host := ev.Context.HostName
	if host == "" && top != nil && top.asset.Kind == "host" {
		host = top.asset.Name
	}
	user := ev.Context.UserName
	act := p.Score >= 60
	if len(block) > 0 && !noBlock && p.Score >= 40 {
		verb := "Consider blocking"
		if act {
			verb = "Block"
		}
		out = append(out, fmt.Sprintf("%s %s at egress (firewall EDL / DNS RPZ / proxy).", verb, strings.Join(block, ", ")))
	}
	if len(hashes) > 0 && p.Score >= 40 {
		out = append(out, fmt.Sprintf("Quarantine files with hash %s and sweep endpoints for them.", strings.Join(hashes, ", ")))
	}
	severe := slices.ContainsFunc(threats, func(t string) bool {
		t = strings.ToLower(t)
		return strings.Contains(t, "c2") || strings.Contains(t, "botnet") || strings.Contains(t, "ransom") ||
			strings.Contains(t, "backdoor") || strings.Contains(t, "malware")
	})
	if host != "" && act && severe {
		out = append(out, fmt.Sprintf("Isolate %s and start incident response.", host))
	} else if host != "" && p.Score >= 40 {
		out = append(out, fmt.Sprintf("Investigate %s: its processes and connections around the event time.", host))
	}
	if user != "" && act && slices.ContainsFunc(threats, func(t string) bool {
		t = strings.ToLower(t)
		return strings.Contains(t, "phish") || strings.Contains(t, "stealer") || strings.Contains(t, "credential")
	}) {
		out = append(out, fmt.Sprintf("Reset the credentials of %s and revoke their sessions.", user))
	}
	if len(out) == 0 {
		out = append(out, "Track: no action now; omen raises the priority if the value is seen again or its intelligence strengthens.")
	}
	return out
}

// title is a finding's one-line summary.
func title(im *indicatorMatch, ev *Event, where string, top *involvedAsset) string {
	o := ev.Fields[im.fields[0]]
	what := "Known-bad " + typeWord(o.Observable.Type)
	for _, r := range im.ind.Reports {
		if r.ThreatType != "" {
			what = strings.ToUpper(r.ThreatType[:1]) + r.ThreatType[1:] + " " + typeWord(o.Observable.Type)
			break
		}
	}
	s := fmt.Sprintf("%s %s in %s", what, o.Observable.Value, o.Path)
	switch {
	case where != "":
		s += " (" + where + ")"
	case top != nil:
		s += " (" + top.asset.Name + ")"
	}
	return s
}

func typeWord(t intel.Type) string {
	switch t {
	case intel.IPv4, intel.IPv6:
		return "address"
	case intel.CIDR:
		return "network"
	case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
		return "file hash"
	}
	return string(t)
}

// tlpOf is the most restrictive marking of the evidence a finding carries.
func tlpOf(inds []*indicatorMatch) intel.TLP {
	t := intel.TLPClear
	for _, im := range inds {
		t = max(t, im.ind.TLP())
	}
	return t
}

func sources(inds []*indicatorMatch) []string {
	var out []string
	for _, im := range inds {
		for _, r := range im.ind.Reports {
			out = appendNew(out, r.Source)
		}
	}
	return out
}
