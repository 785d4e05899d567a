package risk

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// ScoreOnly gives the score, likelihood and expiry a full Score gives.
func TestScoreOnlySameScore(t *testing.T) {
	m := DefaultModel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	grades := map[string]intel.Reliability{"a": 'A', "b": 'B', "c": 'C', "e": 'E'}
	names := []string{"a", "b", "c", "e", "unknown"}
	types := []intel.Type{intel.IPv4, intel.Domain, intel.SHA256, intel.URL}
	for i := range 2000 {
		in := intel.Indicator{Observable: intel.Observable{Type: types[i%len(types)], Value: "x"}}
		for range 1 + r.IntN(4) {
			seen := now.Add(-time.Duration(r.IntN(600*24)) * time.Hour)
			rep := intel.Report{Source: names[r.IntN(len(names))], Confidence: r.IntN(101), LastSeen: seen, FirstSeen: seen}
			if r.IntN(5) == 0 {
				rep.ValidUntil = now.Add(time.Duration(r.IntN(96)-48) * time.Hour)
			}
			in.Reports = append(in.Reports, rep)
		}
		x := Input{Reliability: func(s string) intel.Reliability { return grades[s] }, Now: now}
		if r.IntN(4) == 0 {
			x.Warninglists = []string{"list"}
		}
		full := m.Score(in, x)
		x.ScoreOnly = true
		only := m.Score(in, x)
		if only.Score != full.Score || only.Likelihood != full.Likelihood || only.Expired != full.Expired {
			t.Fatalf("%+v: ScoreOnly %d %v %v, Score %d %v %v", in, only.Score, only.Likelihood, only.Expired, full.Score, full.Likelihood, full.Expired)
		}
	}
}
