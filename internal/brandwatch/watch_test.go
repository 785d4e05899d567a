package brandwatch_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/brand"
	"github.com/omen-tip/omen/internal/brandwatch"
	"github.com/omen-tip/omen/internal/collect/ctlog"
	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// Every planted lookalike in the CT entries becomes a finding with a priority and evidence; the
// benign names and the brand's own domain create none.
func TestPlantedLookalikesBecomeFindings(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PutAsset(ctx, intel.Asset{Kind: "brand", Name: "PayPal", Values: []string{"paypal.com"},
		Criticality: intel.CriticalityExtreme, Exposure: "internet-facing"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	fs := findings.New(st, nil, findings.Options{MinPriority: -1, Now: func() time.Time { return now }})
	w := brandwatch.New(st, fs, risk.DefaultPriorityModel(), nil, nil)
	w.SetClock(func() time.Time { return now })
	if err := w.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	perms, err := brand.Generate("paypal.com")
	if err != nil {
		t.Fatal(err)
	}
	// One planted name per fuzzer family, as a CT log would show them.
	var planted []string
	families := map[string]bool{}
	for _, p := range perms {
		if !families[p.Fuzzer] && p.Domain != "paypal.com" {
			families[p.Fuzzer] = true
			planted = append(planted, p.Domain)
		}
	}
	planted = append(planted, "xn--pypal-4ve.com", "paypal-secure-login.com")
	benign := []string{"example.org", "wikipedia.org", "www.paypal.com", "golang.org", "letsencrypt.org"}
	var entries []ctlog.Entry
	for i, n := range append(slices.Clone(planted), benign...) {
		entries = append(entries, ctlog.Entry{Log: "fake", Index: int64(i), Names: []string{n}, Issuer: "CN=R3,O=Let's Encrypt,C=US",
			Logged: now.Add(-time.Hour)})
	}
	if err := w.Handle(ctx, entries); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListFindings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byValue := map[string]intel.Finding{}
	for _, f := range list {
		if f.Kind != brandwatch.FindingKind || f.Observable == nil {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		byValue[f.Observable.Value] = f
	}
	for _, n := range planted {
		f, ok := byValue[n]
		if !ok {
			t.Errorf("planted %s: no finding", n)
			continue
		}
		if f.Priority <= 0 || len(f.Evidence) < 2 || !strings.Contains(f.Evidence[1], "CT log fake") || f.AssetID == 0 {
			t.Errorf("%s: finding %+v", n, f)
		}
	}
	for _, n := range benign {
		if _, ok := byValue[n]; ok {
			t.Errorf("benign %s raised a finding", n)
		}
	}
	if len(byValue) != len(planted) {
		t.Errorf("%d findings for %d planted names", len(byValue), len(planted))
	}
	// The homoglyph on the extreme brand is urgent; its indicator is stored under the monitor.
	if f := byValue["xn--pypal-4ve.com"]; f.Priority < 60 {
		t.Errorf("homoglyph priority %d: %q", f.Priority, f.Evidence)
	}
	ins, err := st.Indicators(ctx, []intel.Observable{{Type: intel.Domain, Value: "xn--pypal-4ve.com"}})
	if err != nil || len(ins) != 1 || ins[0].Reports[0].Source != brandwatch.Source {
		t.Errorf("indicator %+v, %v", ins, err)
	}
	t.Logf("%d planted lookalikes (%d families) became findings", len(planted), len(families))
}
