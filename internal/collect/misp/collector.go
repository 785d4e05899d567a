package misp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

func init() { collect.Register("misp", New) }

// Collector collects one MISP feed directory.
//
// A run fetches manifest.json, then every event whose manifest timestamp is newer than the one
// saved by the last good run (or that is new), and writes the events' reports through one ingester
// and their entities and relationships through the store.
//
// Safety rule: a manifest that cannot be fetched or parsed (an error, an HTML page, invalid JSON)
// fails the run before anything is written. An event that cannot be fetched (a 404 for an event
// the manifest names) or parsed, or whose UUID is not the one the manifest names, is skipped,
// counted in [collect.Result.Rejected] and left out of the new state, so the next run retries it;
// the run still succeeds with the other events. When every event to fetch failed, the run fails.
// Attribute values that do not normalise, and reports the store refuses, are counted in Rejected
// too; they never fail an event.
//
// hashes.csv is not fetched: MISP uses it only to fill its correlation cache without downloading
// events, and omen needs the events themselves.
type Collector struct {
	src config.Source
}

// Interface guard.
var _ collect.Collector = (*Collector)(nil)

// New validates the settings of a misp source. The list settings (format, type, column, delimiter,
// comment) do not apply to a MISP feed and are refused.
func New(src config.Source) (collect.Collector, error) {
	var bad []string
	for _, s := range []struct {
		name string
		set  bool
	}{{"format", src.Format != ""}, {"type", src.Type != ""}, {"column", src.Column != ""},
		{"delimiter", src.Delimiter != ""}, {"comment", len(src.Comment) > 0}} {
		if s.set {
			bad = append(bad, s.name)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("kind misp: %s only apply to kind list (a MISP feed says what each value is)",
			strings.Join(bad, ", "))
	}
	if _, err := url.Parse(src.URL); err != nil {
		return nil, fmt.Errorf("url %q: %w", src.URL, err)
	}
	return &Collector{src: src}, nil
}

var discard = slog.New(slog.DiscardHandler)

// state is what a MISP feed remembers between runs: the timestamp of every event written, by UUID.
type state map[string]int64

// Collect runs the feed once.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	var res collect.Result
	log := env.Logger
	if log == nil {
		log = discard
	}
	old := state{}
	if len(env.State) > 0 {
		if err := json.Unmarshal(env.State, &old); err != nil {
			log.Warn("ignoring unreadable MISP feed state; every event is fetched again", "err", err)
			old = state{}
		}
	}
	headers, err := c.headers()
	if err != nil {
		return res, err
	}

	manifestURL, err := FeedURL(c.src.URL, "manifest.json")
	if err != nil {
		return res, err
	}
	m, n, err := c.fetchManifest(ctx, env, manifestURL, headers)
	res.Fetched += n
	if err != nil {
		return res, err
	}
	res.Records = len(m)

	// Events to fetch: new or changed since the last good run, in a stable order.
	var todo []string
	next := state{}
	for id, en := range m {
		ts, seen := old[strings.ToLower(id)]
		if seen && int64(en.Timestamp) <= ts {
			next[strings.ToLower(id)] = ts
			continue
		}
		todo = append(todo, id)
	}
	slices.Sort(todo)
	if len(todo) == 0 {
		res.State = mustJSON(next)
		return res, nil
	}

	var classify func(intel.Observable) []string
	if env.Importer != nil && env.Importer.Warninglists != nil {
		wl := env.Importer.Warninglists
		classify = func(o intel.Observable) []string {
			var names []string
			for _, h := range wl.Match(o) {
				names = append(names, h.List)
			}
			return names
		}
	}
	ing, err := env.Store.NewIngester(ctx, store.IngestOptions{Source: c.src.Name, Classify: classify})
	if err != nil {
		return res, fmt.Errorf("starting ingest: %w", err)
	}
	defaults := Defaults{Confidence: c.src.Confidence, TLP: c.src.TLP, Tags: c.src.Tags, ThreatType: c.src.ThreatType}
	now := env.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	failed := 0
	for _, id := range todo {
		if err := ctx.Err(); err != nil {
			ing.Abort()
			return res, err
		}
		ev, n, err := c.fetchEvent(ctx, env, id, headers)
		res.Fetched += n
		if err != nil {
			if ctx.Err() != nil {
				ing.Abort()
				return res, ctx.Err()
			}
			failed++
			res.Rejected++
			log.Warn("skipping MISP event; it is retried next run", "event", id, "err", err)
			continue
		}
		reports, rejects := ev.Reports(c.src.Name, defaults)
		for _, rj := range rejects {
			log.Debug("rejected MISP attribute", "event", id, "reject", rj.Error())
		}
		res.Rejected += len(rejects)
		for _, r := range reports {
			if r.LastSeen.IsZero() {
				r.LastSeen = now
			}
			if r.FirstSeen.IsZero() {
				r.FirstSeen = r.LastSeen
			}
			if err := ing.Add(ctx, r); err != nil {
				if errors.Is(err, store.ErrInvalidReport) {
					res.Rejected++
					continue
				}
				ing.Abort()
				return res, fmt.Errorf("writing reports of event %s: %w", id, err)
			}
		}
		ents, rels := ev.Entities(c.src.Name, defaults)
		ents, err = keepKnown(ctx, env.Store, ents)
		if err == nil && len(ents) > 0 {
			err = env.Store.PutEntities(ctx, ents)
		}
		if err == nil && len(rels) > 0 {
			err = env.Store.PutRelationships(ctx, rels)
		}
		if err != nil {
			ing.Abort()
			return res, fmt.Errorf("writing entities of event %s: %w", id, err)
		}
		res.Entities += len(ents)
		res.Relationships += len(rels)
		next[strings.ToLower(id)] = int64(m[id].Timestamp)
	}
	st, err := ing.Close(ctx)
	res.New, res.Updated = st.New, st.Updated
	if err != nil {
		return res, fmt.Errorf("writing reports: %w", err)
	}
	if failed == len(todo) {
		return res, fmt.Errorf("all %d MISP events to fetch failed (see the log); nothing was written", failed)
	}
	if failed > 0 {
		log.Warn("some MISP events failed; they are retried next run", "failed", failed, "fetched", len(todo)-failed)
	}
	res.State = mustJSON(next)
	return res, nil
}

