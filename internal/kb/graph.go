package kb

import (
	"context"
	"fmt"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Graph is the store's entities and the relationships that start at one, held in memory. Entities
// are few next to indicators (ATT&CK, galaxies, KEV: tens of thousands at most), and the lookup
// and enrichment paths ask about them for every match, so they read them here instead of the
// store. A Graph is immutable; [KB] replaces it when entities change.
type Graph struct {
	byID   map[string]intel.Entity
	byName map[string][]string // lower-case name or alias -> IDs, in name order
	from   map[string][]intel.Relationship
	to     map[string][]intel.Relationship
	rels   int
}

// graphChunk is the number of refs per RelationshipsFrom query.
const graphChunk = 500

// LoadGraph reads every entity and every relationship whose source is an entity.
func LoadGraph(ctx context.Context, st store.Store) (*Graph, error) {
	es, err := st.ListEntities(ctx, store.EntityFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing entities: %w", err)
	}
	g := &Graph{byID: make(map[string]intel.Entity, len(es)), byName: map[string][]string{},
		from: map[string][]intel.Relationship{}, to: map[string][]intel.Relationship{}}
	ids := make([]string, 0, len(es))
	for _, e := range es {
		g.byID[e.ID] = e
		ids = append(ids, e.ID)
		seen := map[string]bool{}
		for _, n := range append([]string{e.Name}, e.Aliases...) {
			k := strings.ToLower(strings.TrimSpace(n))
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			g.byName[k] = append(g.byName[k], e.ID)
		}
	}
	for i := 0; i < len(ids); i += graphChunk {
		rs, err := st.RelationshipsFrom(ctx, ids[i:min(i+graphChunk, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("reading relationships: %w", err)
		}
		for _, r := range rs {
			g.add(r)
		}
	}
	return g, nil
}

func (g *Graph) add(r intel.Relationship) {
	g.from[r.SourceRef] = append(g.from[r.SourceRef], r)
	if r.TargetRef != r.SourceRef {
		g.to[r.TargetRef] = append(g.to[r.TargetRef], r)
	}
	g.rels++
}

// Entity returns the entity with that ID.
func (g *Graph) Entity(id string) (intel.Entity, bool) {
	e, ok := g.byID[id]
	return e, ok
}

// Named returns the entities whose name or one of whose aliases is name (case-insensitive).
func (g *Graph) Named(name string) []intel.Entity {
	ids := g.byName[strings.ToLower(strings.TrimSpace(name))]
	out := make([]intel.Entity, 0, len(ids))
	for _, id := range ids {
		out = append(out, g.byID[id])
	}
	return out
}

// From returns the relationships whose source is ref (an entity ID).
func (g *Graph) From(ref string) []intel.Relationship { return g.from[ref] }

// To returns the relationships from an entity to ref (an entity ID or an observable's
// "type:value" form: a malware that communicates with an address, say).
func (g *Graph) To(ref string) []intel.Relationship { return g.to[ref] }

// Len returns the number of entities and relationships.
func (g *Graph) Len() (entities, relationships int) { return len(g.byID), g.rels }
