// Package taxii is the `taxii` source kind: it polls one collection of a remote TAXII 2.1 server
// and hands the STIX objects to the STIX importer ([stix.Importer]).
//
// The source's url is the collection URL (https://host/{api-root}/collections/{id}/); a query on
// it (match[type]=indicator, say) is kept on every request. Each run asks for
// {url}objects/?added_after=<cursor>&limit=<n> with Accept: application/taxii+json;version=2.1,
// follows "next" while the envelope says "more", and imports every page as it arrives. The
// cursor is the newest X-TAXII-Date-Added-Last header seen; it is saved in the source's state
// when the run succeeds, so the next run, after a restart too, asks only for what was added
// since. A run that fails midway saves nothing: the next one starts again from the cursor of the
// last good run and reads again pages already imported, which the store keeps once (one row per
// object id and modified).
//
// Auth is the usual auth_header and auth_env. With auth_header Authorization, the variable may
// hold a whole header value ("Bearer <token>", "Basic <base64>"), a bare token (sent as Bearer)
// or "user:password" (sent as HTTP Basic, what medallion uses):
//
//	sources:
//	  - name: partner-taxii
//	    kind: taxii
//	    url: https://taxii.example.org/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/
//	    auth_header: Authorization
//	    auth_env: PARTNER_TAXII_AUTH
//	    interval: 1h
package taxii

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/stix"
)

func init() { collect.Register("taxii", New) }

// Defaults of a [Client] and of a collector's [Options].
const (
	DefaultPageSize      = 1000 // limit= asked of the server (which may cap it lower)
	DefaultMaxPages      = 100  // pages per run; the rest comes next run
	DefaultAttempts      = 4    // tries per request
	DefaultRunRetries    = 10   // retries per run, all requests together
	DefaultBackoff       = 2 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
	DefaultTimeout       = 5 * time.Minute // one page request, retries and Retry-After waits included
	DefaultMaxBytes      = 64 << 20        // one page (read into memory)
	DefaultUserAgent     = "omen (+https://github.com/omen-tip/omen)"

	connectTimeout = 15 * time.Second
)

// Sink takes one page of STIX objects; the collector's default is [stix.Importer.Objects] over
// the run's store. It must be idempotent: a page may be handed over again by a later run.
type Sink func(ctx context.Context, objs []json.RawMessage) (stix.Counts, error)

// Options tune a [Collector]; zero fields take the defaults.
type Options struct {
	PageSize, MaxPages, Attempts, RunRetries int
	Backoff, MaxRetryAfter                   time.Duration
	UserAgent                                string
	// Sink, when set, replaces the STIX importer (tests, dry runs).
	Sink Sink
}

// Collector polls one TAXII 2.1 collection. It is safe for one run at a time.
type Collector struct {
	src     config.Source
	opts    Options
	objects string // the objects endpoint, with the configured query
	hc      *http.Client
}

// Interface guards.
var _ collect.Collector = (*Collector)(nil)

// New is the kind's [collect.Factory].
func New(src config.Source) (collect.Collector, error) { return NewCollector(src, Options{}) }

// NewCollector validates src and makes its collector; it does no I/O. The url must be an http(s)
// collection URL; list settings and max_shrink (an incremental feed has no size to shrink from)
// are refused.
func NewCollector(src config.Source, o Options) (*Collector, error) {
	if err := collect.NoListSettings(src); err != nil {
		return nil, err
	}
	if src.MaxShrink != nil {
		return nil, errors.New("kind taxii takes no max_shrink: each run reads only what was added since the last one")
	}
	if (src.AuthHeader == "") != (src.AuthEnv == "") {
		return nil, errors.New("kind taxii: auth_header and auth_env go together")
	}
	objects, err := ObjectsURL(src.URL)
	if err != nil {
		return nil, err
	}
	hc, err := fetch.NewHTTPClient(src.Proxy, connectTimeout)
	if err != nil {
		return nil, err
	}
	return &Collector{src: src, opts: o, objects: objects, hc: hc}, nil
}

