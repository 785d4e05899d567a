package taxii

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/omen-tip/omen/internal/store"
)

// discoveryResource is the answer of GET /taxii2/.
type discoveryResource struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

// apiRootResource is the answer of GET /{root}/.
type apiRootResource struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

// collectionResource describes one collection, as the caller may use it.
type collectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

// baseURL returns the scheme and host the client used, for the absolute URLs of discovery.
func baseURL(r *request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func (s *Server) discovery(w http.ResponseWriter, r *request) {
	c := s.opts.Config
	base := baseURL(r)
	d := discoveryResource{Title: c.Title, Description: c.Description, Contact: c.Contact}
	if c.Default != "" {
		d.Default = base + "/" + c.Default + "/"
	}
	for _, root := range c.APIRoots {
		d.APIRoots = append(d.APIRoots, base+"/"+root.Name+"/")
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiRootInfo(w http.ResponseWriter, r *request) {
	writeJSON(w, http.StatusOK, apiRootResource{Title: r.root.cfg.Title, Description: r.root.cfg.Description,
		Versions: []string{MediaType}, MaxContentLength: s.opts.Config.MaxContentLength})
}

// describe returns the collection resource of c for the caller of r: can_write says whether this
// caller may write.
func describe(c *collection, r *request) collectionResource {
	return collectionResource{ID: c.cfg.ID, Title: c.cfg.Title, Description: c.cfg.Description, Alias: c.cfg.Alias,
		CanRead: c.cfg.Readable(), CanWrite: c.cfg.CanWrite && canWrite(r.key.Role), MediaTypes: []string{STIXMediaType}}
}

func (s *Server) collections(w http.ResponseWriter, r *request) {
	var out struct {
		Collections []collectionResource `json:"collections,omitempty"`
	}
	for _, c := range r.root.list {
		out.Collections = append(out.Collections, describe(c, r))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) collection(w http.ResponseWriter, r *request) {
	writeJSON(w, http.StatusOK, describe(r.coll, r))
}

// statusKey is the store key of a status resource: status ids are per API root.
func statusKey(root, id string) string { return root + "/" + id }

func (s *Server) status(w http.ResponseWriter, r *request, id string) {
	b, err := s.opts.Store.TAXIIStatus(r.Context(), statusKey(r.root.cfg.Name, id))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such status resource")
		return
	}
	if err != nil {
		s.internalError(w, r, "reading status", err)
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(b))
}
