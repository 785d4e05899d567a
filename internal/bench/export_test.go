package bench

import (
	"context"
	"strings"
	"testing"
)

func TestExportSmoke(t *testing.T) {
	figs, err := Export(context.Background(), t.TempDir(), 3000, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 5 || !strings.HasPrefix(figs[0].Name, "regenerate ") {
		t.Fatalf("figures %+v", figs)
	}
	for _, f := range figs {
		if f.Value <= 0 || f.Baseline <= 0 || f.Ratio <= 0 {
			t.Errorf("figure without a value or baseline: %+v", f)
		}
	}
}
