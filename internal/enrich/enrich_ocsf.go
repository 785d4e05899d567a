package enrich

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

// Output is the shape of enriched events.
type Output string

// Output shapes.
const (
	// OutputECS: the event itself with threat.enrichments, event.risk_score(_norm) and omen.*.
	OutputECS Output = "ecs"
	// OutputOCSF: for each event that matched, an OCSF Detection Finding (class 2004) with
	// observables, enrichments and osint objects, risk_score and risk_level_id; the original event
	// is kept under unmapped.original_event. Events that match nothing give nothing.
	OutputOCSF Output = "ocsf"
)

// ParseOutput returns the output shape named s.
func ParseOutput(s string) (Output, error) {
	switch o := Output(strings.ToLower(strings.TrimSpace(s))); o {
	case OutputECS, OutputOCSF:
		return o, nil
	}
	return "", fmt.Errorf("unknown output %q (want ecs or ocsf)", s)
}

// SetOutput sets the shape of the worker's output.
func (w *Worker) SetOutput(o Output) { w.output = o }

// OCSF 1.x Detection Finding parts (ocsf-schema: events/findings/detection_finding.json and the
// objects it uses).
type ocsfFinding struct {
	ClassUID     int               `json:"class_uid"`
	CategoryUID  int               `json:"category_uid"`
	ActivityID   int               `json:"activity_id"`
	TypeUID      int               `json:"type_uid"`
	Time         int64             `json:"time"`
	SeverityID   int               `json:"severity_id"`
	StatusID     int               `json:"status_id"`
	IsAlert      bool              `json:"is_alert"`
	Confidence   int               `json:"confidence_score"`
	RiskScore    int               `json:"risk_score"`
	RiskLevelID  int               `json:"risk_level_id"`
	RiskDetails  string            `json:"risk_details"`
	FindingInfo  ocsfFindingInfo   `json:"finding_info"`
	Metadata     ocsfMetadata      `json:"metadata"`
	Device       *ocsfDevice       `json:"device,omitempty"`
	Observables  []ocsfObservable  `json:"observables"`
	Enrichments  []ocsfEnrichment  `json:"enrichments"`
	OSINT        []ocsfOSINT       `json:"osint"`
	Remediation  *ocsfRemediation  `json:"remediation,omitempty"`
	Unmapped     map[string]any    `json:"unmapped"`
	Attacks      []json.RawMessage `json:"attacks,omitempty"`
	MessageTitle string            `json:"message"`
}

type ocsfFindingInfo struct {
	UID   string   `json:"uid"`
	Title string   `json:"title"`
	Types []string `json:"types"`
}

