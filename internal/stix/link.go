package stix

import (
	"context"
	"fmt"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// linkIndicators records every relationship whose source is an indicator also from each
// observable of that indicator ("ipv4:198.51.100.1" indicates malware--...), so that a lookup of
// the observable finds the malware, actor or campaign: the relationships of this import, and those
// an earlier import stored from this import's indicators (a bundle split in two, or a new version
// of an indicator with a new pattern). The indicators are read back from the store (the latest
// version held), whether they came with this import or an earlier one.
func (ru *run) linkIndicators(ctx context.Context) error {
	byInd := map[string][]intel.Relationship{}
	var ids []string
	stored, err := ru.storedIndicatorRels(ctx)
	if err != nil {
		return err
	}
	for _, r := range append(ru.indicatorRels, stored...) {
		src := r.SourceRef
		if r.SourceRef != "" && !isType(src, "indicator") { // revoked: "revoked:indicator--..."
			src = src[len("revoked:"):]
		}
		if _, ok := byInd[src]; !ok {
			ids = append(ids, src)
		}
		byInd[src] = append(byInd[src], r)
	}
	ru.indicatorRels, ru.indicatorIDs = nil, nil
	for len(ids) > 0 {
		n := min(len(ids), BatchSize)
		if err := ru.linkBatch(ctx, ids[:n], byInd); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (ru *run) linkBatch(ctx context.Context, ids []string, byInd map[string][]intel.Relationship) error {
	page, err := ru.st.STIXObjects(ctx, store.STIXQuery{Collection: ru.coll, IDs: ids, Versions: []string{"last"}, MaxTLP: intel.TLPRed})
	if err != nil {
		return fmt.Errorf("stix import: reading indicators: %w", err)
	}
	var links []intel.Relationship
	for _, h := range page.Objects {
		o, err := decodeObject(h.Raw)
		if err != nil {
			continue
		}
		obs, _ := reduce(o.PatternType, o.Pattern)
		for _, r := range byInd[h.ID] {
			for _, ob := range obs {
				l := r
				l.ID = r.ID + "/" + ob.String()
				l.SourceRef = ob.String()
				if r.SourceRef != h.ID {
					l.SourceRef = revokedRef(l.SourceRef)
				}
				links = append(links, l)
			}
		}
	}
	if len(links) == 0 {
		return nil
	}
	if err := ru.st.PutRelationships(ctx, links); err != nil {
		return fmt.Errorf("stix import: linking observables: %w", err)
	}
	ru.counts.Linked += len(links)
	return nil
}

// storedIndicatorRels returns the stored relationships from this import's indicators that this
// import did not bring.
func (ru *run) storedIndicatorRels(ctx context.Context) ([]intel.Relationship, error) {
	mine := make(map[string]bool, len(ru.indicatorRels))
	for _, r := range ru.indicatorRels {
		mine[r.ID] = true
	}
	var out []intel.Relationship
	for ids := ru.indicatorIDs; len(ids) > 0; {
		n := min(len(ids), BatchSize)
		rels, err := ru.st.RelationshipsFrom(ctx, ids[:n])
		if err != nil {
			return nil, fmt.Errorf("stix import: reading relationships of indicators: %w", err)
		}
		for _, r := range rels {
			if !mine[r.ID] {
				out = append(out, r)
			}
		}
		ids = ids[n:]
	}
	return out, nil
}
