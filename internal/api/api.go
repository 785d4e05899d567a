// Package api serves omen's REST API under /api/v1/, plus /healthz, /readyz, /metrics and the OpenAPI
// document. Every /api/v1/ call except the OpenAPI document needs an API key as a Bearer token; the
// key's role decides what it may call and its TLP clearance what it may see.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store"
)

//go:embed openapi.json
var openAPI []byte

// MaxBody is the largest request body accepted.
const MaxBody = 8 << 20

// Deps is what the API serves from.
type Deps struct {
	Store   store.Store
	Lookup  *lookup.Service
	Logger  *slog.Logger
	Version string
	// Ready, when set, reports whether the node can serve (store reachable, index loaded).
	Ready func(ctx context.Context) error
	// Enricher, when set, serves POST /api/v1/enrich.
	Enricher *enrich.Enricher
	// Dispatcher, when set, serves the response actions on findings.
	Dispatcher *respond.Dispatcher
	// Feeds, when set, serves the configured exports at /feeds/.
	Feeds *respond.FeedServer
}

// Server is the API's http.Handler.
type Server struct {
	deps    Deps
	mux     *http.ServeMux
	reg     *prometheus.Registry
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	lookups *prometheus.CounterVec
	keys    keyCache
	// decoders of POST /api/v1/enrich, one per input format.
	decoders map[enrich.Format]*enrich.Decoder
	// lookupPath serves GET /api/v1/lookup/{value...} without the mux's path cleaning, which would
	// turn the "//" of an unencoded URL value into "/".
	lookupPath http.Handler
}

// New builds the handler.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{deps: d, mux: http.NewServeMux(), reg: prometheus.NewRegistry()}
	s.keys.ttl = 10 * time.Second
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omen_http_requests_total",
		Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "omen_http_request_duration_seconds",
		Help: "HTTP request latency by route.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"})
	s.lookups = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "omen_lookups_total",
		Help: "Values looked up, by verdict."}, []string{"verdict"})
	s.reg.MustRegister(s.reqs, s.latency, s.lookups, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{st: d.Store})

	s.handle("GET /healthz", "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ok", "version": d.Version})
	})
	s.handle("GET /readyz", "", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.handle("GET /api/v1/openapi.json", "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	s.lookupPath = s.handle("GET /api/v1/lookup/{value...}", intel.RoleReader, s.lookupOne)
	s.handle("GET /api/v1/lookup", intel.RoleReader, s.lookupOne)
	s.handle("POST /api/v1/lookup", intel.RoleReader, s.lookupMany)
	s.handle("GET /api/v1/sources", intel.RoleReader, s.sources)
	s.handle("GET /api/v1/stats", intel.RoleReader, s.stats)
	s.handle("GET /api/v1/keys", intel.RoleAdmin, s.listKeys)
	s.handle("POST /api/v1/keys", intel.RoleAdmin, s.createKey)
	s.handle("DELETE /api/v1/keys/{id}", intel.RoleAdmin, s.revokeKey)
	s.handle("GET /api/v1/audit", intel.RoleAdmin, s.audit)
	s.registerAssets()
	s.registerFindings()
	s.registerEnrich()
	if d.Dispatcher != nil {
		s.registerActions(d.Dispatcher)
	}
	if d.Feeds != nil {
		s.Mount([]string{FeedsPrefix}, FeedsHandler(d.Feeds, s.Authenticate))
	}
	return s
}

const lookupPrefix = "/api/v1/lookup/"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, lookupPrefix) {
		s.lookupPath.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Registry returns the Prometheus registry, for other parts of the node to register on.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

type ctxKey struct{}

// caller returns the authenticated key of the request.
func caller(r *http.Request) intel.APIKey {
	k, _ := r.Context().Value(ctxKey{}).(intel.APIKey)
	return k
}

// allowed reports whether a key of role has may call a route that needs need. Consumers may only
// call consumer routes (exports, TAXII); the others are ordered admin > analyst > reader.
func allowed(has, need intel.Role) bool {
	if need == intel.RoleConsumer {
		return true
	}
	rank := map[intel.Role]int{intel.RoleReader: 1, intel.RoleAnalyst: 2, intel.RoleAdmin: 3}
	return rank[has] >= rank[need]
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

// handle registers h on pattern and returns the wrapped handler; need "" serves without a key.
func (s *Server) handle(pattern string, need intel.Role, h http.HandlerFunc) http.Handler {
	route := pattern
	// The route's series, resolved once: a label lookup per request costs more than the count.
	latency, ok200 := s.latency.WithLabelValues(route), s.reqs.WithLabelValues(route, "200")
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		defer func() {
			if sw.code == 200 {
				ok200.Inc()
			} else {
				s.reqs.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
			}
			latency.Observe(time.Since(start).Seconds())
		}()
		if need != "" {
			k, err := s.authenticate(r)
			if err != nil {
				sw.Header().Set("WWW-Authenticate", `Bearer realm="omen"`)
				writeError(sw, http.StatusUnauthorized, err.Error())
				return
			}
			if !allowed(k.Role, need) {
				writeError(sw, http.StatusForbidden, fmt.Sprintf("role %s may not call %s", k.Role, route))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, k))
		}
		r.Body = http.MaxBytesReader(sw, r.Body, MaxBody)
		h(sw, r)
	})
	s.mux.Handle(pattern, wrapped)
	return wrapped
}

