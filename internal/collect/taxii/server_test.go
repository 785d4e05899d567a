package taxii_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect/taxii"
)

const (
	medallion    = "testdata/medallion-default_data.json"
	collectionID = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	apiRoot      = "/trustgroup1/"
	collPath     = apiRoot + "collections/" + collectionID + "/"
	objectsPath  = collPath + "objects/"
	lastAdded    = "2017-12-31T13:49:53.935000Z" // newest date_added of the collection
)

// entry is one object version of the served collection with its date_added.
type entry struct {
	id, version, added string
	raw                json.RawMessage
}

// loadCollection reads the medallion test collection: its objects, each with the date_added its
// manifest gives that id and version, oldest first.
func loadCollection(t testing.TB) []entry {
	t.Helper()
	b, err := os.ReadFile(medallion)
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Root struct {
			Collections []struct {
				ID       string            `json:"id"`
				Objects  []json.RawMessage `json:"objects"`
				Manifest []struct {
					ID        string `json:"id"`
					Version   string `json:"version"`
					DateAdded string `json:"date_added"`
				} `json:"manifest"`
			} `json:"collections"`
		} `json:"trustgroup1"`
	}
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	var out []entry
	for _, c := range data.Root.Collections {
		if c.ID != collectionID {
			continue
		}
		for _, o := range c.Objects {
			var h struct{ ID, Created, Modified string }
			if err := json.Unmarshal(o, &h); err != nil {
				t.Fatal(err)
			}
			v := h.Modified
			if v == "" {
				v = h.Created
			}
			e := entry{id: h.ID, version: v, raw: o}
			for _, m := range c.Manifest {
				if m.ID == h.ID && m.Version == v {
					e.added = m.DateAdded
				}
			}
			if e.added == "" {
				t.Fatalf("no date_added for %s %s", h.ID, v)
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].added < out[j].added })
	if len(out) != 8 {
		t.Fatalf("%d objects in the test collection, want 8", len(out))
	}
	return out
}

// request is what the fake server saw of one request.
type request struct {
	query  string
	accept string
	auth   string
	ua     string
}

// server is a fake TAXII 2.1 objects endpoint over the medallion collection, paging like
// medallion: added_after filters on date_added, limit cuts pages, next is an opaque token, and
// X-TAXII-Date-Added-First/-Last give each page's range.
type server struct {
	*httptest.Server
	objs []entry

	mu       sync.Mutex
	requests []request
	// intercept, when set, may answer request n (1-based) itself and return true.
	intercept func(n int, w http.ResponseWriter, r *http.Request) bool
	noHeaders bool   // send no X-TAXII-Date-Added-* headers
	noNext    bool   // say more without a next token
	wantAuth  string // the Authorization value required, when set
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{objs: loadCollection(t)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, request{query: r.URL.RawQuery, accept: r.Header.Get("Accept"),
		auth: r.Header.Get("Authorization"), ua: r.Header.Get("User-Agent")})
	n, intercept, wantAuth := len(s.requests), s.intercept, s.wantAuth
	s.mu.Unlock()
	if intercept != nil && intercept(n, w, r) {
		return
	}
	if wantAuth != "" && r.Header.Get("Authorization") != wantAuth {
		taxiiError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if r.URL.Path != objectsPath {
		taxiiError(w, http.StatusNotFound, "Collection not found")
		return
	}
	if r.Header.Get("Accept") != taxii.MediaType {
		taxiiError(w, http.StatusNotAcceptable, "Media type in the Accept header is invalid or not found")
		return
	}
	s.page(w, r)
}

// page answers one objects request.
func (s *server) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		taxiiError(w, http.StatusBadRequest, "bad limit")
		return
	}
	var match []entry
	after, _ := time.Parse(time.RFC3339Nano, q.Get("added_after"))
	for _, e := range s.objs {
		if a, _ := time.Parse(time.RFC3339Nano, e.added); q.Get("added_after") == "" || a.After(after) {
			match = append(match, e)
		}
	}
	start := 0
	if nx := q.Get("next"); nx != "" {
		if start, err = strconv.Atoi(strings.TrimPrefix(nx, "tok-")); err != nil || start > len(match) {
			taxiiError(w, http.StatusBadRequest, "bad next")
			return
		}
	}
	end := min(start+limit, len(match))
	env := map[string]any{"more": end < len(match)}
	if end < len(match) && !s.noNext {
		env["next"] = "tok-" + strconv.Itoa(end)
	}
	if end > start {
		objs := make([]json.RawMessage, 0, end-start)
		for _, e := range match[start:end] {
			objs = append(objs, e.raw)
		}
		env["objects"] = objs
		if !s.noHeaders {
			w.Header().Set("X-TAXII-Date-Added-First", match[start].added)
			w.Header().Set("X-TAXII-Date-Added-Last", match[end-1].added)
		}
	}
	w.Header().Set("Content-Type", taxii.MediaType)
	json.NewEncoder(w).Encode(env)
}

// taxiiError writes a TAXII 2.1 error message as medallion does.
func taxiiError(w http.ResponseWriter, code int, title string) {
	w.Header().Set("Content-Type", taxii.MediaType)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"title": title, "http_status": strconv.Itoa(code)})
}

func (s *server) seen() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *server) set(f func(n int, w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = f
}
