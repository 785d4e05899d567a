package attack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/config"
)

func init() { collect.Register("attack", New) }

// Collector collects one ATT&CK STIX bundle (enterprise, mobile or ICS; STIX 2.0 or 2.1).
type Collector struct{ src config.Source }

var _ collect.Collector = (*Collector)(nil)

// New validates src.
func New(src config.Source) (collect.Collector, error) {
	if src.Format != "" || src.Column != "" || src.Type != "" || src.Delimiter != "" || len(src.Comment) > 0 {
		return nil, errors.New("kind attack takes no list settings (format, column, type, delimiter, comment)")
	}
	return &Collector{src: src}, nil
}

type state struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Collect runs once: the whole bundle is parsed before anything is written.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	var st state
	_ = json.Unmarshal(env.State, &st)
	dl, err := env.Fetch.Fetch(ctx, collect.FetchRequest{URL: c.src.URL, ETag: st.ETag, LastModified: st.LastModified,
		MaxBytes: c.src.MaxBytes, Timeout: time.Duration(c.src.Timeout)})
	if err != nil {
		return collect.Result{}, err
	}
	defer dl.Close()
	res := collect.Result{Fetched: dl.Bytes, NotModified: dl.NotModified}
	if dl.NotModified {
		return res, nil
	}
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
	res.State, _ = json.Marshal(state{ETag: dl.ETag, LastModified: dl.LastModified})
	return res, nil
}
