// Package taxii serves STIX 2.1 over TAXII 2.1: discovery at /taxii2/, and each configured API root
// at /{root}/ with its status resources and collections (objects, manifest, versions), as the
// TAXII 2.1 specification and its reference server, OASIS medallion, do.
//
// A collection is a view over a store collection (see [store.STIXStore]): omen's pool filtered by
// type, confidence and TLP, or a writable collection's own objects. Every request needs an omen API
// key (HTTP Basic with the key as password, or Bearer); any role may read, analysts and admins may
// write, and every response is filtered by the key's TLP clearance.
package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Options is what a [Server] serves from.
type Options struct {
	// Config holds the discovery information, the API roots and their collections, with defaults
	// applied and validated (config.Load does both).
	Config config.TAXII
	Store  store.STIXStore
	// Authenticate returns the API key of a request (omen's api.Server.Authenticate); an error
	// means 401.
	Authenticate func(r *http.Request) (intel.APIKey, error)
	// OnAdded, when set, is called with the valid objects of every POST to a writable collection
	// after they are stored; coll is the store collection they went to (by default the TAXII
	// collection's id). An error is logged: the objects stay stored and the POST succeeds.
	OnAdded func(ctx context.Context, coll string, objs []json.RawMessage) error
	Logger  *slog.Logger
	Now     func() time.Time // nil: time.Now
}

// Server is the TAXII 2.1 http.Handler. Mount it at /taxii2/ and at each of [Server.Prefixes].
type Server struct {
	opts  Options
	roots map[string]*apiRoot
}

// apiRoot is one configured API root.
type apiRoot struct {
	cfg   config.TAXIIAPIRoot
	colls map[string]*collection // by lower-case id and alias
	list  []*collection          // in configuration order
}

// collection is one configured collection.
type collection struct {
	cfg config.TAXIICollection
	tlp intel.TLP // the view's cap
}

// New builds the server.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("taxii: no store")
	}
	if o.Authenticate == nil {
		return nil, errors.New("taxii: no authentication")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Config.MaxPageSize <= 0 {
		o.Config.MaxPageSize = 1000
	}
	if o.Config.MaxContentLength <= 0 {
		o.Config.MaxContentLength = 10 << 20
	}
	s := &Server{opts: o, roots: map[string]*apiRoot{}}
	for _, rc := range o.Config.APIRoots {
		r := &apiRoot{cfg: rc, colls: map[string]*collection{}}
		for _, cc := range rc.Collections {
			c := &collection{cfg: cc, tlp: cc.TLPCap()}
			if c.cfg.Store == "" {
				c.cfg.Store = store.STIXPool
				if c.cfg.CanWrite {
					c.cfg.Store = c.cfg.ID
				}
			}
			r.list = append(r.list, c)
			r.colls[strings.ToLower(cc.ID)] = c
			if cc.Alias != "" {
				r.colls[strings.ToLower(cc.Alias)] = c
			}
		}
		s.roots[rc.Name] = r
	}
	return s, nil
}

// Prefixes returns the paths to mount the server at: "/taxii2/" and "/{root}/" for each API root.
func (s *Server) Prefixes() []string {
	out := []string{"/taxii2/"}
	for _, r := range s.opts.Config.APIRoots {
		out = append(out, "/"+r.Name+"/")
	}
	return out
}

// canWrite reports whether a role may add and delete objects.
func canWrite(r intel.Role) bool { return r == intel.RoleAdmin || r == intel.RoleAnalyst }

// request is one authenticated request, routed.
type request struct {
	*http.Request
	key  intel.APIKey
	root *apiRoot
	coll *collection
}

// ServeHTTP implements http.Handler: authentication, content negotiation, then routing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k, err := s.opts.Authenticate(r)
	if err != nil {
		w.Header().Add("WWW-Authenticate", `Basic realm="omen TAXII"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="omen TAXII"`)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	if !acceptable(r.Header.Get("Accept")) {
		writeError(w, http.StatusNotAcceptable, "the Accept header must be "+MediaType)
		return
	}
	s.route(w, &request{Request: r, key: k})
}

