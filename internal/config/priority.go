package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

// Priority overrides weights of the omen-prio-1 business-risk priority (docs/soc-integration.md
// 3.3). Every key must be one the model knows; values are 0..1 except exposure (0..2).
type Priority struct {
	// Severity maps threat classes (ransomware, active-ir, c2, phishing, exploit, malware,
	// scanner, pua) to S.
	Severity map[string]float64 `yaml:"severity"`
	// Criticality maps asset criticality (low, medium, high, extreme) to its impact.
	Criticality map[string]float64 `yaml:"criticality"`
	// DataClassification maps data classes (public, internal, confidential, restricted).
	DataClassification map[string]float64 `yaml:"data_classification"`
	// Privilege maps a person's privilege (standard, service, privileged, admin).
	Privilege map[string]float64 `yaml:"privilege"`
	// Exposure maps exposure (internet-facing, internal, segmented) to E.
	Exposure map[string]float64 `yaml:"exposure"`
	// MatchQuality maps match kinds (exact, fqdn, dedicated-ip, shared-ip, partial) to q.
	MatchQuality map[string]float64 `yaml:"match_quality"`
	// Bands replace the bands: highest min first, the last with min 0.
	Bands []risk.BandRule `yaml:"bands"`
	// FindingAt is the priority from which an enriched event opens or updates a finding
	// (default 60, the Attend band).
	FindingAt int `yaml:"finding_at"`
}

// PriorityModel returns omen-prio-1 with the likelihood model of c.Scoring and the overrides of
// c.Priority.
func (c *Config) PriorityModel() (risk.PriorityModel, error) {
	m := risk.DefaultPriorityModel()
	lm, err := c.Model()
	if err != nil {
		return m, err
	}
	m.Likelihood = lm
	m.MatchQuality[risk.MatchPartial] = lm.PartialMatch
	p := c.Priority
	var errs []error
	override := func(name string, dst map[string]float64, src map[string]float64, hi float64) {
		for k, v := range src {
			k = strings.ToLower(strings.TrimSpace(k))
			if _, ok := dst[k]; !ok {
				errs = append(errs, fmt.Errorf("priority.%s.%s: unknown key (want one of %s)", name, k,
					strings.Join(slices.Sorted(maps.Keys(dst)), ", ")))
				continue
			}
			if v < 0 || v > hi {
				errs = append(errs, fmt.Errorf("priority.%s.%s: %g is outside 0..%g", name, k, v, hi))
				continue
			}
			dst[k] = v
		}
	}
	override("severity", m.Severity, p.Severity, 1)
	crit := map[string]float64{}
	for k, v := range m.Criticality {
		crit[string(k)] = v
	}
	override("criticality", crit, p.Criticality, 1)
	for k, v := range crit {
		m.Criticality[intel.Criticality(k)] = v
	}
	override("data_classification", m.DataClass, p.DataClassification, 1)
	override("privilege", m.Privilege, p.Privilege, 1)
	override("exposure", m.Exposure, p.Exposure, 2)
	override("match_quality", m.MatchQuality, p.MatchQuality, 1)
	if len(p.Bands) > 0 {
		for i, b := range p.Bands {
			switch {
			case b.Min < 0 || b.Min > 100:
				errs = append(errs, fmt.Errorf("priority.bands[%d]: min %d is outside 0..100", i, b.Min))
			case i > 0 && b.Min >= p.Bands[i-1].Min:
				errs = append(errs, fmt.Errorf("priority.bands[%d]: min %d, want below the band before (%d)", i, b.Min, p.Bands[i-1].Min))
			case b.Level == "":
				errs = append(errs, fmt.Errorf("priority.bands[%d]: no level", i))
			}
		}
		if last := p.Bands[len(p.Bands)-1]; last.Min != 0 {
			errs = append(errs, errors.New("priority.bands: the last band must start at 0"))
		}
		m.Bands = p.Bands
	}
	if p.FindingAt < 0 || p.FindingAt > 100 {
		errs = append(errs, fmt.Errorf("priority.finding_at %d: want 0..100", p.FindingAt))
	}
	return m, errors.Join(errs...)
}

// FindingPriority is the priority from which enrichment opens findings.
func (c *Config) FindingPriority() int {
	if c.Priority.FindingAt > 0 {
		return c.Priority.FindingAt
	}
	return 60
}
