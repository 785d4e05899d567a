package assets_test

import (
	"testing"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

func TestUpsert(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries := parseFile(t, "good.yaml").Entries
	c, err := assets.Upsert(ctx, st, entries)
	if err != nil || c != (assets.Counts{New: 8}) {
		t.Fatalf("first import: %+v, %v", c, err)
	}
	c, err = assets.Upsert(ctx, st, parseFile(t, "good.csv").Entries)
	if err != nil || c != (assets.Counts{Unchanged: 8}) {
		t.Fatalf("same assets from CSV: %+v, %v", c, err)
	}
	changed := entries[:2]
	changed[0].Asset.Criticality = intel.CriticalityLow
	changed[1].Asset.Name = "dmz" // the key folds case; the stored name follows the file
	c, err = assets.Upsert(ctx, st, changed)
	if err != nil || c != (assets.Counts{Updated: 2}) {
		t.Fatalf("changed: %+v, %v", c, err)
	}
	all, err := st.ListAssets(ctx, "")
	if err != nil || len(all) != 8 {
		t.Fatalf("%d assets, %v", len(all), err)
	}
	if all[0].Criticality != intel.CriticalityLow || all[1].Name != "dmz" || all[0].CreatedAt.After(all[0].UpdatedAt) {
		t.Errorf("after update: %+v %+v", all[0], all[1])
	}
	found, ok, err := assets.Find(ctx, st, intel.Asset{Kind: "host", Name: "FIN-LT-0231"})
	if err != nil || !ok || found.ID != all[3].ID {
		t.Errorf("Find: %+v %v %v", found, ok, err)
	}
}

func TestIndex(t *testing.T) {
	var list []intel.Asset
	for _, e := range parseFile(t, "good.json").Entries {
		list = append(list, e.Asset)
	}
	x := assets.NewIndex(list)
	tests := []struct {
		typ   intel.Type
		value string
		want  string // asset name, "" for none
	}{
		{intel.IPv4, "10.9.8.7", "HQ LAN"},
		{intel.IPv4, "10.20.30.40", "fin-lt-0231"}, // the host's /32 beats the network's /8
		{intel.IPv4, "192.168.10.200", "HQ LAN"},
		{intel.IPv4, "8.8.8.8", ""},
		{intel.IPv6, "2001:db8:10::1", "DMZ"},
		{intel.Domain, "a.b.shop.example.com", "example.com"},
		{intel.Domain, "example-bank.com", "Example Bank"},
		{intel.Domain, "fin-lt-0231.corp.local", "fin-lt-0231"},
		{intel.Domain, "com", ""},
		{intel.Domain, "example.org", ""},
		{intel.Email, "jane.doe@example.com", "Jane Doe"},
		{intel.Email, "someone@shop.example.com", "example.com"},
		{intel.Account, `corp\jdoe`, "Jane Doe"},
		{intel.Account, "jdoe", ""},
		{intel.SHA256, "00", ""},
	}
	for _, tc := range tests {
		got := x.Match(intel.Observable{Type: tc.typ, Value: tc.value})
		name := ""
		if len(got) > 0 {
			name = got[0].Name
		}
		if name != tc.want {
			t.Errorf("Match(%s %s) = %q, want %q", tc.typ, tc.value, name, tc.want)
		}
	}
	for in, want := range map[string]string{"FIN-LT-0231": "fin-lt-0231", "fin-lt-0231.other.example": "fin-lt-0231",
		"www.shop.example.com": "example.com", "web99": ""} {
		got := x.MatchHost(in)
		name := ""
		if len(got) > 0 {
			name = got[0].Name
		}
		if name != want {
			t.Errorf("MatchHost(%s) = %q, want %q", in, name, want)
		}
	}
	if x.Len() != 8 {
		t.Errorf("Len %d", x.Len())
	}
}
