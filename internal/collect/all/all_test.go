package all_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	_ "github.com/omen-tip/omen/internal/collect/all"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// Every default source builds: kinds exist and their settings are valid.
func TestDefaultSources(t *testing.T) {
	for _, src := range config.DefaultSources() {
		if _, err := collect.New(src); err != nil {
			t.Errorf("%s: %v", src.Name, err)
		}
	}
}

type server struct {
	h atomic.Pointer[http.HandlerFunc]
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load())(w, r) }
func (s *server) set(h http.HandlerFunc)                           { s.h.Store(&h) }

func serve(b []byte) http.HandlerFunc {
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(b))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(b)
	}
}

// The kev, epss and attack kinds against a server serving their genuine samples, then broken
// variants: each broken run is rejected, marks the source degraded, and leaves the data of the good
// run in place.
func TestKindsBroken(t *testing.T) {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kevJSON := read("../kev/testdata/known_exploited_vulnerabilities.head.json")
	epssCSV := read("../epss/testdata/epss_scores-current.head.csv")
	attackJSON := read("../attack/testdata/enterprise-subset-stix21-derived/techniques.json")
	html := []byte("<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>")
	kinds := []struct {
		kind    string
		genuine []byte
		records int
		shrunk  []byte
	}{
		{"kev", kevJSON, 80, []byte(`{"title":"CISA Catalog","vulnerabilities":[{"cveID":"CVE-2025-48384","vendorProject":"Git"}]}`)},
		{"epss", epssCSV, 39, []byte("cve,epss,percentile\nCVE-1999-0001,0.1,0.2\n")},
		{"attack", attackJSON, -1, []byte(`{"type":"bundle","id":"bundle--1","objects":[]}`)},
	}
	broken := []struct {
		name string
		h    func(genuine, shrunk []byte) http.HandlerFunc
		want string
	}{
		{"500", func(_, _ []byte) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }
		}, "500"},
		{"html", func(_, _ []byte) http.HandlerFunc { return serve(html) }, "rejected the input"},
		{"truncated", func(g, _ []byte) http.HandlerFunc { return serve(g[:len(g)/2]) }, ""},
		{"shrunk", func(_, s []byte) http.HandlerFunc { return serve(s) }, "rejected the input"},
	}
	for _, k := range kinds {
		for _, b := range broken {
			t.Run(k.kind+"/"+b.name, func(t *testing.T) {
				if k.kind == "epss" && b.name == "truncated" {
					t.Skip("a CSV cut at a line boundary is a shorter CSV: the shrink case covers it")
				}
				ctx := t.Context()
				srv := &server{}
				srv.set(serve(k.genuine))
				hs := httptest.NewServer(srv)
				defer hs.Close()
				st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				cl, err := fetch.New(fetch.Options{Retries: 1, Timeout: 5 * time.Second, TempDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				r := &collect.Runner{Store: st, Fetch: cl, Importer: &ingest.Importer{Store: st}}
				if k.kind == "epss" { // EPSS needs the KEV vulnerabilities to attach to
					kevSrv := httptest.NewServer(serve(kevJSON))
					defer kevSrv.Close()
					if _, err := r.Run(ctx, config.Source{Name: "kev", Kind: "kev", URL: kevSrv.URL, Interval: config.DefaultInterval, Confidence: 100}); err != nil {
						t.Fatal(err)
					}
				}
				src := config.Source{Name: "src", Kind: k.kind, URL: hs.URL + "/data", Interval: config.DefaultInterval, Reliability: 'A', Confidence: 100}
				if _, err := r.Run(ctx, src); err != nil {
					t.Fatalf("good run: %v", err)
				}
				good, _ := st.Source(ctx, "src")
				before, _ := st.Stats(ctx)
				if good.Health() != intel.HealthOK || (k.records >= 0 && good.GoodRecords != k.records) {
					t.Fatalf("good run: %+v", good)
				}
				srv.set(b.h(k.genuine, k.shrunk))
				if _, err := r.Run(ctx, src); err == nil || !strings.Contains(err.Error(), b.want) {
					t.Fatalf("broken run: %v, want an error containing %q", err, b.want)
				}
				s, _ := st.Source(ctx, "src")
				after, _ := st.Stats(ctx)
				if s.Health() != intel.HealthDegraded || s.GoodRecords != good.GoodRecords || after != before {
					t.Errorf("after the broken run: health %s, good records %d (was %d), stats %+v (were %+v)",
						s.Health(), s.GoodRecords, good.GoodRecords, after, before)
				}
			})
		}
	}
}
