package respond_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

func obs(t intel.Type, v string) intel.Observable { return intel.Observable{Type: t, Value: v} }

// selectionStore holds indicators that each selection step keeps or drops.
func selectionStore(t *testing.T, now time.Time) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var lists *match.WarninglistSet
	ingestReports(t, st, lists, intel.Source{Name: "a-feed", Reliability: intel.ReliabilityA, TLP: intel.TLPClear, Confidence: 90}, []intel.Report{
		{Observable: obs(intel.IPv4, "192.0.2.10"), Tags: []string{"c2"}, ThreatType: "c2", Malware: "Pikabot"},
		{Observable: obs(intel.IPv4, "192.0.2.11"), Tags: []string{"c2"}},
		{Observable: obs(intel.Domain, "evil.example.com"), Tags: []string{"phishing"}},
		{Observable: obs(intel.IPv4, "192.0.2.99"), LastSeen: now.Add(-30 * 24 * time.Hour)},                // old: low score, before --since
		{Observable: obs(intel.IPv4, "192.0.2.98"), ValidUntil: now.Add(-time.Hour)},                        // expired
		{Observable: obs(intel.SHA256, strings.Repeat("c", 64)), Confidence: 50},                            // lower score
		{Observable: obs(intel.URL, "http://evil.example.com/gate.php"), LastSeen: now.Add(-2 * time.Hour)}, // seen by b-feed later
	}, now)
	ingestReports(t, st, lists, intel.Source{Name: "b-feed", Reliability: intel.ReliabilityC, TLP: intel.TLPAmber, Confidence: 60}, []intel.Report{
		{Observable: obs(intel.URL, "http://evil.example.com/gate.php"), ThreatType: "malware-download"},
		{Observable: obs(intel.IPv4, "192.0.2.12")},
	}, now)
	ingestReports(t, st, lists, intel.Source{Name: "red-feed", Reliability: intel.ReliabilityA, TLP: intel.TLPRed, Confidence: 90}, []intel.Report{
		{Observable: obs(intel.IPv4, "192.0.2.13")},
		{Observable: obs(intel.IPv4, "192.0.2.10")}, // also red: the clear report still exports it
	}, now)
	return st
}

func TestCollect(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := selectionStore(t, now)
	all := respond.Format{Name: "all"}
	ips := respond.Format{Name: "ips", Types: []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR}, Aggregate: true}
	for _, c := range []struct {
		name    string
		sel     respond.Selection
		f       respond.Format
		want    string // in output order: addresses, then the other types, each by value
		removed map[string]int
	}{
		{"amber, every type", respond.Selection{TLP: intel.TLPAmber}, all,
			"192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.99 evil.example.com http://evil.example.com/gate.php cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
			map[string]int{"tlp": 1, "expired": 1}},
		{"clear ceiling", respond.Selection{TLP: intel.TLPClear}, all,
			"192.0.2.10 192.0.2.11 192.0.2.99 evil.example.com http://evil.example.com/gate.php cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
			map[string]int{"tlp": 2, "expired": 1}},
		{"format types, aggregated", respond.Selection{TLP: intel.TLPAmber}, ips,
			"192.0.2.10/31 192.0.2.12 192.0.2.99", map[string]int{"tlp": 1, "expired": 1, "type": 3}},
		{"selected types", respond.Selection{TLP: intel.TLPAmber, Types: []intel.Type{intel.Domain, intel.IPv6}}, ips,
			"", map[string]int{"type": 9}},
		{"tags", respond.Selection{TLP: intel.TLPAmber, Tags: []string{"phishing", "nope"}}, all,
			"evil.example.com", map[string]int{"tag": 7, "tlp": 1}},
		{"sources", respond.Selection{TLP: intel.TLPAmber, Sources: []string{"b-feed"}}, all,
			"192.0.2.12 http://evil.example.com/gate.php", map[string]int{"source": 6, "tlp": 1}},
		{"since", respond.Selection{TLP: intel.TLPAmber, Since: now.Add(-90 * time.Minute)}, all,
			"192.0.2.10 192.0.2.11 192.0.2.12 evil.example.com http://evil.example.com/gate.php cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
			map[string]int{"since": 1, "tlp": 1, "expired": 1}},
		{"min score", respond.Selection{TLP: intel.TLPAmber, MinScore: 80}, all,
			"192.0.2.10 192.0.2.11 evil.example.com http://evil.example.com/gate.php", map[string]int{"score": 3, "tlp": 1, "expired": 1}},
		{"cap", respond.Selection{TLP: intel.TLPAmber, Max: 2}, all,
			"192.0.2.10 http://evil.example.com/gate.php", map[string]int{"cap": 5, "tlp": 1, "expired": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			es, rep, err := respond.Collect(context.Background(), st, nil, risk.DefaultModel(), c.sel, c.f, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := values(es); got != c.want {
				t.Errorf("entries %q\nwant    %q", got, c.want)
			}
			if rep.Candidates != 9 || rep.Written != len(es) || !maps.Equal(rep.Removed, c.removed) {
				t.Errorf("report %+v, want removed %v", rep, c.removed)
			}
		})
	}
}

// An entry says what a format needs: score, the TLP of what it may carry, the sources most recent
// first, the threat type and malware.
func TestCollectEntry(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := selectionStore(t, now)
	es, _, err := respond.Collect(context.Background(), st, nil, risk.DefaultModel(), respond.Selection{TLP: intel.TLPAmber},
		respond.Format{Name: "urls", Types: []intel.Type{intel.URL}}, now)
	if err != nil || len(es) != 1 {
		t.Fatalf("%v %v", es, err)
	}
	e := es[0]
	if e.TLP != intel.TLPClear || !slices.Equal(e.Sources, []string{"b-feed", "a-feed"}) || e.ThreatType != "malware-download" ||
		e.ID == 0 || e.Score < 50 || !e.LastSeen.Equal(now.Add(-time.Hour)) {
		t.Errorf("entry %+v", e)
	}
	es, _, _ = respond.Collect(context.Background(), st, nil, risk.DefaultModel(), respond.Selection{TLP: intel.TLPClear},
		respond.Format{Name: "ip", Types: []intel.Type{intel.IPv4}}, now)
	if e := es[0]; e.Observable.Value != "192.0.2.10" || !slices.Equal(e.Sources, []string{"a-feed"}) || e.Malware != "Pikabot" {
		t.Errorf("a red report leaks into a clear entry: %+v", e)
	}
}

func TestCollectCanceled(t *testing.T) {
	st := selectionStore(t, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := respond.Collect(ctx, st, nil, risk.DefaultModel(), respond.Selection{}, respond.Format{Name: "x"}, time.Now()); err == nil {
		t.Error("no error on a canceled context")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	lines := testFormats[0]
	es := []respond.Entry{ent("192.0.2.1", 10)}
	path := filepath.Join(dir, "list.txt")
	if err := respond.WriteFile(lines, path, es, respond.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, []byte("192.0.2.1\n")) {
		t.Errorf("file %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".omen-export-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	called := ""
	dirFormat := respond.Format{Name: "dir", WriteDir: func(d string, _ []respond.Entry, _ respond.WriteOptions) error {
		called = d
		return nil
	}}
	if err := respond.WriteFile(dirFormat, filepath.Join(dir, "feed"), es, respond.WriteOptions{}); err != nil || called != filepath.Join(dir, "feed") {
		t.Errorf("WriteDir: %q %v", called, err)
	}
	if err := respond.Write(dirFormat, &bytes.Buffer{}, es, respond.WriteOptions{}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Write of a directory format: %v", err)
	}
}
