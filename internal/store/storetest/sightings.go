package storetest

import (
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// testSightingsOf: the sightings of many observables in one call, latest first, none for the
// observables never seen, each observable's once however often it is asked for.
func testSightingsOf(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b, c := ipv4("192.0.2.71"), intel.Observable{Type: intel.Domain, Value: "seen.example"}, ipv4("192.0.2.72")
	for _, x := range []intel.Sighting{
		{Observable: a, Where: "fw-1", LastSeen: at(3)},
		{Observable: a, Where: "fw-2", LastSeen: at(7)},
		{Observable: b, Where: "dns-1", LastSeen: at(5)},
		{Observable: c, Where: "fw-1", LastSeen: at(1)}, // not asked for
	} {
		if _, err := s.AddSighting(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SightingsOf(ctx, []intel.Observable{a, b, a, ipv4("192.0.2.99")})
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, x := range got {
		where = append(where, x.Observable.Value+"@"+x.Where)
	}
	want := []string{"192.0.2.71@fw-2", "seen.example@dns-1", "192.0.2.71@fw-1"}
	if len(where) != len(want) {
		t.Fatalf("SightingsOf = %v, want %v", where, want)
	}
	for i := range want {
		if where[i] != want[i] {
			t.Fatalf("SightingsOf = %v, want %v", where, want)
		}
	}
	if got, err := s.SightingsOf(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("SightingsOf(nil) = %v, %v", got, err)
	}
}
