package respond

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

// PayloadSchema names the generic payload's version.
const PayloadSchema = "omen.action/1"

// GenericPayload is the body of the generic template.
type GenericPayload struct {
	Schema          string             `json:"schema"` // PayloadSchema
	Delivery        string             `json:"delivery"`
	Action          PayloadAction      `json:"action"`
	Finding         PayloadFinding     `json:"finding"`
	Values          []intel.Observable `json:"values"`
	Priority        int                `json:"priority"`
	Level           string             `json:"level,omitempty"`
	Evidence        []string           `json:"evidence"`
	Recommendations []string           `json:"recommendations"`
}

// PayloadAction describes the action in a generic payload.
type PayloadAction struct {
	ID        string    `json:"id"`
	Kind      Kind      `json:"kind"`
	Steps     []string  `json:"steps,omitempty"` // contain-account: ContainSteps
	Actor     string    `json:"actor,omitempty"`
	Requested time.Time `json:"requested"`
}

// PayloadFinding describes the finding in a generic payload.
type PayloadFinding struct {
	ID         int64             `json:"id"`
	Kind       string            `json:"kind"`
	Title      string            `json:"title"`
	Status     string            `json:"status,omitempty"`
	TLP        intel.TLP         `json:"tlp"`
	Observable *intel.Observable `json:"observable,omitempty"`
	AssetID    int64             `json:"asset_id,omitempty"`
	Key        string            `json:"key,omitempty"`
	Count      int               `json:"count,omitempty"`
	LastSeen   time.Time         `json:"last_seen,omitzero"`
}

// FlatPayload is the body of the shuffle and n8n templates: one level of fields, so a workflow
// reads them as $exec.value (Shuffle) or $json.body.value (n8n) without digging.
type FlatPayload struct {
	Source          string   `json:"source"` // "omen"
	ActionID        string   `json:"action_id"`
	Delivery        string   `json:"delivery"`
	Action          Kind     `json:"action"`
	Steps           []string `json:"steps,omitempty"`
	FindingID       int64    `json:"finding_id"`
	FindingKind     string   `json:"finding_kind"`
	FindingTitle    string   `json:"finding_title"`
	Priority        int      `json:"priority"`
	Level           string   `json:"level"`
	TLP             string   `json:"tlp"`
	Value           string   `json:"value"`      // the first value
	ValueType       string   `json:"value_type"` // its type
	Values          []string `json:"values"`
	ValuesCSV       string   `json:"values_csv"`
	Evidence        string   `json:"evidence"`        // one per line
	Recommendations string   `json:"recommendations"` // one per line
	Actor           string   `json:"actor,omitempty"`
	Requested       string   `json:"requested"` // RFC 3339
}

// TheHiveAlert is the body of TheHive 5's POST /api/v1/alert (InputAlert of thehive4py): type,
// source and sourceRef together must be unique, which also makes a repeated delivery harmless.
type TheHiveAlert struct {
	Type        string              `json:"type"`
	Source      string              `json:"source"`
	SourceRef   string              `json:"sourceRef"`
	Title       string              `json:"title"`
	Description string              `json:"description"`
	Date        int64               `json:"date"`     // milliseconds since the epoch
	Severity    int                 `json:"severity"` // 1 low, 2 medium, 3 high, 4 critical
	Tags        []string            `json:"tags"`
	TLP         int                 `json:"tlp"` // 0 clear, 1 green, 2 amber, 3 amber+strict, 4 red
	PAP         int                 `json:"pap"` // 0 clear, 1 green, 2 amber, 3 red
	Observables []TheHiveObservable `json:"observables,omitempty"`
}

// TheHiveObservable is one observable of a TheHive alert (InputObservable).
type TheHiveObservable struct {
	DataType string   `json:"dataType"`
	Data     string   `json:"data"`
	Message  string   `json:"message,omitempty"`
	TLP      int      `json:"tlp"`
	IOC      bool     `json:"ioc"`
	Tags     []string `json:"tags,omitempty"`
}

// TheHive data types of omen's observable types; the rest are "other".
var theHiveTypes = map[intel.Type]string{
	intel.IPv4: "ip", intel.IPv6: "ip", intel.Domain: "domain", intel.URL: "url", intel.Email: "mail",
	intel.MD5: "hash", intel.SHA1: "hash", intel.SHA256: "hash", intel.SHA512: "hash",
	intel.ASN: "autonomous-system",
}

// level is the finding's priority level, or the band of its priority.
func findingLevel(f intel.Finding) string {
	if f.Level != "" {
		return f.Level
	}
	return risk.Band(f.Priority)
}

