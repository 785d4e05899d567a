package taxii

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// params are the query parameters of the object endpoints.
type params struct {
	addedAfter time.Time
	limit      int
	next       string // the store's cursor
	ids        []string
	types      []string
	versions   []string
	specs      []string
}

// errBadRequest is a client error to answer with 400.
type errBadRequest struct{ msg string }

func (e errBadRequest) Error() string { return e.msg }

func badRequest(format string, args ...any) error { return errBadRequest{fmt.Sprintf(format, args...)} }

// parseParams reads added_after, limit, next and the match[...] filters.
func (s *Server) parseParams(r *request) (params, error) {
	q := r.URL.Query()
	p := params{limit: s.opts.Config.MaxPageSize,
		ids: list(q, "match[id]"), types: list(q, "match[type]"), versions: list(q, "match[version]"),
		specs: list(q, "match[spec_version]")}
	if v := q.Get("added_after"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return p, badRequest("added_after %q: want an RFC 3339 timestamp", v)
		}
		p.addedAfter = t.UTC()
	}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil || n <= 0 {
			return p, badRequest("limit %q: want a positive integer", v[0])
		}
		p.limit = min(n, s.opts.Config.MaxPageSize)
	}
	for _, v := range p.versions {
		if v == "first" || v == "last" || v == "all" {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return p, badRequest("match[version] %q: want first, last, all or an RFC 3339 timestamp", v)
		}
	}
	if v := q.Get("next"); v != "" {
		cursor, sig, ok := strings.Cut(v, ".")
		if !ok || sig != querySignature(r, cursor) {
			return p, errBadRequest{"next does not belong to this query: repeat the query that returned it"}
		}
		p.next = cursor
	}
	return p, nil
}

// list returns the comma-separated values of a parameter (given once or more), without blanks.
func list(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// querySignature binds a page cursor to the endpoint and the parameters (other than limit and
// next) of the query that produced it, so that a client cannot continue one query with another's
// next (medallion answers 400 too).
func querySignature(r *request, cursor string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00", r.URL.Path, cursor)
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "next" && k != "limit" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, strings.Join(q[k], ","))
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// nextToken is the next parameter to hand out for a store cursor.
func nextToken(r *request, cursor string) string {
	if cursor == "" {
		return ""
	}
	return cursor + "." + querySignature(r, cursor)
}

// query returns the store query of the collection's view for the caller's key; ok is false when
// nothing can match (the requested types are outside the view).
func (c *collection) query(k intel.APIKey, p params) (q store.STIXQuery, ok bool) {
	q = store.STIXQuery{Collection: c.cfg.Store, AddedAfter: p.addedAfter, IDs: p.ids, Types: p.types,
		SpecVersions: p.specs, Versions: p.versions, MaxTLP: min(c.tlp, k.Clearance),
		MinConfidence: c.cfg.MinConfidence, Limit: p.limit, Next: p.next}
	if len(c.cfg.Types) > 0 {
		if len(p.types) == 0 {
			q.Types = c.cfg.Types
		} else {
			q.Types = slices.DeleteFunc(slices.Clone(p.types), func(t string) bool { return !slices.Contains(c.cfg.Types, t) })
			if len(q.Types) == 0 {
				return q, false
			}
		}
	}
	return q, true
}

// page runs q (or answers nothing when !ok), writing errors itself; done is false when it did.
func (s *Server) page(w http.ResponseWriter, r *request, q store.STIXQuery, ok bool) (store.STIXPage, bool) {
	if !ok {
		return store.STIXPage{}, true
	}
	pg, err := s.opts.Store.STIXObjects(r.Context(), q)
	if err != nil {
		s.internalError(w, r, "reading objects", err)
		return pg, false
	}
	if n := len(pg.Objects); n > 0 {
		setDateAddedHeaders(w, pg.Objects[0].DateAdded, pg.Objects[n-1].DateAdded)
	}
	return pg, true
}

// envelope is a page of objects; empty, it is written as {} (as medallion does).
type envelope struct {
	More    *bool             `json:"more,omitempty"`
	Next    string            `json:"next,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`
}

func (s *Server) writeEnvelope(w http.ResponseWriter, r *request, pg store.STIXPage) {
	var env envelope
	if len(pg.Objects) > 0 {
		env.More, env.Next = &pg.More, nextToken(r, pg.Next)
		for _, o := range pg.Objects {
			env.Objects = append(env.Objects, o.Raw)
		}
	}
	writeJSON(w, http.StatusOK, env)
}

// params parses the parameters, answering 400 itself; ok is false when it did.
func (s *Server) params(w http.ResponseWriter, r *request) (params, bool) {
	p, err := s.parseParams(r)
	if err != nil {
		writeTitled(w, http.StatusBadRequest, "ProcessingError", err.Error())
		return p, false
	}
	return p, true
}

// objects serves GET /{root}/collections/{id}/objects/.
func (s *Server) objects(w http.ResponseWriter, r *request) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	q, match := r.coll.query(r.key, p)
	if pg, ok := s.page(w, r, q, match); ok {
		s.writeEnvelope(w, r, pg)
	}
}

