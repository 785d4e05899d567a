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
