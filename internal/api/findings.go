package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Paging of GET /api/v1/findings.
const (
	defaultFindingsLimit = 100
	maxFindingsLimit     = 1000
)

// registerFindings adds the findings and allowlist routes: readers list and read, analysts change
// findings and the allowlist. A key sees the findings its TLP clearance allows. Calling it again
// does nothing.
func (s *Server) registerFindings() {
	probe := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/api/v1/findings"}}
	if _, pattern := s.mux.Handler(probe); pattern != "" {
		return
	}
	h := &findingsHandler{s: s, svc: findings.New(s.deps.Store, s.deps.Logger, findings.Options{})}
	s.handle("GET /api/v1/findings", intel.RoleReader, h.list)
	s.handle("GET /api/v1/findings/{id}", intel.RoleReader, h.get)
	s.handle("PATCH /api/v1/findings/{id}", intel.RoleAnalyst, h.patch)
	s.handle("GET /api/v1/allowlist", intel.RoleReader, h.allowlist)
	s.handle("POST /api/v1/allowlist", intel.RoleAnalyst, h.allow)
	s.handle("DELETE /api/v1/allowlist/{id}", intel.RoleAnalyst, h.disallow)
}

type findingsHandler struct {
	s   *Server
	svc *findings.Service
}

func (h *findingsHandler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.FindingFilter{Limit: defaultFindingsLimit}
	if v := q.Get("status"); v != "" {
		st, err := findings.ParseStatus(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		f.Status = st
	}
	if v := q.Get("open"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("open=%q: want true or false", v))
			return
		}
		f.Open = b
	}
	if v := q.Get("min_priority"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("min_priority=%q: want 0..100", v))
			return
		}
		f.MinPriority = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxFindingsLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want 1..%d", v, maxFindingsLimit))
			return
		}
		f.Limit = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since=%q: want an RFC 3339 time", v))
			return
		}
		f.Since = t
	}
	list, err := h.s.deps.Store.ListFindings(r.Context(), f)
	if err != nil {
		h.s.internalError(w, "listing findings", err)
		return
	}
	clearance := caller(r).Clearance
	out := make([]intel.Finding, 0, len(list))
	for _, x := range list {
		if clearance.Allows(x.TLP) {
			out = append(out, x)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"findings": out})
}

func (h *findingsHandler) get(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "finding")
	if !ok {
		return
	}
	f, err := h.s.deps.Store.Finding(r.Context(), id)
	if err == nil && !caller(r).Clearance.Allows(f.TLP) {
		err = store.ErrNotFound // not shown above the key's clearance
	}
	if h.storeError(w, "reading finding", "no such finding", err) {
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// findingPatch is the body of PATCH /api/v1/findings/{id}.
type findingPatch struct {
	Status       string `json:"status"`
	Assignee     string `json:"assignee"`
	Note         string `json:"note"`
	TruePositive bool   `json:"true_positive"`
}

func (h *findingsHandler) patch(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "finding")
	if !ok {
		return
	}
	var p findingPatch
	if !decodeBody(w, r, &p, `{"status", "assignee", "note", "true_positive"}`) {
		return
	}
	if old, err := h.s.deps.Store.Finding(r.Context(), id); err == nil && !caller(r).Clearance.Allows(old.TLP) {
		writeError(w, http.StatusNotFound, "no such finding")
		return
	}
	f, err := h.svc.Set(r.Context(), id, findings.Change{Status: p.Status, Assignee: p.Assignee, Note: p.Note,
		TruePositive: p.TruePositive, Actor: "key:" + caller(r).Name})
	switch {
	case errors.Is(err, findings.ErrInvalidChange):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil && f.ID != 0:
		// The change is stored; a verdict's side effect failed.
		h.s.deps.Logger.Error("applying a finding verdict", "finding", id, "err", err)
		writeJSON(w, http.StatusOK, f)
	case h.storeError(w, "changing finding", "no such finding", err):
	default:
		writeJSON(w, http.StatusOK, f)
	}
}

func (h *findingsHandler) allowlist(w http.ResponseWriter, r *http.Request) {
	list, err := h.s.deps.Store.Allowlist(r.Context())
	if err != nil {
		h.s.internalError(w, "reading the allowlist", err)
		return
	}
	if list == nil {
		list = []intel.AllowEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"allowlist": list})
}

// allowRequest is the body of POST /api/v1/allowlist.
type allowRequest struct {
	Value  string `json:"value"`
	Type   string `json:"type"` // optional: detected from the value
	Reason string `json:"reason"`
}

func (h *findingsHandler) allow(w http.ResponseWriter, r *http.Request) {
	var req allowRequest
	if !decodeBody(w, r, &req, `{"value", "type", "reason"}`) {
		return
	}
	if strings.TrimSpace(req.Reason) == "" {
		writeError(w, http.StatusBadRequest, "reason is required: say why the value is never a threat")
		return
	}
	o, err := findings.ParseObservable(req.Value, req.Type)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	e, err := h.svc.Allow(r.Context(), o, req.Reason, "key:"+caller(r).Name)
	if err != nil {
		h.s.internalError(w, "allowlisting", err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/allowlist/%d", e.ID))
	writeJSON(w, http.StatusCreated, e)
}

func (h *findingsHandler) disallow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "allowlist entry")
	if !ok {
		return
	}
	if h.storeError(w, "deleting allowlist entry", "no such allowlist entry", h.svc.Disallow(r.Context(), id, "key:"+caller(r).Name)) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pathID reads the {id} path value, answering 400 when it is not a positive integer.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid %s id %q", what, r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// decodeBody decodes the JSON body into v, refusing unknown fields, and answers 400 (413 when too
// large) when it cannot; shape describes the expected body in the message.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, shape string) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid JSON body: want %s: %v", shape, err))
		return false
	}
	return true
}

// storeError answers a store error: 404 with missing for ErrNotFound, 500 otherwise. It reports
// whether there was an error.
func (h *findingsHandler) storeError(w http.ResponseWriter, what, missing string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, missing)
	default:
		h.s.internalError(w, what, err)
	}
	return true
}
