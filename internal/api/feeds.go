package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
)

// FeedsPrefix is the path the feeds are served under.
const FeedsPrefix = "/feeds/"

// FeedsHandler serves the named exports of fs at /feeds/{name} (and, for a directory format such
// as misp-feed, /feeds/{name}/{file}); mount it at [FeedsPrefix] (see [Server.Mount]).
//
// auth authenticates the request (see [Server.Authenticate]); a key of any role (consumer,
// reader, analyst, admin) may read feeds, but only those whose TLP ceiling is within its clearance:
// a feed above the key's clearance answers 403. The listing /feeds/ names the feeds the key may
// read.
func FeedsHandler(fs *respond.FeedServer, auth func(*http.Request) (intel.APIKey, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "feeds are read with GET or HEAD")
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, FeedsPrefix)
		if !ok {
			writeError(w, http.StatusNotFound, "not a feed path")
			return
		}
		k, err := auth(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="omen"`)
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		}
		if _, err := intel.ParseRole(string(k.Role)); err != nil {
			writeError(w, http.StatusForbidden, fmt.Sprintf("role %q may not read feeds", k.Role))
			return
		}
		name, file, _ := strings.Cut(rest, "/")
		if name == "" {
			listFeeds(w, fs, k)
			return
		}
		exp, ok := fs.Export(name)
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no feed %q", name))
			return
		}
		if ceiling := exp.TLPCeiling(); !k.Clearance.Allows(ceiling) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("feed %q carries up to TLP:%s; key %q is cleared for TLP:%s",
				name, strings.ToUpper(ceiling.String()), k.Name, strings.ToUpper(k.Clearance.String())))
			return
		}
		fs.ServeFeed(w, r, name, file)
	})
}

// feedInfo is one feed of the /feeds/ listing.
type feedInfo struct {
	Name        string `json:"name"`
	Format      string `json:"format"`
	Description string `json:"description,omitempty"`
	TLP         string `json:"tlp"`
	URL         string `json:"url"`
}

func listFeeds(w http.ResponseWriter, fs *respond.FeedServer, k intel.APIKey) {
	out := []feedInfo{}
	for _, n := range fs.Names() {
		e, _ := fs.Export(n)
		if !k.Clearance.Allows(e.TLPCeiling()) {
			continue
		}
		u := FeedsPrefix + n
		if f, ok := respond.Lookup(e.Format); ok && f.Write == nil {
			u += "/manifest.json"
		}
		out = append(out, feedInfo{Name: n, Format: e.Format, Description: e.Description, TLP: e.TLPCeiling().String(), URL: u})
	}
	writeJSON(w, http.StatusOK, map[string]any{"feeds": out})
}
