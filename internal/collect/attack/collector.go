package attack

import (
	"context"
	"fmt"
	"os"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
)

func init() { collect.Register("attack", New) }

// Collector collects one ATT&CK STIX bundle (enterprise, mobile or ICS; STIX 2.0 or 2.1).
type Collector struct{ src config.Source }

var _ collect.Collector = (*Collector)(nil)

// New validates src.
func New(src config.Source) (collect.Collector, error) {
	if err := collect.NoListSettings(src); err != nil {
		return nil, err
	}
	return &Collector{src: src}, nil
}

// Collect runs once: the whole bundle is parsed before anything is written.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	dl, res, err := fetch.Source(ctx, env, "a STIX bundle")
	if dl == nil {
		return res, err
	}
	defer dl.Close()
	f, err := os.Open(dl.Path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	es, rels, _, err := Parse(f, c.src.Name)
	if err != nil {
		return res, fmt.Errorf("rejected the input: %w", err)
	}
	for i := range es {
		es[i].TLP = c.src.TLP
	}
	for i := range rels {
		rels[i].TLP = c.src.TLP
	}
	res.Records = len(es) + len(rels)
	if err := collect.CheckInput(c.src, res.Records, 0, env.GoodRecords); err != nil {
		return res, err
	}
	if err := env.Store.PutEntities(ctx, es); err != nil {
		return res, fmt.Errorf("storing ATT&CK objects: %w", err)
	}
	if err := env.Store.PutRelationships(ctx, rels); err != nil {
		return res, fmt.Errorf("storing ATT&CK relationships: %w", err)
	}
	res.Entities, res.Relationships = len(es), len(rels)
	res.State = fetch.StateOf(dl)
	return res, nil
}
