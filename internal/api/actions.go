package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store"
)

// registerActions adds the response-action routes: analysts send an action on a finding to the
// webhooks of d (POST /api/v1/findings/{id}/actions) and read the dead letters
// (GET /api/v1/actions/dead-letters). Calling it again does nothing.
func (s *Server) registerActions(d *respond.Dispatcher) {
	probe := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/api/v1/findings/1/actions"}}
	if _, pattern := s.mux.Handler(probe); pattern != "" {
		return
	}
	h := &actionsHandler{s: s, d: d}
	s.handle("POST /api/v1/findings/{id}/actions", intel.RoleAnalyst, h.act)
	s.handle("GET /api/v1/actions/dead-letters", intel.RoleAnalyst, h.deadLetters)
}

type actionsHandler struct {
	s *Server
	d *respond.Dispatcher
}

// actionRequest is the body of POST /api/v1/findings/{id}/actions.
type actionRequest struct {
	Kind    string `json:"kind"`
	Webhook string `json:"webhook,omitempty"`
	// Values, "type:value" strings, replace the finding's value.
	Values []string `json:"values,omitempty"`
	DryRun bool     `json:"dry_run,omitempty"`
}

const actionShape = `{"kind": "block|contain-account|open-case", "webhook": "name", "values": ["ipv4:203.0.113.7"], "dry_run": false}`

func (h *actionsHandler) act(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "finding")
	if !ok {
		return
	}
	var req actionRequest
	if !decodeBody(w, r, &req, actionShape) {
		return
	}
	kind, err := respond.ParseKind(req.Kind)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var vals []intel.Observable
	for i, v := range req.Values {
		t, raw, ok := strings.Cut(v, ":")
		if !ok || !intel.Type(t).Valid() {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("values[%d] %q: want \"type:value\", e.g. \"ipv4:203.0.113.7\"", i, v))
			return
		}
		o, err := intel.Normalize(intel.Type(t), raw)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("values[%d]: %v", i, err))
			return
		}
		vals = append(vals, o)
	}
	key := caller(r)
	f, err := h.s.deps.Store.Finding(r.Context(), id)
	if err == nil && !key.Clearance.Allows(f.TLP) {
		err = store.ErrNotFound // not shown above the key's clearance
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such finding")
		return
	}
	if err != nil {
		h.s.internalError(w, "reading finding", err)
		return
	}
	act := respond.Action{Kind: kind, Finding: f, Values: vals, Webhook: req.Webhook, Actor: key.Name}
	if req.DryRun {
		p, err := h.d.Plan(act)
		if err != nil {
			h.actionError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"dry_run": true, "plan": p})
		return
	}
	p, err := h.d.Submit(r.Context(), act)
	if err != nil {
		h.actionError(w, err)
		return
	}
	hooks := make([]string, 0, len(p.Deliveries))
	for _, x := range p.Deliveries {
		hooks = append(hooks, x.Webhook)
	}
	note := fmt.Sprintf("%s action %s %s by %s: queued to %s", time.Now().UTC().Format(time.RFC3339), p.Action.Kind,
		p.Action.ID, key.Name, strings.Join(hooks, ", "))
	if _, err := h.s.deps.Store.UpdateFinding(r.Context(), id, func(f *intel.Finding) error {
		f.Actions = append(f.Actions, note)
		return nil
	}); err != nil {
		h.s.deps.Logger.Warn("recording the action on the finding", "finding", id, "err", err)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"plan": p})
}

// actionError answers an error of Plan or Submit.
func (h *actionsHandler) actionError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, respond.ErrNoValues), errors.Is(err, respond.ErrNoWebhook):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, respond.ErrBusy), errors.Is(err, respond.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, respond.ErrUnknownWebhook):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		h.s.internalError(w, "sending the action", err)
	}
}

func (h *actionsHandler) deadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since=%q: want an RFC 3339 time", v))
			return
		}
		since = t
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want 1..1000", v))
			return
		}
		limit = n
	}
	dl, err := respond.ReadDeadLetters(r.Context(), h.s.deps.Store, since, limit)
	if err != nil {
		h.s.internalError(w, "reading dead letters", err)
		return
	}
	if dl == nil {
		dl = []respond.DeadLetter{}
	}
	if caller(r).Clearance < intel.TLPRed {
		for i := range dl { // payloads may carry evidence above the key's clearance
			dl[i].Payload = nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": dl})
}
