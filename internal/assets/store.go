package assets

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/omen-tip/omen/internal/intel"
)

// Store is the part of the store that holds assets.
type Store interface {
	PutAsset(ctx context.Context, a intel.Asset) (intel.Asset, error)
	ListAssets(ctx context.Context, kind string) ([]intel.Asset, error)
}

// Counts says what [Upsert] did.
type Counts struct {
	New       int `json:"new"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// Upsert writes entries to st on their natural key ([Key]): an asset whose key is not stored yet
// is created; a stored one is replaced by the entry (its ID and creation time kept) when anything
// differs, and left alone otherwise. It stops at the first store error, returning what it did.
func Upsert(ctx context.Context, st Store, entries []Entry) (Counts, error) {
	return upsert(ctx, st, entries, true)
}

// Plan counts what [Upsert] would do with entries, without writing.
func Plan(ctx context.Context, st Store, entries []Entry) (Counts, error) {
	return upsert(ctx, st, entries, false)
}

func upsert(ctx context.Context, st Store, entries []Entry, write bool) (Counts, error) {
	var c Counts
	existing, err := st.ListAssets(ctx, "")
	if err != nil {
		return c, fmt.Errorf("reading assets: %w", err)
	}
	byKey := make(map[string]intel.Asset, len(existing))
	for _, a := range existing {
		if _, dup := byKey[Key(a)]; !dup { // the oldest wins, as IDs ascend
			byKey[Key(a)] = a
		}
	}
	for _, e := range entries {
		a := e.Asset
		old, ok := byKey[Key(a)]
		if ok && Same(old, a) {
			c.Unchanged++
			continue
		}
		a.ID = old.ID
		if write {
			if _, err := st.PutAsset(ctx, a); err != nil {
				return c, fmt.Errorf("storing %s asset %q: %w", a.Kind, a.Name, err)
			}
		}
		if ok {
			c.Updated++
		} else {
			c.New++
		}
	}
	return c, nil
}

// Find returns the stored asset with the natural key of a, if any.
func Find(ctx context.Context, st Store, a intel.Asset) (intel.Asset, bool, error) {
	list, err := st.ListAssets(ctx, a.Kind)
	if err != nil {
		return intel.Asset{}, false, fmt.Errorf("reading assets: %w", err)
	}
	k := Key(a)
	for _, x := range list {
		if Key(x) == k {
			return x, true, nil
		}
	}
	return intel.Asset{}, false, nil
}

// Same reports whether a and b describe the same asset the same way, ignoring ID and times.
func Same(a, b intel.Asset) bool {
	return a.Kind == b.Kind && a.Name == b.Name && slices.Equal(a.Values, b.Values) &&
		a.Criticality == b.Criticality && a.DataClass == b.DataClass && a.Service == b.Service &&
		a.Owner == b.Owner && a.Exposure == b.Exposure && maps.Equal(a.Attributes, b.Attributes)
}
