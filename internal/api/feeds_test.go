package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/api"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// apiTestFormat is a one-value-per-line format of these tests, with a delta form.
const apiTestFormat = "apitest-lines"

func init() {
	respond.Register(respond.Format{Name: apiTestFormat, ContentType: "text/plain; charset=utf-8",
		Write: func(w io.Writer, entries []respond.Entry, o respond.WriteOptions) error {
			for _, e := range entries {
				fmt.Fprintln(w, e.Observable.Value)
			}
			return nil
		}})
	respond.DeltaFormats = append(respond.DeltaFormats, apiTestFormat)
}

// TestFeedsHandler mounts the feeds on the API server, as omen serve does, and checks
// authentication, the TLP ceiling against the key's clearance, conditional requests, gzip, the
// delta form and that feeds are regenerated on data change only.
func TestFeedsHandler(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys := map[intel.Role]string{}
	for _, role := range []intel.Role{intel.RoleAdmin, intel.RoleAnalyst, intel.RoleReader, intel.RoleConsumer} {
		_, secret, err := api.CreateKey(ctx, st, string(role), role, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		keys[role] = secret
	}
	clear := intel.TLPClear
	_, clearKey, err := api.CreateKey(ctx, st, "clear-only", intel.RoleConsumer, &clear, "test")
	if err != nil {
		t.Fatal(err)
	}
	revoked, revokedSecret, err := api.CreateKey(ctx, st, "old", intel.RoleConsumer, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	version, calls := int64(1), map[string]int{}
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	values := []respond.Entry{
		{Observable: intel.Observable{Type: intel.IPv4, Value: "198.51.100.7"}, Score: 90, LastSeen: now.Add(-72 * time.Hour)},
		{Observable: intel.Observable{Type: intel.IPv4, Value: "203.0.113.9"}, Score: 80, LastSeen: now.Add(-time.Hour)},
	}
	fs, err := respond.NewFeedServer(respond.FeedOptions{
		Exports: []config.Export{
			{Name: "ips", Format: apiTestFormat, TLP: "green"},
			{Name: "ips-amber", Format: apiTestFormat}, // amber by default
			{Name: "misp", Format: respond.MISPFeedFormat, TLP: "clear"},
		},
		Produce: func(ctx context.Context, name string, sel respond.Selection, f respond.Format) ([]respond.Entry, respond.Report, error) {
			mu.Lock()
			defer mu.Unlock()
			if sel.Since.IsZero() {
				calls[name]++ // full generations only
			}
			var out []respond.Entry
			for _, e := range values {
				if sel.Since.IsZero() || !e.LastSeen.Before(sel.Since) {
					e.TLP = min(sel.TLP, intel.TLPGreen)
					out = append(out, e)
				}
			}
			return out, respond.Report{Written: len(out)}, nil
		},
		Version: func() int64 { mu.Lock(); defer mu.Unlock(); return version },
		Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{Store: st})
	srv.Mount([]string{api.FeedsPrefix}, api.FeedsHandler(fs, srv.Authenticate))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	get := func(path, secret string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+path, nil)
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	producerCalls := func(name string) int { mu.Lock(); defer mu.Unlock(); return calls[name] }

	// Authentication.
	for _, secret := range []string{"", "omen_wrong", revokedSecret} {
		if res, body := get("/feeds/ips", secret); res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("key %q: %d %s", secret, res.StatusCode, body)
		}
	}
	if producerCalls("ips") != 0 {
		t.Error("an unauthenticated request generated the feed")
	}
	// Every role may read a feed within its clearance.
	for role, secret := range keys {
		if res, body := get("/feeds/ips", secret); res.StatusCode != 200 || body != "198.51.100.7\n203.0.113.9\n" {
			t.Errorf("%s: %d %q", role, res.StatusCode, body)
		}
	}
	// TLP ceiling against clearance: consumers are green by default; amber feeds need more.
	if res, body := get("/feeds/ips-amber", keys[intel.RoleConsumer]); res.StatusCode != 403 || !strings.Contains(body, "TLP:AMBER") {
		t.Errorf("consumer on an amber feed: %d %s", res.StatusCode, body)
	}
	if res, _ := get("/feeds/ips-amber", keys[intel.RoleReader]); res.StatusCode != 200 {
		t.Errorf("reader on an amber feed: %d", res.StatusCode)
	}
	if res, _ := get("/feeds/ips", clearKey); res.StatusCode != 403 {
		t.Errorf("clear-only key on a green feed: %d", res.StatusCode)
	}
	if res, _ := get("/feeds/misp/manifest.json", clearKey); res.StatusCode != 200 {
		t.Errorf("clear-only key on a clear feed: %d", res.StatusCode)
	}
	if res, _ := get("/feeds/nope", keys[intel.RoleConsumer]); res.StatusCode != 404 {
		t.Errorf("unknown feed: %d", res.StatusCode)
	}
	// The listing shows what the key may read.
	res, body := get("/feeds/", keys[intel.RoleConsumer])
	var list struct {
		Feeds []struct{ Name, Format, TLP, URL string } `json:"feeds"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || res.StatusCode != 200 || len(list.Feeds) != 2 ||
		list.Feeds[0].Name != "ips" || list.Feeds[1].URL != "/feeds/misp/manifest.json" {
		t.Errorf("listing: %d %s", res.StatusCode, body)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/feeds/ips", nil)
	req.Header.Set("Authorization", "Bearer "+keys[intel.RoleAdmin])
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 405 {
		t.Errorf("POST: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// Conditional requests and gzip.
	res, _ = get("/feeds/ips", keys[intel.RoleConsumer])
	etag := res.Header.Get("ETag")
	if res, body := get("/feeds/ips", keys[intel.RoleConsumer], "If-None-Match", etag); res.StatusCode != 304 || body != "" {
		t.Errorf("If-None-Match: %d %q", res.StatusCode, body)
	}
	res, body = get("/feeds/ips", keys[intel.RoleConsumer], "Accept-Encoding", "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: %v", res.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != "198.51.100.7\n203.0.113.9\n" {
		t.Errorf("gunzipped %q", b)
	}

	// Delta.
	if res, body := get("/feeds/ips?since=24h", keys[intel.RoleConsumer]); res.StatusCode != 200 || body != "203.0.113.9\n" {
		t.Errorf("since=24h: %d %q", res.StatusCode, body)
	}
	if res, _ := get("/feeds/ips?since=soon", keys[intel.RoleConsumer]); res.StatusCode != 400 {
		t.Errorf("since=soon: %d", res.StatusCode)
	}

	// Regeneration on data change only.
	if n := producerCalls("ips"); n != 1 {
		t.Errorf("ips generated %d times without a data change, want 1", n)
	}
	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	get("/feeds/ips", keys[intel.RoleConsumer])
	if n := producerCalls("ips"); n != 1 {
		t.Errorf("ips regenerated without a data change: %d", n)
	}
	mu.Lock()
	version++
	values = append(values, respond.Entry{Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.1"}, Score: 70, LastSeen: now})
	mu.Unlock()
	res, body = get("/feeds/ips", keys[intel.RoleConsumer], "If-None-Match", etag)
	if res.StatusCode != 200 || !strings.Contains(body, "192.0.2.1") || res.Header.Get("ETag") == etag {
		t.Errorf("after a data change: %d %q %s", res.StatusCode, body, res.Header.Get("ETag"))
	}
	if n := producerCalls("ips"); n != 2 {
		t.Errorf("ips generated %d times after one data change, want 2", n)
	}
}
