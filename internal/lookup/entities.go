package lookup

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/store"
)

// entities is where a lookup reads entities and relationships: the store, or the knowledge base's
// graph in memory.
type entities interface {
	named(ctx context.Context, name string, limit int) ([]intel.Entity, error)
	entity(ctx context.Context, id string) (intel.Entity, error) // wraps store.ErrNotFound when missing
	relationships(ctx context.Context, ref string) ([]intel.Relationship, error)
}

type storeEntities struct{ st store.Store }

func (s storeEntities) named(ctx context.Context, name string, limit int) ([]intel.Entity, error) {
	return s.st.ListEntities(ctx, store.EntityFilter{Name: name, Limit: limit})
}

func (s storeEntities) entity(ctx context.Context, id string) (intel.Entity, error) {
	return s.st.Entity(ctx, id)
}

func (s storeEntities) relationships(ctx context.Context, ref string) ([]intel.Relationship, error) {
	return s.st.Relationships(ctx, ref)
}

// graphEntities answers from a [kb.Graph], and for the matched indicators from the relationships
// their [kb.Hit] holds.
type graphEntities struct {
	g          *kb.Graph
	indicators map[string][]intel.Relationship
}

func (g graphEntities) named(_ context.Context, name string, limit int) ([]intel.Entity, error) {
	es := g.g.Named(name)
	return es[:min(len(es), limit)], nil
}

func (g graphEntities) entity(_ context.Context, id string) (intel.Entity, error) {
	if e, ok := g.g.Entity(id); ok {
		return e, nil
	}
	return intel.Entity{}, fmt.Errorf("entity %s: %w", id, store.ErrNotFound)
}

func (g graphEntities) relationships(_ context.Context, ref string) ([]intel.Relationship, error) {
	if rs, ok := g.indicators[ref]; ok {
		return rs, nil
	}
	var out []intel.Relationship
	seen := map[string]bool{}
	for _, rs := range [][]intel.Relationship{g.g.From(ref), g.g.To(ref)} {
		for _, r := range rs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b intel.Relationship) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
