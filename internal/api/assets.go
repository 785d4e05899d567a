package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// assetWrites serialises asset writes in this process, so that two requests cannot both create
// an asset with the same natural key (kind + name) between the check and the insert.
var assetWrites sync.Mutex

// registerAssets adds the asset inventory's CRUD routes: any role but consumer reads, analysts and
// admins write.
func (s *Server) registerAssets() {
	s.handle("GET /api/v1/assets", intel.RoleReader, s.listAssets)
	s.handle("GET /api/v1/assets/{id}", intel.RoleReader, s.getAsset)
	s.handle("POST /api/v1/assets", intel.RoleAnalyst, s.createAsset)
	s.handle("PUT /api/v1/assets/{id}", intel.RoleAnalyst, s.replaceAsset)
	s.handle("DELETE /api/v1/assets/{id}", intel.RoleAnalyst, s.deleteAsset)
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request) {
	kind := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("kind")))
	if kind != "" && !slices.Contains(assets.Kinds, kind) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("kind %q: want %s", kind, strings.Join(assets.Kinds, ", ")))
		return
	}
	list, err := s.deps.Store.ListAssets(r.Context(), kind)
	if err != nil {
		s.internalError(w, "listing assets", err)
		return
	}
	if list == nil {
		list = []intel.Asset{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": list})
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request) {
	id, ok := assetID(w, r)
	if !ok {
		return
	}
	a, err := s.deps.Store.Asset(r.Context(), id)
	if s.assetError(w, "reading asset", err) {
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) createAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := readAsset(w, r)
	if !ok {
		return
	}
	assetWrites.Lock()
	defer assetWrites.Unlock()
	if s.conflict(w, r, a, 0) {
		return
	}
	stored, err := s.deps.Store.PutAsset(r.Context(), a)
	if err != nil {
		s.internalError(w, "storing asset", err)
		return
	}
	s.auditAsset(r, "asset.create", stored)
	w.Header().Set("Location", fmt.Sprintf("/api/v1/assets/%d", stored.ID))
	writeJSON(w, http.StatusCreated, stored)
}

func (s *Server) replaceAsset(w http.ResponseWriter, r *http.Request) {
	id, ok := assetID(w, r)
	if !ok {
		return
	}
	a, ok := readAsset(w, r)
	if !ok {
		return
	}
	assetWrites.Lock()
	defer assetWrites.Unlock()
	if _, err := s.deps.Store.Asset(r.Context(), id); s.assetError(w, "reading asset", err) {
		return
	}
	if s.conflict(w, r, a, id) {
		return
	}
	a.ID = id
	stored, err := s.deps.Store.PutAsset(r.Context(), a)
	if s.assetError(w, "storing asset", err) {
		return
	}
	s.auditAsset(r, "asset.update", stored)
	writeJSON(w, http.StatusOK, stored)
}

func (s *Server) deleteAsset(w http.ResponseWriter, r *http.Request) {
	id, ok := assetID(w, r)
	if !ok {
		return
	}
	assetWrites.Lock()
	defer assetWrites.Unlock()
	old, err := s.deps.Store.Asset(r.Context(), id)
	if s.assetError(w, "reading asset", err) {
		return
	}
	if s.assetError(w, "deleting asset", s.deps.Store.DeleteAsset(r.Context(), id)) {
		return
	}
	s.auditAsset(r, "asset.delete", old)
	w.WriteHeader(http.StatusNoContent)
}

// assetID reads the {id} path value, answering 400 when it is not a positive integer.
func assetID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid asset id %q", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// readAsset decodes and validates the request body, an asset in the import file's JSON form,
// answering 400 (413 when too large) when it is not a valid asset.
func readAsset(w http.ResponseWriter, r *http.Request) (intel.Asset, bool) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBody))
			return intel.Asset{}, false
		}
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return intel.Asset{}, false
	}
	rec, err := assets.DecodeJSON(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid asset: "+err.Error())
		return intel.Asset{}, false
	}
	a, err := assets.Normalize(rec)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid asset: "+err.Error())
		return intel.Asset{}, false
	}
	return a, true
}

// conflict answers 409 when another asset than self (0: none) has a's natural key.
func (s *Server) conflict(w http.ResponseWriter, r *http.Request, a intel.Asset, self int64) bool {
	other, found, err := assets.Find(r.Context(), s.deps.Store, a)
	if err != nil {
		s.internalError(w, "reading assets", err)
		return true
	}
	if found && other.ID != self {
		writeError(w, http.StatusConflict, fmt.Sprintf("a %s asset named %q exists: /api/v1/assets/%d", other.Kind, other.Name, other.ID))
		return true
	}
	return false
}

// assetError answers a store error: 404 for a missing asset, 500 otherwise. It reports whether
// there was an error.
func (s *Server) assetError(w http.ResponseWriter, what string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such asset")
	default:
		s.internalError(w, what, err)
	}
	return true
}

func (s *Server) auditAsset(r *http.Request, action string, a intel.Asset) {
	err := s.deps.Store.AppendAudit(r.Context(), intel.AuditEntry{Time: time.Now().UTC(), Actor: "key:" + caller(r).Name,
		Action: action, Object: fmt.Sprintf("asset:%d", a.ID), Detail: fmt.Sprintf("kind=%s name=%s", a.Kind, a.Name)})
	if err != nil {
		s.deps.Logger.Error("auditing an asset change", "action", action, "asset", a.ID, "err", err)
	}
}