// keepKnown merges what the store already knows into galaxy cluster entities: an event that names
// a cluster by tag only must not wipe the description and aliases another event's Galaxy array
// gave it. The least restrictive TLP wins, since a galaxy cluster is public reference data.
func keepKnown(ctx context.Context, s store.Store, ents []intel.Entity) ([]intel.Entity, error) {
	for i, en := range ents {
		if en.Type == intel.ReportEntity {
			continue
		}
		old, err := s.Entity(ctx, en.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading entity %s: %w", en.ID, err)
		}
		if en.Description == "" {
			en.Description = old.Description
		}
		if len(en.Aliases) == 0 {
			en.Aliases = old.Aliases
		}
		for k, v := range old.Attributes {
			if _, ok := en.Attributes[k]; !ok {
				if en.Attributes == nil {
					en.Attributes = map[string]any{}
				}
				en.Attributes[k] = v
			}
		}
		en.TLP = min(en.TLP, old.TLP)
		ents[i] = en
	}
	return ents, nil
}

func (c *Collector) headers() (map[string]string, error) { return collect.AuthHeaders(c.src) }

func (c *Collector) request(u string, headers map[string]string) collect.FetchRequest {
	return collect.FetchRequest{URL: u, Headers: headers, MaxBytes: c.src.MaxBytes, Timeout: time.Duration(c.src.Timeout)}
}

func (c *Collector) fetchManifest(ctx context.Context, env *collect.Env, u string, headers map[string]string) (Manifest, int64, error) {
	dl, err := env.Fetch.Fetch(ctx, c.request(u, headers))
	if err != nil {
		return nil, 0, fmt.Errorf("fetching MISP manifest: %w", err)
	}
	defer dl.Close()
	if dl.NotModified {
		return nil, 0, fmt.Errorf("fetching MISP manifest %s: 304 Not Modified to an unconditional request", u)
	}
	f, err := os.Open(dl.Path)
	if err != nil {
		return nil, dl.Bytes, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if looksHTML(br) {
		return nil, dl.Bytes, fmt.Errorf("rejected the input: %s returned an HTML page, not a MISP manifest", u)
	}
	m, err := ParseManifest(br)
	if err != nil {
		return nil, dl.Bytes, fmt.Errorf("rejected the input: %s: %w", u, err)
	}
	return m, dl.Bytes, nil
}

func (c *Collector) fetchEvent(ctx context.Context, env *collect.Env, id string, headers map[string]string) (*Event, int64, error) {
	u, err := FeedURL(c.src.URL, id+".json")
	if err != nil {
		return nil, 0, err
	}
	dl, err := env.Fetch.Fetch(ctx, c.request(u, headers))
	if err != nil {
		return nil, 0, err
	}
	defer dl.Close()
	if dl.NotModified {
		return nil, 0, errors.New("304 Not Modified to an unconditional request")
	}
	f, err := os.Open(dl.Path)
	if err != nil {
		return nil, dl.Bytes, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if looksHTML(br) {
		return nil, dl.Bytes, fmt.Errorf("%s returned an HTML page, not a MISP event", u)
	}
	ev, err := ParseEvent(br)
	if err != nil {
		return nil, dl.Bytes, fmt.Errorf("%s: %w", u, err)
	}
	if !strings.EqualFold(ev.UUID, id) {
		return nil, dl.Bytes, fmt.Errorf("%s holds event %q, not the %s the manifest names", u, ev.UUID, id)
	}
	return ev, dl.Bytes, nil
}

// FeedURL returns the URL of a file of the feed directory dir (http, https or file; with or
// without a trailing slash).
func FeedURL(dir, file string) (string, error) {
	u, err := url.JoinPath(dir, file)
	if err != nil {
		return "", fmt.Errorf("feed url %q: %w", dir, err)
	}
	return u, nil
}

// looksHTML reports whether the body starts, after white space and a BOM, with an HTML tag.
func looksHTML(br *bufio.Reader) bool {
	b, _ := br.Peek(512)
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '<' {
		return false
	}
	l := bytes.ToLower(b)
	return bytes.HasPrefix(l, []byte("<!doctype html")) || bytes.HasPrefix(l, []byte("<html")) ||
		bytes.HasPrefix(l, []byte("<head")) || bytes.HasPrefix(l, []byte("<body")) || bytes.HasPrefix(l, []byte("<!--")) ||
		bytes.HasPrefix(l, []byte("<?xml"))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