// keyCache remembers recently seen keys by hash for a short time, so that a busy client does not cost
// a database read per request; a revocation takes effect within the TTL.
type keyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedKey
}

type cachedKey struct {
	key     intel.APIKey
	expires time.Time
}

func (c *keyCache) get(h string, now time.Time) (intel.APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	if !ok || now.After(e.expires) {
		return intel.APIKey{}, false
	}
	return e.key, true
}

func (c *keyCache) put(h string, k intel.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedKey{}
	}
	c.m[h] = cachedKey{key: k, expires: now.Add(c.ttl)}
}

func (c *keyCache) drop() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

var errNoKey = errors.New("missing API key: send it as 'Authorization: Bearer <key>'")

func (s *Server) authenticate(r *http.Request) (intel.APIKey, error) {
	secret := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, v, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			secret = strings.TrimSpace(v)
		case "basic":
			if _, pw, ok := r.BasicAuth(); ok {
				secret = pw
			}
		}
	}
	if secret == "" {
		return intel.APIKey{}, errNoKey
	}
	hash := HashKey(secret)
	now := time.Now()
	if k, ok := s.keys.get(string(hash), now); ok {
		return k, nil
	}
	k, err := s.deps.Store.APIKeyByHash(r.Context(), hash)
	if err != nil || k.Revoked {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.deps.Logger.Error("reading API key", "err", err)
		}
		return intel.APIKey{}, errors.New("invalid or revoked API key")
	}
	s.keys.put(string(hash), k, now)
	if err := s.deps.Store.TouchAPIKey(r.Context(), k.ID, now.UTC()); err != nil {
		s.deps.Logger.Warn("recording key use", "key", k.Name, "err", err)
	}
	return k, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeBody writes a JSON document already encoded.
