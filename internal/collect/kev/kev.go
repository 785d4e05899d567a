// Package kev is the `kev` source kind: the CISA Known Exploited Vulnerabilities catalogue. Each
// entry becomes a vulnerability entity (vendor, product, name, dates, due date, known ransomware use,
// required action, CWEs) and a report on the CVE id, so that a lookup of the CVE says it is exploited
// in the wild and links its vulnerability.
package kev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

func init() { collect.Register("kev", New) }

// Catalog is the KEV JSON document.
type Catalog struct {
	Title           string  `json:"title"`
	CatalogVersion  string  `json:"catalogVersion"`
	DateReleased    string  `json:"dateReleased"`
	Count           int     `json:"count"`
	Vulnerabilities []Entry `json:"vulnerabilities"`
}

// Entry is one exploited vulnerability.
type Entry struct {
	CVE              string   `json:"cveID"`
	Vendor           string   `json:"vendorProject"`
	Product          string   `json:"product"`
	Name             string   `json:"vulnerabilityName"`
	DateAdded        string   `json:"dateAdded"`
	ShortDescription string   `json:"shortDescription"`
	RequiredAction   string   `json:"requiredAction"`
	DueDate          string   `json:"dueDate"`
	KnownRansomware  string   `json:"knownRansomwareCampaignUse"`
	Notes            string   `json:"notes"`
	CWEs             []string `json:"cwes"`
}

// EntityID is the ID of the vulnerability entity of a CVE, shared by every kind that describes
// vulnerabilities (kev, epss).
func EntityID(cve string) string { return collect.VulnerabilityID(cve) }

// Parse decodes a KEV catalogue.
func Parse(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c Catalog
	if err := json.NewDecoder(f).Decode(&c); err != nil {
		return nil, fmt.Errorf("rejected the input: not a KEV catalogue: %w", err)
	}
	if c.Vulnerabilities == nil {
		return nil, errors.New("rejected the input: no vulnerabilities array: not a KEV catalogue")
	}
	return &c, nil
}

// Collector collects the catalogue.
type Collector struct{ src config.Source }

var _ collect.Collector = (*Collector)(nil)

// New validates src: list settings have no meaning here.
func New(src config.Source) (collect.Collector, error) {
	if err := collect.NoListSettings(src); err != nil {
		return nil, err
	}
	return &Collector{src: src}, nil
}

// Collect runs once.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	dl, res, err := fetch.Source(ctx, env, "the KEV JSON")
	if dl == nil {
		return res, err
	}
	defer dl.Close()
	cat, err := Parse(dl.Path)
	if err != nil {
		return res, err
	}
	var reports []intel.Report
	var entities []intel.Entity
	var rels []intel.Relationship
	for _, e := range cat.Vulnerabilities {
		o, err := intel.Normalize(intel.CVE, e.CVE)
		if err != nil {
			res.Rejected++
			continue
		}
		added, _ := time.Parse(time.DateOnly, e.DateAdded)
		tags := []string{"kev"}
		if strings.EqualFold(e.KnownRansomware, "Known") {
			tags = append(tags, "ransomware")
		}
		reports = append(reports, intel.Report{Observable: o, Confidence: c.src.Confidence, TLP: c.src.TLP,
			FirstSeen: added, LastSeen: env.Now, Tags: tags, ThreatType: "exploited-vulnerability"})
		attrs := map[string]any{"cve": o.Value, "vendor": e.Vendor, "product": e.Product, "kev_date_added": e.DateAdded,
			"kev_due_date": e.DueDate, "known_ransomware_use": e.KnownRansomware, "required_action": e.RequiredAction,
			"kev": true}
		if len(e.CWEs) > 0 {
			attrs["cwes"] = e.CWEs
		}
		if e.Notes != "" {
			attrs["notes"] = e.Notes
		}
		id := EntityID(o.Value)
		entities = append(entities, intel.Entity{ID: id, Type: intel.Vulnerability, Name: o.Value,
			Description: strings.TrimSpace(e.Name + ". " + e.ShortDescription), Source: c.src.Name, TLP: c.src.TLP,
			Created: added, Modified: env.Now, Attributes: attrs})
		rels = append(rels, intel.Relationship{ID: "relationship--kev-" + strings.ToLower(o.Value), Type: "related-to",
			SourceRef: o.String(), TargetRef: id, Source: c.src.Name, TLP: c.src.TLP, Created: added, Modified: env.Now})
	}
	res.Records = len(reports)
	if err := collect.CheckInput(c.src, res.Records, res.Rejected, env.GoodRecords); err != nil {
		return res, err
	}
	ing, err := env.Store.NewIngester(ctx, store.IngestOptions{Source: c.src.Name, Classify: env.Importer.Classifier()})
	if err != nil {
		return res, err
	}
	for _, r := range reports {
		if err := ing.Add(ctx, r); err != nil {
			ing.Abort()
			return res, err
		}
	}
	is, err := ing.Close(ctx)
	res.New, res.Updated = is.New, is.Updated
	if err != nil {
		return res, err
	}
	if err := env.Store.PutEntities(ctx, entities); err != nil {
		return res, fmt.Errorf("storing vulnerabilities: %w", err)
	}
	if err := env.Store.PutRelationships(ctx, rels); err != nil {
		return res, fmt.Errorf("storing relationships: %w", err)
	}
	res.Entities, res.Relationships = len(entities), len(rels)
	res.State = fetch.StateOf(dl)
	return res, nil
}
