package config

import (
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

func TestPriorityOverrides(t *testing.T) {
	c, err := Load([]byte(`
scoring:
  partial_match: 0.3
priority:
  severity: {c2: 0.95, scanner: 0.2}
  criticality: {extreme: 0.9}
  exposure: {internet-facing: 1.5}
  match_quality: {shared-ip: 0.4}
  bands:
    - {min: 70, level: critical, action: Act}
    - {min: 30, level: medium, action: Track}
    - {min: 0, level: info, action: Enrich}
  finding_at: 70
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.PriorityModel()
	if err != nil {
		t.Fatal(err)
	}
	if m.Severity[risk.ThreatC2] != 0.95 || m.Severity[risk.ThreatScanner] != 0.2 || m.Severity[risk.ThreatPhishing] != 0.8 ||
		m.Criticality[intel.CriticalityExtreme] != 0.9 || m.Exposure["internet-facing"] != 1.5 ||
		m.MatchQuality[risk.MatchSharedIP] != 0.4 || m.MatchQuality[risk.MatchPartial] != 0.3 || m.Likelihood.PartialMatch != 0.3 {
		t.Errorf("model %+v", m)
	}
	if len(m.Bands) != 3 || m.Bands[0].Min != 70 || m.Bands[0].Action != "Act" || c.FindingPriority() != 70 {
		t.Errorf("bands %+v finding_at %d", m.Bands, c.FindingPriority())
	}
	if m.Version != risk.ModelVersion {
		t.Errorf("version %q", m.Version)
	}
	if c, _ := Load(nil); c.FindingPriority() != 60 {
		t.Errorf("default finding priority %d", c.FindingPriority())
	}
}

func TestPriorityErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"priority: {severity: {apt: 0.9}}", "priority.severity.apt: unknown key"},
		{"priority: {criticality: {high: 1.5}}", "priority.criticality.high: 1.5 is outside 0..1"},
		{"priority: {exposure: {internal: 3}}", "outside 0..2"},
		{"priority: {bands: [{min: 50, level: a}, {min: 60, level: b}]}", "want below the band before"},
		{"priority: {bands: [{min: 50, level: a}]}", "the last band must start at 0"},
		{"priority: {finding_at: 101}", "finding_at 101"},
		{"priority: {weights: {}}", "unknown field"},
	} {
		_, err := Load([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestBrandMonitorConfig(t *testing.T) {
	c, err := Load([]byte(`brand:
  ct_logs:
    - {name: argon, url: "https://ct.example/logs/argon2026h1", api: rfc6962}
    - {url: "https://static.example/willow", api: static, start: "12345"}
  allow: [partner.example.com]
`))
	if err != nil || len(c.Brand.CTLogs) != 2 || c.Brand.CTLogs[1].Start != "12345" {
		t.Fatalf("%+v, %v", c.Brand, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{`brand: {ct_logs: [{url: "ftp://x"}]}`, "brand.ct_logs[0].url"},
		{`brand: {ct_logs: [{url: "https://x", api: tiles}]}`, "want rfc6962 or static"},
		{`brand: {ct_logs: [{url: "https://x", start: "-1"}]}`, "want now or an entry index"},
		{`brand: {ct_logs: [{url: "https://x"}, {url: "https://x"}]}`, "listed twice"},
	} {
		if _, err := Load([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