// theHiveSeverity maps a priority level to TheHive's 1..4.
func theHiveSeverity(lvl string) int {
	switch lvl {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	}
	return 1
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Payload builds the body of action a (with its values already guarded) for template t, with
// delivery key dkey.
func WebhookPayload(t Template, a Action, values []intel.Observable, recs []string, dkey string) ([]byte, error) {
	if values == nil {
		values = []intel.Observable{}
	}
	var steps []string
	if a.Kind == KindContainAccount {
		steps = ContainSteps
	}
	f := a.Finding
	switch t {
	case TemplateGeneric, "":
		return json.Marshal(GenericPayload{
			Schema: PayloadSchema, Delivery: dkey,
			Action: PayloadAction{ID: a.ID, Kind: a.Kind, Steps: steps, Actor: a.Actor, Requested: a.Requested.UTC()},
			Finding: PayloadFinding{ID: f.ID, Kind: f.Kind, Title: f.Title, Status: f.Status, TLP: f.TLP,
				Observable: f.Observable, AssetID: f.AssetID, Key: f.Key, Count: f.Count, LastSeen: f.LastSeen},
			Values: values, Priority: f.Priority, Level: findingLevel(f),
			Evidence: nonNilStrings(f.Evidence), Recommendations: nonNilStrings(recs),
		})
	case TemplateShuffle, TemplateN8N:
		p := FlatPayload{Source: "omen", ActionID: a.ID, Delivery: dkey, Action: a.Kind, Steps: steps,
			FindingID: f.ID, FindingKind: f.Kind, FindingTitle: f.Title, Priority: f.Priority, Level: findingLevel(f),
			TLP: "TLP:" + strings.ToUpper(f.TLP.String()), Values: make([]string, 0, len(values)),
			Evidence: strings.Join(f.Evidence, "\n"), Recommendations: strings.Join(recs, "\n"),
			Actor: a.Actor, Requested: a.Requested.UTC().Format(time.RFC3339)}
		for _, v := range values {
			p.Values = append(p.Values, v.Value)
		}
		if len(values) > 0 {
			p.Value, p.ValueType = values[0].Value, string(values[0].Type)
		}
		p.ValuesCSV = strings.Join(p.Values, ",")
		return json.Marshal(p)
	case TemplateTheHiveAlert:
		return json.Marshal(theHiveAlert(a, values, recs))
	}
	return nil, fmt.Errorf("unknown webhook template %q", t)
}

func theHiveAlert(a Action, values []intel.Observable, recs []string) TheHiveAlert {
	f := a.Finding
	lvl := findingLevel(f)
	title := f.Title
	if title == "" {
		title = fmt.Sprintf("omen finding %d", f.ID)
	}
	var d strings.Builder
	fmt.Fprintf(&d, "**omen action:** %s (%s)\n\n", a.Kind, a.ID)
	fmt.Fprintf(&d, "**Finding %d** (%s): %s\n\n**Priority:** %d (%s)\n", f.ID, f.Kind, title, f.Priority, lvl)
	if a.Kind == KindContainAccount {
		d.WriteString("\n**Steps:** disable the account, revoke its sessions, force a password reset.\n")
	}
	if len(f.Evidence) > 0 {
		d.WriteString("\n### Evidence\n")
		for _, e := range f.Evidence {
			d.WriteString("- " + e + "\n")
		}
	}
	if len(recs) > 0 {
		d.WriteString("\n### Recommendations\n")
		for _, r := range recs {
			d.WriteString("- " + r + "\n")
		}
	}
	tlp := min(int(f.TLP), int(intel.TLPRed))
	al := TheHiveAlert{Type: "omen-" + string(a.Kind), Source: "omen", SourceRef: a.ID, Title: title,
		Description: d.String(), Date: a.Requested.UnixMilli(), Severity: theHiveSeverity(lvl),
		Tags: []string{"omen", "omen:action=" + string(a.Kind), "omen:finding=" + fmt.Sprint(f.ID)},
		TLP:  tlp, PAP: 2}
	if f.Kind != "" {
		al.Tags = append(al.Tags, "omen:kind="+f.Kind)
	}
	for _, v := range values {
		dt, ok := theHiveTypes[v.Type]
		if !ok {
			dt = "other"
		}
		al.Observables = append(al.Observables, TheHiveObservable{DataType: dt, Data: v.Value, TLP: tlp,
			IOC: a.Kind == KindBlock, Tags: []string{"omen:type=" + string(v.Type)}})
	}
	return al
}