type ocsfMetadata struct {
	Version string      `json:"version"`
	Product ocsfProduct `json:"product"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
}

type ocsfDevice struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
}

type ocsfReputation struct {
	BaseScore float64 `json:"base_score"`
	ScoreID   int     `json:"score_id"`
	Provider  string  `json:"provider"`
}

type ocsfObservable struct {
	Name       string          `json:"name"`
	TypeID     int             `json:"type_id"`
	Value      string          `json:"value"`
	Reputation *ocsfReputation `json:"reputation,omitempty"`
}

type ocsfEnrichment struct {
	Name       string          `json:"name"`
	Value      string          `json:"value"`
	Type       string          `json:"type"`
	Provider   string          `json:"provider"`
	ShortDesc  string          `json:"short_desc"`
	Data       map[string]any  `json:"data"`
	Reputation *ocsfReputation `json:"reputation,omitempty"`
}

type ocsfOSINT struct {
	TypeID       int    `json:"type_id"`
	Value        string `json:"value"`
	ConfidenceID int    `json:"confidence_id"`
	TLP          string `json:"tlp"`
	VendorName   string `json:"vendor_name"`
	RiskScore    int    `json:"risk_score"`
	Created      int64  `json:"created_time,omitempty"`
	Modified     int64  `json:"modified_time,omitempty"`
}

type ocsfRemediation struct {
	Desc string `json:"desc"`
}

// ocsf writes the Detection Finding of a matched event.
func (w *Worker) ocsf(dst []byte, p risk.Priority, inds []*indicatorMatch, top *involvedAsset, recs []string, now time.Time, findingID int64) ([]byte, error) {
	ev := &w.ev
	level := riskLevelID(p.Score)
	f := ocsfFinding{ClassUID: 2004, CategoryUID: 2, ActivityID: 1, TypeUID: 200401, Time: now.UnixMilli(),
		SeverityID: level + 1, StatusID: 1, IsAlert: p.Score >= 60, Confidence: int(p.Factors.L*100 + 0.5),
		RiskScore: p.Score, RiskLevelID: level, RiskDetails: riskDetails(p),
		FindingInfo: ocsfFindingInfo{UID: "omen-event-" + strconv.FormatInt(now.UnixNano(), 36), Title: title(inds[0], ev, w.where(), top),
			Types: []string{"Threat Intelligence Match"}},
		Metadata:     ocsfMetadata{Version: "1.3.0", Product: ocsfProduct{Name: "omen", VendorName: "omen"}},
		Unmapped:     map[string]any{"original_event": json.RawMessage(ev.Raw), "omen_priority": p},
		MessageTitle: fmt.Sprintf("%s (priority %d, %s)", title(inds[0], ev, w.where(), top), p.Score, p.Action),
	}
	if findingID != 0 {
		f.FindingInfo.UID = "omen-finding-" + strconv.FormatInt(findingID, 10)
	}
	if ev.Context.HostName != "" || len(ev.Context.HostIPs) > 0 {
		f.Device = &ocsfDevice{Hostname: ev.Context.HostName}
		if len(ev.Context.HostIPs) > 0 {
			f.Device.IP = ev.Context.HostIPs[0].String()
		}
	}
	if len(recs) > 0 {
		f.Remediation = &ocsfRemediation{Desc: strings.Join(recs, " ")}
	}
	rep := &ocsfReputation{BaseScore: float64(p.Score), ScoreID: reputationID(p.Score), Provider: "omen"}
	for _, im := range inds {
		view := indicatorView(im)
		f.OSINT = append(f.OSINT, ocsfOSINT{TypeID: osintType(im.ind.Observable.Type), Value: im.ind.Observable.Value,
			ConfidenceID: confidenceID(view.Score), TLP: strings.ReplaceAll(view.Marking.TLP, "+", " "), VendorName: view.Provider,
			RiskScore: view.Score, Created: im.ind.FirstSeen.UnixMilli(), Modified: view.ModifiedAt.UnixMilli()})
		for _, fi := range im.fields {
			fld := ev.Fields[fi]
			f.Observables = append(f.Observables, ocsfObservable{Name: fld.Path, TypeID: observableType(fld.Observable.Type),
				Value: fld.Observable.Value, Reputation: rep})
			f.Enrichments = append(f.Enrichments, ocsfEnrichment{Name: fld.Path, Value: fld.Observable.Value, Type: "threat_intel",
				Provider: "omen", ShortDesc: view.Description, Reputation: rep,
				Data: map[string]any{"indicator": im.ind.Observable.String(), "sources": len(im.ind.Reports),
					"first_seen": im.ind.FirstSeen, "last_seen": im.ind.LastSeen, "threat_type": view.ThreatType}})
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// riskLevelID maps the omen-prio-1 bands to OCSF's 0 Info .. 4 Critical.
func riskLevelID(score int) int {
	switch {
	case score >= 80:
		return 4
	case score >= 60:
		return 3
	case score >= 40:
		return 2
	case score >= 20:
		return 1
	}
	return 0
}

// reputationID maps a priority to OCSF's reputation score_id (0 Unknown .. 10 Malicious).
func reputationID(score int) int {
	switch {
	case score >= 80:
		return 10
	case score >= 60:
		return 9
	case score >= 40:
		return 8
	case score >= 20:
		return 7
	case score > 0:
		return 6
	}
	return 0
}

func confidenceID(c int) int { // 1 Low, 2 Medium, 3 High
	switch {
	case c >= 70:
		return 3
	case c >= 30:
		return 2
	}
	return 1
}

func riskDetails(p risk.Priority) string {
	s := fmt.Sprintf("%s (%d, %s)", p.Level, p.Score, p.Action)
	if len(p.Evidence) > 0 {
		s += ": " + p.Evidence[0]
	}
	return s
}

// osintType is the OSINT object's type_id.
func osintType(t intel.Type) int {
	switch t {
	case intel.IPv4, intel.IPv6, intel.CIDR:
		return 1
	case intel.Domain:
		return 2
	case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
		return 4
	case intel.URL:
		return 5
	case intel.Email:
		return 9
	case intel.CVE:
		return 10
	}
	return 99
}

// observableType is the Observable object's type_id.
func observableType(t intel.Type) int {
	switch t {
	case intel.Domain:
		return 1
	case intel.IPv4, intel.IPv6:
		return 2
	case intel.Account:
		return 4
	case intel.Email:
		return 5
	case intel.URL:
		return 6
	case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
		return 8
	case intel.CIDR:
		return 12
	case intel.CVE:
		return 18
	}
	return 99
}
