package stix

import (
	"context"
	"fmt"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// linkIndicators records every relationship of this import whose source is an indicator also from
// each observable of that indicator ("ipv4:198.51.100.1" indicates malware--...), so that a lookup
// of the observable finds the malware, actor or campaign. The indicators are read back from the
// store (the latest version held), whether they came with this import or an earlier one.
func (ru *run) linkIndicators(ctx context.Context) error {
	byInd := map[string][]intel.Relationship{}
	var ids []string
	for _, r := range ru.indicatorRels {
		src := r.SourceRef
		if r.SourceRef != "" && !isType(src, "indicator") { // revoked: "revoked:indicator--..."
			src = src[len("revoked:"):]
		}
		if _, ok := byInd[src]; !ok {
			ids = append(ids, src)
		}
		byInd[src] = append(byInd[src], r)
	}
	ru.indicatorRels = nil
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
