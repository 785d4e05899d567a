package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAPISmoke(t *testing.T) {
	figs, err := runAPI(context.Background(), t.TempDir(), apiParams{n: 2000, clients: 4, duration: 300 * time.Millisecond, bulk: 100, reps: 3},
		func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"R1 GET lookup, 4 clients", "R1 GET lookup p99 at half", "R2 POST lookup of 100, 10% known",
		"R2 POST lookup of 100, all known, cold", "R2 POST lookup of 100, all known, repeated", "R2 POST lookup of 100, all known, repeated, answer cache off", "lookup.Service.Lookup of 100", "R1 GET lookup, 4 clients, answer cache off"}
	for _, w := range want {
		found := false
		for _, f := range figs {
			if strings.HasPrefix(f.Name, w) {
				found = true
				if f.Value <= 0 {
					t.Errorf("%s: no value: %+v", f.Name, f)
				}
			}
		}
		if !found {
			t.Errorf("no figure %q in %+v", w, figs)
		}
	}
	for _, f := range figs {
		if strings.HasPrefix(f.Name, "R1 GET lookup, ") && (f.Baseline <= 0 || f.Ratio <= 0) {
			t.Errorf("R1 without its baseline: %+v", f)
		}
	}
}

func TestLoadAgainstNoop(t *testing.T) {
	u, stop, err := serve(noopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	r, err := load(context.Background(), httpClient(2), []string{u + "/x"}, "Bearer x", 2, 100*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.rate <= 0 || r.p99 < r.p50 {
		t.Errorf("load result %+v", r)
	}
}
