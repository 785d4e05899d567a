package respond

import (
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
)

func TestAutoPolicyAllow(t *testing.T) {
	act := risk.Priority{Score: 92, Level: "critical", Action: "Act", AutoResponse: true, Factors: risk.Factors{L: 0.9}}
	on := AutoPolicy{Enabled: true, Kinds: []Kind{KindBlock}}
	for name, tc := range map[string]struct {
		p    AutoPolicy
		pr   risk.Priority
		kind Kind
		want bool
	}{
		"allowed":             {on, act, KindBlock, true},
		"off by default":      {AutoPolicy{}, act, KindBlock, false},
		"disabled":            {AutoPolicy{Kinds: []Kind{KindBlock}}, act, KindBlock, false},
		"kind not allowed":    {on, act, KindContainAccount, false},
		"no kinds":            {AutoPolicy{Enabled: true}, act, KindBlock, false},
		"below default 80":    {on, risk.Priority{Score: 79, AutoResponse: true, Factors: risk.Factors{L: 0.9}}, KindBlock, false},
		"below min priority":  {AutoPolicy{Enabled: true, Kinds: []Kind{KindBlock}, MinPriority: 95}, act, KindBlock, false},
		"not auto eligible":   {on, risk.Priority{Score: 92, AutoResponse: false, Factors: risk.Factors{L: 0.7}}, KindBlock, false},
		"raised likelihood":   {AutoPolicy{Enabled: true, Kinds: []Kind{KindBlock}, MinLikelihood: 0.95}, act, KindBlock, false},
		"likelihood reached":  {AutoPolicy{Enabled: true, Kinds: []Kind{KindBlock}, MinLikelihood: 0.9}, act, KindBlock, true},
		"open case allowed":   {AutoPolicy{Enabled: true, Kinds: []Kind{KindOpenCase, KindBlock}}, act, KindOpenCase, true},
		"zero priority value": {on, risk.Priority{}, KindBlock, false},
	} {
		if got := tc.p.Allow(tc.pr, tc.kind); got != tc.want {
			t.Errorf("%s: Allow = %v, want %v", name, got, tc.want)
		}
	}
}

func TestActionGuard(t *testing.T) {
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	own := []intel.Asset{{ID: 1, Kind: "network", Name: "HQ LAN", Values: []string{"10.0.0.0/8"}},
		{ID: 2, Kind: "domain", Name: "mail", Values: []string{"acme-corp.com"}}}
	g := ActionGuard(NewGuard(own, lists, nil))
	for _, tc := range []struct {
		o    intel.Observable
		want bool
	}{
		{intel.Observable{Type: intel.IPv4, Value: "10.20.30.40"}, true},
		{intel.Observable{Type: intel.Domain, Value: "mx1.acme-corp.com"}, true},
		{intel.Observable{Type: intel.IPv4, Value: "8.8.8.8"}, true},
		{intel.Observable{Type: intel.Domain, Value: "google.com"}, true},
		{intel.Observable{Type: intel.IPv4, Value: "45.137.21.9"}, false},
	} {
		reason, blocked := g(tc.o)
		if blocked != tc.want || blocked && reason == "" {
			t.Errorf("%s: blocked %v (%q), want %v", tc.o, blocked, reason, tc.want)
		}
	}
}

func TestNewActionID(t *testing.T) {
	a, b := NewActionID(), NewActionID()
	if a == b || len(a) != 28 || a[:4] != "act-" {
		t.Errorf("ids %q %q", a, b)
	}
}
