package taxii

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
)

// Status is a TAXII 2.1 status resource. omen processes a POST before answering, so its status is
// always "complete" and nothing is pending.
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
}

// StatusDetail is one object of a status resource.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// addObjects serves POST /{root}/collections/{id}/objects/: the body is an envelope; valid objects
// are stored (a version already held counts as a success), invalid ones are the status's
// failures, and the answer is 202 with the status resource.
func (s *Server) addObjects(w http.ResponseWriter, r *request) {
	requested := s.opts.Now()
	objs, ok := s.readEnvelope(w, r)
	if !ok {
		return
	}
	st := Status{ID: newUUID(), Status: "complete", RequestTimestamp: FormatTimestamp(requested), TotalCount: len(objs)}
	var (
		valid []store.STIXObject
		raws  []json.RawMessage
	)
	for i, raw := range objs {
		m, err := stix.ObjectMeta(raw)
		if err != nil {
			st.Failures = append(st.Failures, StatusDetail{ID: m.ID, Version: metaVersion(m),
				Message: fmt.Sprintf("object %d: %v", i, err)})
			continue
		}
		m.Collection = r.coll.cfg.Store
		valid = append(valid, m)
		raws = append(raws, m.Raw)
		st.Successes = append(st.Successes, StatusDetail{ID: m.ID, Version: metaVersion(m)})
	}
	added, err := s.opts.Store.PutSTIXObjects(r.Context(), valid)
	if err != nil {
		s.internalError(w, r, "storing objects", err)
		return
	}
	st.SuccessCount, st.FailureCount = len(st.Successes), len(st.Failures)
	s.opts.Logger.Info("taxii: objects added", "collection", r.coll.cfg.ID, "objects", len(objs), "new_versions", added,
		"failures", st.FailureCount, "key", r.key.Name)
	s.notify(r, raws)
	b, err := json.Marshal(st)
	if err == nil {
		err = s.opts.Store.PutTAXIIStatus(r.Context(), statusKey(r.root.cfg.Name, st.ID), b)
	}
	if err != nil {
		s.internalError(w, r, "storing status", err)
		return
	}
	writeJSON(w, http.StatusAccepted, st)
}

// readEnvelope checks the Content-Type and size of a POST and decodes its envelope, answering
// errors itself (415, 413, 400, 422); ok is false when it did.
func (s *Server) readEnvelope(w http.ResponseWriter, r *request) (objs []json.RawMessage, ok bool) {
	if !taxiiMediaType(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "the Content-Type must be "+MediaType)
		return nil, false
	}
	limit := s.opts.Config.MaxContentLength
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than max_content_length (%d bytes)", limit))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than max_content_length (%d bytes)", limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return nil, false
	}
	var env struct {
		Objects *[]json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		writeTitled(w, http.StatusBadRequest, "ProcessingError", "the body is not valid JSON: "+err.Error())
		return nil, false
	}
	if env.Objects == nil {
		writeTitled(w, http.StatusUnprocessableEntity, "ProcessingError",
			`While processing supplied content, an error occurred: want an envelope {"objects": [...]}`)
		return nil, false
	}
	return *env.Objects, true
}

// notify hands the objects of a POST to OnAdded.
func (s *Server) notify(r *request, raws []json.RawMessage) {
	if s.opts.OnAdded == nil || len(raws) == 0 {
		return
	}
	if err := s.opts.OnAdded(r.Context(), r.coll.cfg.Store, raws); err != nil {
		s.opts.Logger.Error("taxii: handling added objects", "collection", r.coll.cfg.ID, "objects", len(raws), "err", err)
	}
}

// metaVersion is the version of an object for a status resource ("" when it has none).
func metaVersion(m store.STIXObject) string {
	if m.Modified.IsZero() {
		return ""
	}
	return formatVersion(m.Modified)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