// ObjectsURL returns the objects endpoint of a collection URL: {collection}/objects/ with the
// collection URL's query. A URL that already ends in /objects/ is taken as it is.
func ObjectsURL(collection string) (string, error) {
	u, err := url.Parse(collection)
	if err != nil {
		var ue *url.Error // it prints the whole URL, query and user info included: keep its cause
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("url %s: %w", fetch.RedactURL(collection), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("url %s: want an http or https TAXII collection URL", fetch.RedactURL(collection))
	}
	if u.Host == "" {
		return "", fmt.Errorf("url %s: no host", fetch.RedactURL(collection))
	}
	if u.User != nil {
		return "", errors.New("url: no user info in a TAXII URL; use auth_header and auth_env")
	}
	u.Fragment, u.RawFragment = "", ""
	p := strings.TrimSuffix(u.Path, "/") + "/"
	if !strings.HasSuffix(p, "/objects/") {
		p += "objects/"
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// state is what a run saves: the cursor, and the URL it belongs to (a changed url starts over).
type state struct {
	URL        string `json:"url"`
	AddedAfter string `json:"added_after,omitempty"`
}

// cursor returns the saved added_after of this source's URL, "" the first time.
func (c *Collector) cursor(saved []byte, log *slog.Logger) string {
	var st state
	if len(saved) == 0 {
		return ""
	}
	if err := json.Unmarshal(saved, &st); err != nil {
		log.Warn("unreadable TAXII state; reading the collection from the start", "err", err)
		return ""
	}
	if st.URL != c.src.URL {
		log.Info("the collection URL changed; reading it from the start")
		return ""
	}
	return st.AddedAfter
}

// Collect runs once: it polls the objects added since the saved cursor and imports them page by
// page.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	var res collect.Result
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	headers, err := authHeaders(c.src)
	if err != nil {
		return res, err
	}
	sink := c.opts.Sink
	if sink == nil {
		sink = importer(env, log)
	}
	// The runner makes a collector per run: its idle connections end with the run.
	defer c.hc.CloseIdleConnections()
	cl := c.client(headers, log)
	if f, ok := env.Fetch.(interface{ UserAgent() string }); ok && cl.UserAgent == "" {
		cl.UserAgent = f.UserAgent() // the configured one
	}
	pr, err := cl.Poll(ctx, c.cursor(env.State, log), func(ctx context.Context, p *Page) error {
		return c.importPage(ctx, sink, p, &res, log)
	})
	res.Fetched = pr.Bytes
	if err != nil {
		return res, err
	}
	res.State, _ = json.Marshal(state{URL: c.src.URL, AddedAfter: pr.Cursor})
	return res, nil
}

// client is the run's TAXII client.
func (c *Collector) client(headers map[string]string, log *slog.Logger) *Client {
	return &Client{HTTP: c.hc, ObjectsURL: c.objects, Headers: headers, UserAgent: c.opts.UserAgent,
		PageSize: c.opts.PageSize, MaxPages: c.opts.MaxPages, Attempts: c.opts.Attempts, RunRetries: c.opts.RunRetries,
		Backoff: c.opts.Backoff, MaxRetryAfter: c.opts.MaxRetryAfter, Timeout: time.Duration(c.src.Timeout),
		MaxBytes: c.src.MaxBytes, Logger: log}
}

// importPage checks one page and hands it to sink, adding what it did to res.
//
// The rejected-share rule of [collect.CheckInput] applies to each page twice: to the objects that
// are not even shaped like STIX objects, before anything of the page is written, and to the
// importer's rejects after. The shrink rule does not apply: an incremental feed has no size to
// compare with the last run's. A failed page fails the run, so the cursor stays where the last
// good run left it.
//
// Counts map to the result as: Records = objects received; New = versions the store did not hold
// (new objects and new versions of known ones alike: the importer does not tell them apart);
// Updated = versions already held, i.e. objects the server sent again.
func (c *Collector) importPage(ctx context.Context, sink Sink, p *Page, res *collect.Result, log *slog.Logger) error {
	res.Records += len(p.Objects)
	if len(p.Objects) == 0 {
		return nil
	}
	bad := 0
	for _, o := range p.Objects {
		if !Shape(o) {
			bad++
		}
	}
	if err := collect.CheckInput(c.src, len(p.Objects)-bad, bad, 0); err != nil {
		return fmt.Errorf("%w (objects that are not STIX objects)", err)
	}
	n, err := sink(ctx, p.Objects)
	res.New += n.Stored
	res.Updated += n.Unchanged
	res.Rejected += n.Rejected
	res.Entities += n.Entities
	res.Relationships += n.Relationships
	if err != nil {
		return fmt.Errorf("importing %d objects: %w", len(p.Objects), err)
	}
	if err := collect.CheckInput(c.src, len(p.Objects)-n.Rejected, n.Rejected, 0); err != nil {
		return fmt.Errorf("%w (objects the STIX importer rejected)", err)
	}
	log.Debug("TAXII page imported", "page", p.Number, "objects", len(p.Objects), "stored", n.Stored,
		"unchanged", n.Unchanged, "rejected", n.Rejected, "date_added_last", p.DateAddedLast)
	return nil
}

// importer is the default sink: the STIX importer over the run's store, attributing what it
// writes to the source.
func importer(env *collect.Env, log *slog.Logger) Sink {
	im := &stix.Importer{Store: env.Store, Logger: log}
	if env.Importer != nil {
		im.Warninglists = env.Importer.Warninglists
	}
	if now := env.Now; !now.IsZero() {
		im.Now = func() time.Time { return now }
	}
	o := stix.Options{Source: env.Source.Name, Confidence: env.Source.Confidence, TLP: env.Source.TLP}
	return func(ctx context.Context, objs []json.RawMessage) (stix.Counts, error) {
		return im.Objects(ctx, objs, o)
	}
}

// authHeaders is [collect.AuthHeaders] with an Authorization value completed: a bare
// "user:password" becomes HTTP Basic, a bare token Bearer; a value with a scheme is sent as it is.
func authHeaders(src config.Source) (map[string]string, error) {
	h, err := collect.AuthHeaders(src)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		if strings.EqualFold(k, "Authorization") {
			h[k] = authorization(v)
		}
		if strings.ContainsAny(h[k], "\r\n\x00") {
			return nil, fmt.Errorf("the value of %s (auth for %s) has a control character", src.AuthEnv, src.Name) // never the value
		}
	}
	return h, nil
}

func authorization(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case strings.ContainsAny(v, " \t"):
		return v // "<scheme> <credentials>"
	case strings.Contains(v, ":"):
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(v))
	}
	return "Bearer " + v
}
