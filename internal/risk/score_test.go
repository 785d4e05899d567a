package risk_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

const day = 24 * time.Hour

// The decay table of docs/soc-integration.md section 3.3.
func TestDecayCurve(t *testing.T) {
	m := risk.DefaultModel()
	tests := []struct {
		typ  intel.Type
		days float64
		want float64
	}{
		{intel.IPv4, 1, 0.90}, {intel.IPv4, 7, 0.68}, {intel.IPv4, 14, 0.52}, {intel.IPv4, 30, 0.24},
		{intel.IPv4, 45, 0.03}, {intel.IPv4, 90, 0}, {intel.URL, 3, 0.81},
		{intel.Domain, 1, 0.93}, {intel.Domain, 7, 0.83}, {intel.Domain, 30, 0.67}, {intel.Domain, 90, 0.44},
		{intel.Domain, 180, 0.22}, {intel.Domain, 365, 0},
		{intel.SHA256, 1, 1.0}, {intel.SHA256, 30, 0.95}, {intel.SHA256, 180, 0.65}, {intel.SHA256, 365, 0.23},
		{intel.CVE, 0, 1}, {intel.CVE, 470, 0},
	}
	for _, tc := range tests {
		got := m.DecayFor(tc.typ).At(time.Duration(tc.days * float64(day)))
		if math.Abs(got-tc.want) > 0.011 {
			t.Errorf("decay %s at %g days = %.3f, want %.2f", tc.typ, tc.days, got, tc.want)
		}
	}
}

func rel(grades map[string]intel.Reliability) func(string) intel.Reliability {
	return func(s string) intel.Reliability { return grades[s] }
}

// Worked example 1 of omen-prio-1: two B sources and two internal sightings give L_intel 0.906.
func TestScoreWorkedExample(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ip := intel.Observable{Type: intel.IPv4, Value: "203.0.113.77"}
	in := intel.Indicator{Observable: ip, Reports: []intel.Report{
		{Observable: ip, Source: "abuse.ch", Confidence: 90, LastSeen: now.Add(-3 * day), ThreatType: "c2", Malware: "More_eggs"},
		{Observable: ip, Source: "vendorx", Confidence: 80, LastSeen: now.Add(-1 * day)},
	}}
	sightings := []intel.Sighting{
		{Observable: ip, Where: "host-a", LastSeen: now.Add(-2 * time.Hour)},
		{Observable: ip, Where: "host-b", LastSeen: now.Add(-3 * time.Hour)},
	}
	// The sightings also restart both decay clocks, so compute the example without them first.
	s := risk.DefaultModel().Score(in, risk.Input{Reliability: rel(map[string]intel.Reliability{"abuse.ch": 'B', "vendorx": 'B'}), Now: now})
	if math.Abs(s.Likelihood-(1-(1-0.621)*(1-0.614))) > 0.01 {
		t.Errorf("likelihood = %.3f, want 0.854", s.Likelihood)
	}
	if s.Score != 85 || s.Expired {
		t.Errorf("score = %d expired=%v, want 85 live", s.Score, s.Expired)
	}
	want := "Reported by 2 sources: abuse.ch [B], vendorx [B]; most recent 1 day ago."
	if s.Evidence[0] != want {
		t.Errorf("evidence[0] = %q, want %q", s.Evidence[0], want)
	}
	if !strings.Contains(strings.Join(s.Evidence, "\n"), "abuse.ch [B]: reports it as c2 More_eggs; confidence 90") {
		t.Errorf("evidence lacks the source's claim: %q", s.Evidence)
	}
	s2 := risk.DefaultModel().Score(in, risk.Input{Reliability: rel(map[string]intel.Reliability{"abuse.ch": 'B', "vendorx": 'B'}), Sightings: sightings, Now: now})
	if s2.Likelihood <= s.Likelihood || s2.Likelihood < 0.9 {
		t.Errorf("with sightings likelihood = %.3f, want above %.3f and 0.9", s2.Likelihood, s.Likelihood)
	}
	if !strings.Contains(strings.Join(s2.Evidence, "\n"), "2 hosts or users") {
		t.Errorf("evidence lacks the sightings: %q", s2.Evidence)
	}
}

// Worked example 2: an old report of a Cloudflare IP expires; a recent one is dampened by the warninglist.
func TestScoreWarninglistAndExpiry(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ip := intel.Observable{Type: intel.IPv4, Value: "104.16.1.1"}
	grades := rel(map[string]intel.Reliability{"x": 'C'})
	old := intel.Indicator{Observable: ip, Reports: []intel.Report{{Observable: ip, Source: "x", Confidence: 50, LastSeen: now.Add(-200 * day)}}}
	s := risk.DefaultModel().Score(old, risk.Input{Reliability: grades, Now: now})
	if !s.Expired || s.Score != 0 {
		t.Fatalf("old report: score %d expired %v, want 0 expired", s.Score, s.Expired)
	}
	if !strings.Contains(strings.Join(s.Evidence, "\n"), "beyond the 47-day ipv4 lifetime") {
		t.Errorf("evidence = %q", s.Evidence)
	}
	recent := intel.Indicator{Observable: ip, Reports: []intel.Report{{Observable: ip, Source: "x", Confidence: 50, LastSeen: now.Add(-10 * day)}}}
	s = risk.DefaultModel().Score(recent, risk.Input{Reliability: grades, Warninglists: []string{"List of known Cloudflare IP ranges"}, Now: now})
	if math.Abs(s.Likelihood-0.0213) > 0.002 || s.Score != 2 {
		t.Errorf("dampened: likelihood %.4f score %d, want 0.021 and 2", s.Likelihood, s.Score)
	}
	if got := risk.Verdict(s.Score, true); got != risk.Benign {
		t.Errorf("verdict = %s, want benign", got)
	}
}

func TestValidUntilExpires(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	h := intel.Observable{Type: intel.SHA256, Value: strings.Repeat("a", 64)}
	in := intel.Indicator{Observable: h, Reports: []intel.Report{{Observable: h, Source: "x", Confidence: 100, LastSeen: now, ValidUntil: now.Add(-time.Second)}}}
	if s := risk.DefaultModel().Score(in, risk.Input{Now: now}); !s.Expired || s.Score != 0 {
		t.Errorf("score %d expired %v, want 0 and expired", s.Score, s.Expired)
	}
}

func TestBandsAndVerdicts(t *testing.T) {
	tests := []struct {
		score   int
		wl      bool
		band    string
		verdict string
	}{
		{100, false, "critical", risk.Malicious}, {80, false, "critical", risk.Malicious},
		{79, false, "high", risk.Malicious}, {60, true, "high", risk.Malicious},
		{59, false, "medium", risk.Suspicious}, {20, false, "low", risk.Suspicious},
		{19, false, "info", risk.Unknown}, {0, true, "info", risk.Benign},
	}
	for _, tc := range tests {
		if b, v := risk.Band(tc.score), risk.Verdict(tc.score, tc.wl); b != tc.band || v != tc.verdict {
			t.Errorf("score %d: band %s verdict %s, want %s %s", tc.score, b, v, tc.band, tc.verdict)
		}
	}
}