// manifestRecord describes one object version.
type manifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type"`
}

// version is the version string of an object version: its modified (or created), else, for
// unversioned objects, its date_added.
func version(o store.STIXObject) string {
	if o.Modified.IsZero() {
		return formatVersion(o.DateAdded)
	}
	return formatVersion(o.Modified)
}

// manifest serves GET /{root}/collections/{id}/manifest/.
func (s *Server) manifest(w http.ResponseWriter, r *request) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	q, match := r.coll.query(r.key, p)
	pg, ok := s.page(w, r, q, match)
	if !ok {
		return
	}
	var out struct {
		More    *bool            `json:"more,omitempty"`
		Next    string           `json:"next,omitempty"`
		Objects []manifestRecord `json:"objects,omitempty"`
	}
	if len(pg.Objects) > 0 {
		out.More, out.Next = &pg.More, nextToken(r, pg.Next)
	}
	for _, o := range pg.Objects {
		out.Objects = append(out.Objects, manifestRecord{ID: o.ID, DateAdded: FormatTimestamp(o.DateAdded),
			Version: version(o), MediaType: "application/stix+json;version=" + o.SpecVersion})
	}
	writeJSON(w, http.StatusOK, out)
}

// objectQuery is the query of the endpoints of one object: match[id] and match[type] do not
// apply.
func (s *Server) objectQuery(r *request, p params, id string) store.STIXQuery {
	p.ids, p.types = []string{id}, nil
	q, _ := r.coll.query(r.key, p) // without match[type], the view's types
	return q
}

// exists reports whether the caller can see any version of object id in the collection; it
// answers 500 itself when the store fails (ok false).
func (s *Server) exists(w http.ResponseWriter, r *request, id string) (found, ok bool) {
	q := s.objectQuery(r, params{versions: []string{"all"}, limit: 1}, id)
	pg, err := s.opts.Store.STIXObjects(r.Context(), q)
	if err != nil {
		s.internalError(w, r, "reading object", err)
		return false, false
	}
	return len(pg.Objects) > 0, true
}

// object serves GET /{root}/collections/{id}/objects/{object-id}/: 404 when the caller can see no
// version of the object, {} when the filters leave none.
func (s *Server) object(w http.ResponseWriter, r *request, id string) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	pg, ok := s.page(w, r, s.objectQuery(r, p, id), true)
	if !ok {
		return
	}
	if len(pg.Objects) == 0 && !s.found(w, r, id) {
		return
	}
	s.writeEnvelope(w, r, pg)
}

// found answers 404 (or 500) itself unless the caller can see the object.
func (s *Server) found(w http.ResponseWriter, r *request, id string) bool {
	found, ok := s.exists(w, r, id)
	if ok && !found {
		writeError(w, http.StatusNotFound, "no such object")
	}
	return ok && found
}

// versions serves GET /{root}/collections/{id}/objects/{object-id}/versions/: every version,
// match[version] does not apply.
func (s *Server) versions(w http.ResponseWriter, r *request, id string) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	p.versions = []string{"all"}
	pg, ok := s.page(w, r, s.objectQuery(r, p, id), true)
	if !ok {
		return
	}
	if len(pg.Objects) == 0 && !s.found(w, r, id) {
		return
	}
	var out struct {
		More     *bool    `json:"more,omitempty"`
		Next     string   `json:"next,omitempty"`
		Versions []string `json:"versions,omitempty"`
	}
	if len(pg.Objects) > 0 {
		out.More, out.Next = &pg.More, nextToken(r, pg.Next)
	}
	for _, o := range pg.Objects {
		out.Versions = append(out.Versions, version(o))
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteObject serves DELETE /{root}/collections/{id}/objects/{object-id}/ with match[version]
// (default last, as for GET) and match[spec_version]. The caller must be able to see the object.
func (s *Server) deleteObject(w http.ResponseWriter, r *request, id string) {
	p, ok := s.params(w, r)
	if !ok || !s.found(w, r, id) {
		return
	}
	n, err := s.opts.Store.DeleteSTIXObject(r.Context(), r.coll.cfg.Store, id,
		store.STIXQuery{Versions: p.versions, SpecVersions: p.specs})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no version of the object matches")
		return
	}
	if err != nil {
		s.internalError(w, r, "deleting object", err)
		return
	}
	s.opts.Logger.Info("taxii: object deleted", "collection", r.coll.cfg.ID, "id", id, "versions", n, "key", r.key.Name)
	writeEmpty(w, http.StatusOK)
}