// route dispatches on the path. Trailing slashes are optional.
func (s *Server) route(w http.ResponseWriter, r *request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) == 1 && segs[0] == "taxii2" {
		s.only(w, r, http.MethodGet, s.discovery)
		return
	}
	root, ok := s.roots[segs[0]]
	if !ok {
		writeError(w, http.StatusNotFound, "no such API root")
		return
	}
	r.root = root
	switch {
	case len(segs) == 1:
		s.only(w, r, http.MethodGet, s.apiRootInfo)
	case len(segs) == 3 && segs[1] == "status":
		s.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *request) { s.status(w, r, segs[2]) })
	case len(segs) == 2 && segs[1] == "collections":
		s.only(w, r, http.MethodGet, s.collections)
	case len(segs) >= 3 && segs[1] == "collections":
		s.routeCollection(w, r, segs[2], segs[3:])
	default:
		writeError(w, http.StatusNotFound, "no such TAXII endpoint")
	}
}

// routeCollection dispatches the endpoints under /{root}/collections/{id}/.
func (s *Server) routeCollection(w http.ResponseWriter, r *request, id string, rest []string) {
	c, ok := r.root.colls[strings.ToLower(id)]
	if !ok {
		writeError(w, http.StatusNotFound, "no such collection")
		return
	}
	r.coll = c
	switch {
	case len(rest) == 0:
		s.only(w, r, http.MethodGet, s.collection)
	case len(rest) == 1 && rest[0] == "manifest":
		s.only(w, r, http.MethodGet, s.reading(s.manifest))
	case len(rest) == 1 && rest[0] == "objects":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.reading(s.objects)(w, r)
		case http.MethodPost:
			s.writing(s.addObjects)(w, r)
		default:
			notAllowed(w, "GET, HEAD, POST")
		}
	case len(rest) == 2 && rest[0] == "objects":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.reading(func(w http.ResponseWriter, r *request) { s.object(w, r, rest[1]) })(w, r)
		case http.MethodDelete:
			s.writing(func(w http.ResponseWriter, r *request) { s.deleteObject(w, r, rest[1]) })(w, r)
		default:
			notAllowed(w, "GET, HEAD, DELETE")
		}
	case len(rest) == 3 && rest[0] == "objects" && rest[2] == "versions":
		s.only(w, r, http.MethodGet, s.reading(func(w http.ResponseWriter, r *request) { s.versions(w, r, rest[1]) }))
	default:
		writeError(w, http.StatusNotFound, "no such TAXII endpoint")
	}
}

// only serves requests of one method with h (HEAD too when the method is GET), and answers 405 to
// the others.
func (s *Server) only(w http.ResponseWriter, r *request, method string, h func(http.ResponseWriter, *request)) {
	if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
		notAllowed(w, method)
		return
	}
	h(w, r)
}

func notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "allowed: "+allow)
}

// reading wraps a handler that reads the collection: it must be readable.
func (s *Server) reading(h func(http.ResponseWriter, *request)) func(http.ResponseWriter, *request) {
	return func(w http.ResponseWriter, r *request) {
		if !r.coll.cfg.Readable() {
			writeError(w, http.StatusForbidden, "the collection cannot be read")
			return
		}
		h(w, r)
	}
}

// writing wraps a handler that changes the collection: it must be writable, and the key's role
// allowed to write.
func (s *Server) writing(h func(http.ResponseWriter, *request)) func(http.ResponseWriter, *request) {
	return func(w http.ResponseWriter, r *request) {
		switch {
		case !r.coll.cfg.CanWrite:
			writeError(w, http.StatusForbidden, "the collection cannot be written")
		case !canWrite(r.key.Role):
			writeError(w, http.StatusForbidden, "role "+string(r.key.Role)+" may not write to collections")
		default:
			h(w, r)
		}
	}
}

// internalError logs err and writes a 500 (nothing for a cancelled request).
func (s *Server) internalError(w http.ResponseWriter, r *request, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.opts.Logger.Error("taxii: "+what, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, what+" failed; see the server log")
}

// Interface guard.
var _ http.Handler = (*Server)(nil)
