package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Authenticate returns the API key of a request (Bearer, or Basic with the key as password), as
// every /api/v1/ route checks it; other handlers mounted on the server (TAXII) use it too.
func (s *Server) Authenticate(r *http.Request) (intel.APIKey, error) { return s.authenticate(r) }

// Mount serves h under each path prefix ("/taxii2/"), with the request metrics of the API routes.
// h does its own authentication (see [Server.Authenticate]) and limits its request bodies. Call
// Mount before the server starts serving.
func (s *Server) Mount(prefixes []string, h http.Handler) {
	for _, p := range prefixes {
		route := p
		s.mux.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, code: 200}
			defer func() {
				s.reqs.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
				s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
			}()
			h.ServeHTTP(sw, r)
		}))
	}
}