func writeBody(w http.ResponseWriter, code int, b []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(code)
	w.Write(b) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	check := s.deps.Ready
	if check == nil {
		check = func(ctx context.Context) error { _, err := s.deps.Store.Stats(ctx); return err }
	}
	if err := check(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

func (s *Server) lookupOne(w http.ResponseWriter, r *http.Request) {
	var q url.Values
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	v := q.Get("value")
	if p, ok := strings.CutPrefix(r.URL.Path, lookupPrefix); ok && p != "" {
		v = p
		// An unencoded URL value's query ("/lookup/http://x/a?b=c") arrives as the request's.
		if strings.Contains(p, "://") && r.URL.RawQuery != "" && !q.Has("value") {
			v += "?" + r.URL.RawQuery
		}
	}
	if v == "" {
		writeError(w, http.StatusBadRequest, "no value: use /api/v1/lookup/{value} or ?value=")
		return
	}
	res, err := s.deps.Lookup.Lookup(r.Context(), []string{v}, caller(r).Clearance)
	if err != nil {
		s.internalError(w, "lookup", err)
		return
	}
	s.lookups.WithLabelValues(res[0].Verdict).Inc()
	bp := bodies.Get().(*[]byte)
	*bp = append(res[0].AppendJSON((*bp)[:0]), '\n')
	writeBody(w, 200, *bp)
	putBody(bp)
}

func (s *Server) lookupMany(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Values []string `json:"values"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "invalid JSON body: want {\"values\": [...]}: "+err.Error())
		return
	}
	if len(req.Values) > lookup.MaxValues {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d values: at most %d per request", len(req.Values), lookup.MaxValues))
		return
	}
	res, err := s.deps.Lookup.Lookup(r.Context(), req.Values, caller(r).Clearance)
	if err != nil {
		s.internalError(w, "bulk lookup", err)
		return
	}
	counts := map[string]float64{}
	bp := bodies.Get().(*[]byte)
	defer putBody(bp)
	b := slices.Grow((*bp)[:0], 1024*len(res)+16)
	b = append(b, `{"results":[`...)
	for i := range res {
		counts[res[i].Verdict]++
		if i > 0 {
			b = append(b, ',')
		}
		b = res[i].AppendJSON(b)
	}
	for v, n := range counts {
		s.lookups.WithLabelValues(v).Add(n)
	}
	*bp = append(b, "]}\n"...)
	writeBody(w, 200, *bp)
}

// bodies recycles the buffers lookup answers are encoded into: the server writes one per request.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// putBody returns a buffer to bodies, unless a bulk answer made it too large to keep around.
func putBody(bp *[]byte) {
	if cap(*bp) <= 1<<20 {
		bodies.Put(bp)
	}
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.deps.Logger.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, what+" failed; see the server log")
}

func (s *Server) sources(w http.ResponseWriter, r *http.Request) {
	srcs, err := s.deps.Store.ListSources(r.Context())
	if err != nil {
		s.internalError(w, "listing sources", err)
		return
	}
	type withHealth struct {
		intel.Source
		Health string `json:"health"`
	}
	out := make([]withHealth, len(srcs))
	for i, src := range srcs {
		out[i] = withHealth{Source: src, Health: src.Health()}
	}
	writeJSON(w, 200, map[string]any{"sources": out})
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	st, err := s.deps.Store.Stats(r.Context())
	if err != nil {
		s.internalError(w, "reading stats", err)
		return
	}
	writeJSON(w, 200, st)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	ks, err := s.deps.Store.ListAPIKeys(r.Context())
	if err != nil {
		s.internalError(w, "listing keys", err)
		return
	}
	writeJSON(w, 200, map[string]any{"keys": ks})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name      string     `json:"name"`
		Role      string     `json:"role"`
		Clearance *intel.TLP `json:"clearance"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	role, err := intel.ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	k, secret, err := CreateKey(r.Context(), s.deps.Store, req.Name, role, req.Clearance, "key:"+caller(r).Name)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, fmt.Sprintf("a key named %q exists", req.Name))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key": k, "secret": secret})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid key id")
		return
	}
	if err := s.deps.Store.RevokeAPIKey(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such key")
		return
	} else if err != nil {
		s.internalError(w, "revoking key", err)
		return
	}
	s.keys.drop()
	s.deps.Store.AppendAudit(r.Context(), intel.AuditEntry{Time: time.Now().UTC(), Actor: "key:" + caller(r).Name,
		Action: "key.revoke", Object: fmt.Sprintf("key:%d", id)})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	es, err := s.deps.Store.AuditLog(r.Context(), store.AuditFilter{Limit: limit})
	if err != nil {
		s.internalError(w, "reading audit log", err)
		return
	}
	writeJSON(w, 200, map[string]any{"entries": es})
}

// storeCollector exports the store's counts at scrape time.
type storeCollector struct{ st store.Store }

var storeDesc = prometheus.NewDesc("omen_store_objects", "Objects held by the store, by kind.", []string{"kind"}, nil)

var (
	sourceUpDesc = prometheus.NewDesc("omen_source_up", "1 when the source's last run succeeded, 0 when it failed or never ran.",
		[]string{"source", "kind"}, nil)
	sourceLastRunDesc     = prometheus.NewDesc("omen_source_last_run_timestamp_seconds", "When the source last ran.", []string{"source"}, nil)
	sourceLastSuccessDesc = prometheus.NewDesc("omen_source_last_success_timestamp_seconds", "When the source last ran successfully.",
		[]string{"source"}, nil)
	sourceDurationDesc = prometheus.NewDesc("omen_source_last_run_duration_seconds", "How long the source's last run took.", []string{"source"}, nil)
	sourceCountDesc    = prometheus.NewDesc("omen_source_last_run_records", "Counts of the source's last run, by kind of count.",
		[]string{"source", "count"}, nil)
	sourceGoodRecordsDesc = prometheus.NewDesc("omen_source_good_records", "Records of the source's last good full run.", []string{"source"}, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeDesc, sourceUpDesc, sourceLastRunDesc, sourceLastSuccessDesc, sourceDurationDesc, sourceCountDesc, sourceGoodRecordsDesc} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.st.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(storeDesc, err)
		return
	}
	srcs, err := c.st.ListSources(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(sourceUpDesc, err)
		return
	}
	for _, src := range srcs {
		up := 0.0
		if src.Health() == intel.HealthOK {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(sourceUpDesc, prometheus.GaugeValue, up, src.Name, src.Kind)
		if !src.LastRun.IsZero() {
			ch <- prometheus.MustNewConstMetric(sourceLastRunDesc, prometheus.GaugeValue, float64(src.LastRun.Unix()), src.Name)
			ch <- prometheus.MustNewConstMetric(sourceDurationDesc, prometheus.GaugeValue, src.LastStats.Duration.Seconds(), src.Name)
		}
		if !src.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(sourceLastSuccessDesc, prometheus.GaugeValue, float64(src.LastSuccess.Unix()), src.Name)
		}
		for k, v := range map[string]int{"records": src.LastStats.Records, "new": src.LastStats.New, "updated": src.LastStats.Updated, "rejected": src.LastStats.Rejected} {
			ch <- prometheus.MustNewConstMetric(sourceCountDesc, prometheus.GaugeValue, float64(v), src.Name, k)
		}
		ch <- prometheus.MustNewConstMetric(sourceGoodRecordsDesc, prometheus.GaugeValue, float64(src.GoodRecords), src.Name)
	}
	for k, v := range map[string]int64{"sources": st.Sources, "indicators": st.Indicators, "reports": st.Reports,
		"entities": st.Entities, "relationships": st.Relationships, "sightings": st.Sightings, "assets": st.Assets, "findings": st.Findings} {
		ch <- prometheus.MustNewConstMetric(storeDesc, prometheus.GaugeValue, float64(v), k)
	}
}
