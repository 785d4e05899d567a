package fetch_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
)

const csvBody = "cve,epss,percentile\nCVE-2024-0001,0.5,0.9\nCVE-2024-0002,0.1,0.2\n"

// newClient returns a client whose temporary files go to a fresh directory (returned, for
// leak checks) with a tiny backoff.
func newClient(t *testing.T, o fetch.Options) (*fetch.Client, string) {
	t.Helper()
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	c, err := fetch.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, o.TempDir
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// fetchGuarded runs Fetch and fails the test, instead of hanging it, if Fetch does not return.
func fetchGuarded(t *testing.T, ctx context.Context, c *fetch.Client, req collect.FetchRequest) (*collect.Download, error) {
	t.Helper()
	type result struct {
		dl  *collect.Download
		err error
	}
	done := make(chan result, 1)
	go func() {
		dl, err := c.Fetch(ctx, req)
		done <- result{dl, err}
	}()
	select {
	case r := <-done:
		return r.dl, r.err
	case <-time.After(60 * time.Second): // hang guard only
		t.Fatal("Fetch did not return")
		return nil, nil
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zipEntry struct {
	name string
	body []byte
}

func zipOf(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetch(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		req     collect.FetchRequest // URL is filled in
		path    string               // appended to the server URL
		want    string
		// wanted metadata
		etag, lastModified, contentType string
		notModified                     bool
	}{
		{
			name: "200 plain",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/csv")
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
				io.WriteString(w, csvBody)
			},
			want: csvBody, etag: `"v1"`, lastModified: "Mon, 02 Jan 2006 15:04:05 GMT", contentType: "text/csv",
		},
		{
			name: "304 with ETag",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				io.WriteString(w, csvBody)
			},
			req:         collect.FetchRequest{ETag: `"v1"`},
			notModified: true, etag: `"v1"`,
		},
		{
			name: "changed despite ETag",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v2"`)
				io.WriteString(w, csvBody)
			},
			req:  collect.FetchRequest{ETag: `"v1"`},
			want: csvBody, etag: `"v2"`,
		},
		{
			name: "gzip Content-Encoding",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					io.WriteString(w, "gzip not accepted")
					return
				}
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gz(t, []byte(csvBody)))
			},
			want: csvBody,
		},
		{
			name: ".gz file",
			path: "/epss_scores-current.csv.gz",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/gzip")
				w.Write(gz(t, []byte(csvBody)))
			},
			want: csvBody, contentType: "application/gzip",
		},
		{
			name: ".gz file also sent with Content-Encoding gzip",
			path: "/feed.csv.gz",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gz(t, gz(t, []byte(csvBody))))
			},
			want: csvBody,
		},
		{
			name: "zip file",
			path: "/feed.zip",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(zipOf(t, zipEntry{"feed.csv", []byte(csvBody)}))
			},
			want: csvBody,
		},
		{
			name: "zip with a directory and several files: the largest",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(zipOf(t,
					zipEntry{"README.txt", []byte("read me")},
					zipEntry{"data/", nil},
					zipEntry{"data/feed.csv", []byte(csvBody)},
					zipEntry{"LICENSE", []byte("license")},
				))
			},
			want: csvBody,
		},
		{
			name: "empty body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
			},
			want: "",
		},
		{
			name: "User-Agent and request headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "omen/1.2.3 ") {
					http.Error(w, "bad user agent "+ua, http.StatusBadRequest)
					return
				}
				if r.Header.Get("X-Api-Key") != "s3cret" {
					http.Error(w, "no key", http.StatusUnauthorized)
					return
				}
				io.WriteString(w, csvBody)
			},
			req:  collect.FetchRequest{Headers: map[string]string{"X-Api-Key": "s3cret"}},
			want: csvBody,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.handler)
			c, dir := newClient(t, fetch.Options{Version: "1.2.3"})
			req := tc.req
			req.URL = srv.URL + tc.path
			dl, err := fetchGuarded(t, t.Context(), c, req)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if dl.NotModified != tc.notModified {
				t.Errorf("NotModified = %v, want %v", dl.NotModified, tc.notModified)
			}
			if tc.notModified {
				if dl.Path != "" {
					t.Errorf("Path = %q on 304, want empty", dl.Path)
				}
			} else if got := readFile(t, dl.Path); got != tc.want {
				t.Errorf("body = %q, want %q", got, tc.want)
			}
			if !tc.notModified && dl.Bytes != int64(len(tc.want)) {
				t.Errorf("Bytes = %d, want %d", dl.Bytes, len(tc.want))
			}
			if dl.ETag != tc.etag {
				t.Errorf("ETag = %q, want %q", dl.ETag, tc.etag)
			}
			if dl.LastModified != tc.lastModified {
				t.Errorf("LastModified = %q, want %q", dl.LastModified, tc.lastModified)
			}
			if tc.contentType != "" && dl.ContentType != tc.contentType {
				t.Errorf("ContentType = %q, want %q", dl.ContentType, tc.contentType)
			}
			if err := dl.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			assertEmptyDir(t, dir)
		})
	}
}

func TestFetchLastModifiedRoundTrip(t *testing.T) {
	const lm = "Tue, 03 Jun 2025 10:00:00 GMT"
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Modified-Since") == lm {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", lm)
		io.WriteString(w, csvBody)
	})
	c, dir := newClient(t, fetch.Options{})
	dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	dl.Close()
	if dl.LastModified != lm || dl.NotModified {
		t.Fatalf("first fetch: LastModified %q NotModified %v", dl.LastModified, dl.NotModified)
	}
	dl, err = c.Fetch(t.Context(), collect.FetchRequest{URL: srv.URL, LastModified: dl.LastModified})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	if !dl.NotModified || dl.Path != "" || dl.LastModified != lm {
		t.Errorf("second fetch: NotModified %v Path %q LastModified %q, want a 304", dl.NotModified, dl.Path, dl.LastModified)
	}
	assertEmptyDir(t, dir)
}

func TestFetchErrors(t *testing.T) {
	big := bytes.Repeat([]byte("a,b\n"), 1024) // 4 KiB
	zeros := make([]byte, 2<<20)               // 2 MiB; each bomb below is about 2 KiB
	gzBomb, zipBomb := gz(t, zeros), zipOf(t, zipEntry{"bomb.csv", zeros})
	const bombCap = 256 << 10
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		opts     fetch.Options
		req      collect.FetchRequest
		attempts int64 // requests the server must have seen
		check    func(t *testing.T, err error)
	}{
		{
			name: "truncated gzip",
			handler: func(w http.ResponseWriter, r *http.Request) {
				b := gz(t, big)
				w.Write(b[:len(b)/2]) // a complete response holding half a gzip stream
			},
			attempts: 1,
			check:    wantIs(io.ErrUnexpectedEOF),
		},
		{
			name: "truncated zip",
			handler: func(w http.ResponseWriter, r *http.Request) {
				b := zipOf(t, zipEntry{"feed.csv", big})
				w.Write(b[:len(b)-30])
			},
			attempts: 1,
			check:    wantContains("zip"),
		},
		{
			name: "oversized body with Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				w.Write(big)
			},
			opts:     fetch.Options{MaxBytes: 1000},
			attempts: 1,
			check:    wantTooLarge(1000),
		},
		{
			name: "oversized chunked body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for range 8 {
					w.Write(big[:512])
					w.(http.Flusher).Flush()
				}
			},
			req:      collect.FetchRequest{MaxBytes: 1000},
			attempts: 1,
			check:    wantTooLarge(1000),
		},
		{
			name: "gzip file over the cap once decompressed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(gzBomb)
			},
			opts:     fetch.Options{MaxBytes: bombCap},
			attempts: 1,
			check:    wantTooLarge(bombCap),
		},
		{
			name: "gzip Content-Encoding over the cap once decoded",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gzBomb)
			},
			opts:     fetch.Options{MaxBytes: bombCap},
			attempts: 1,
			check:    wantTooLarge(bombCap),
		},
		{
			name: "zip over the cap once extracted",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(zipBomb)
			},
			opts:     fetch.Options{MaxBytes: bombCap},
			attempts: 1,
			check:    wantTooLarge(bombCap),
		},
		{
			name: "zip with path traversal",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(zipOf(t, zipEntry{"feed.csv", big}, zipEntry{"../../etc/evil", []byte("x")}))
			},
			attempts: 1,
			check:    wantContains("outside the archive"),
		},
		{
			name: "404 is not retried",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.NotFound(w, r)
			},
			attempts: 1,
			check:    wantStatus(404),
		},
		{
			name: "403 HTML page is not retried",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, "<html><body>denied</body></html>")
			},
			attempts: 1,
			check:    wantStatus(403),
		},
		{
			name: "500 forever",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "boom", http.StatusInternalServerError)
			},
			attempts: 3,
			check:    wantStatus(500),
		},
		{
			name: "429 forever with 5 retries",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			opts:     fetch.Options{Retries: 5},
			attempts: 5,
			check:    wantStatus(429),
		},
		{
			name: "Retry-After past the deadline stops at once",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			opts:     fetch.Options{Timeout: 30 * time.Second},
			attempts: 1,
			check:    wantStatus(503),
		},
		{
			name: "unsupported Content-Encoding",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "br")
				w.Write(big)
			},
			attempts: 1,
			check:    wantContains(`Content-Encoding "br"`),
		},
		{
			name:     "invalid header value",
			handler:  func(w http.ResponseWriter, r *http.Request) {},
			req:      collect.FetchRequest{Headers: map[string]string{"X-Key": "a\r\nInjected: yes"}},
			attempts: 0,
			check:    wantContains("X-Key has an invalid value"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				tc.handler(w, r)
			})
			c, dir := newClient(t, tc.opts)
			req := tc.req
			req.URL = srv.URL + "/feed"
			dl, err := fetchGuarded(t, t.Context(), c, req)
			if err == nil {
				dl.Close()
				t.Fatal("Fetch succeeded, want an error")
			}
			if dl != nil {
				t.Errorf("Fetch returned a Download with its error")
			}
			if !strings.Contains(err.Error(), srv.URL+"/feed") {
				t.Errorf("error %q does not name the URL", err)
			}
			tc.check(t, err)
			if got := hits.Load(); got != tc.attempts {
				t.Errorf("server saw %d requests, want %d", got, tc.attempts)
			}
			assertEmptyDir(t, dir)
		})
	}
}

func wantIs(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("error %q is not %v", err, target)
		}
	}
}

func wantContains(s string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func wantTooLarge(limit int) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, fetch.ErrTooLarge) {
			t.Errorf("error %q is not ErrTooLarge", err)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(limit)) {
			t.Errorf("error %q does not name the limit %d", err, limit)
		}
	}
}

func wantStatus(code int) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var se *fetch.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("error %q is not a *StatusError", err)
		}
		if se.Code != code {
			t.Errorf("StatusError.Code = %d, want %d", se.Code, code)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(code)) {
			t.Errorf("error %q does not name the status", err)
		}
	}
}

func TestFetchRetrySucceeds(t *testing.T) {
	tests := []struct {
		name  string
		opts  fetch.Options
		first func(w http.ResponseWriter, r *http.Request)
	}{
		{"500 then 200", fetch.Options{}, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}},
		{"429 Retry-After 0 then 200", fetch.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		}},
		{"429 Retry-After 1 capped by MaxRetryAfter then 200", fetch.Options{MaxRetryAfter: 10 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}},
		{"503 Retry-After HTTP date then 200", fetch.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}},
		{"connection dropped then 200", fetch.Options{}, func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
		{"body cut short then 200", fetch.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, csvBody)
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) == 1 {
					tc.first(w, r)
					return
				}
				io.WriteString(w, csvBody)
			})
			var logs bytes.Buffer
			tc.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			c, dir := newClient(t, tc.opts)
			dl, err := fetchGuarded(t, t.Context(), c, collect.FetchRequest{URL: srv.URL})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got := readFile(t, dl.Path); got != csvBody {
				t.Errorf("body = %q", got)
			}
			dl.Close()
			if got := hits.Load(); got != 2 {
				t.Errorf("server saw %d requests, want 2", got)
			}
			if !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), srv.URL) {
				t.Errorf("retry not logged at Info with the URL: %s", logs.String())
			}
			assertEmptyDir(t, dir)
		})
	}
}

// TestFetchSecretsNotShown checks that header values and query values stay out of errors and logs.
func TestFetchSecretsNotShown(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	})
	var logs bytes.Buffer
	c, _ := newClient(t, fetch.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_, err := c.Fetch(t.Context(), collect.FetchRequest{
		URL:     srv.URL + "/api?format=csv&key=topsecret",
		Headers: map[string]string{"Authorization": "Bearer s3cret"},
	})
	if err == nil {
		t.Fatal("Fetch succeeded, want an error")
	}
	for _, s := range []string{err.Error(), logs.String()} {
		if strings.Contains(s, "topsecret") || strings.Contains(s, "s3cret") {
			t.Errorf("secret shown: %s", s)
		}
	}
	if !strings.Contains(err.Error(), srv.URL+"/api?format=REDACTED&key=REDACTED") {
		t.Errorf("error %q does not name the redacted URL", err)
	}
}

func TestFetchRedirectDropsHeadersAcrossHosts(t *testing.T) {
	var gotKey atomic.Value
	gotKey.Store("")
	other := serve(t, func(w http.ResponseWriter, r *http.Request) {
		gotKey.Store(r.Header.Get("X-Api-Key"))
		io.WriteString(w, csvBody)
	})
	origin := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/feed", http.StatusFound)
	})
	c, _ := newClient(t, fetch.Options{})
	dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: origin.URL, Headers: map[string]string{"X-Api-Key": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	if got := gotKey.Load().(string); got != "" {
		t.Errorf("the other host received X-Api-Key %q", got)
	}
}

func TestFetchNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	c, dir := newClient(t, fetch.Options{Timeout: 200 * time.Millisecond})
	_, err := fetchGuarded(t, t.Context(), c, collect.FetchRequest{URL: srv.URL})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	assertEmptyDir(t, dir)

	// FetchRequest.Timeout overrides the client's.
	c, _ = newClient(t, fetch.Options{})
	_, err = fetchGuarded(t, t.Context(), c, collect.FetchRequest{URL: srv.URL, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request timeout: error %v, want context.DeadlineExceeded", err)
	}
}

func TestFetchCancelledMidDownload(t *testing.T) {
	started := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(bytes.Repeat([]byte("x"), 4096))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	})
	c, dir := newClient(t, fetch.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	_, err := fetchGuarded(t, ctx, c, collect.FetchRequest{URL: srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	assertEmptyDir(t, dir)
}

func TestDownloadClose(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, csvBody) })
	c, dir := newClient(t, fetch.Options{})
	dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dl.Path) != dir {
		t.Errorf("Path %s is not in TempDir %s", dl.Path, dir)
	}
	if _, err := os.Stat(dl.Path); err != nil {
		t.Fatalf("downloaded file: %v", err)
	}
	if err := dl.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dl.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there after Close: %v", err)
	}
	if err := dl.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	assertEmptyDir(t, dir)
}

func TestFetchFileURL(t *testing.T) {
	src := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	plain := write("feed.csv", []byte(csvBody))
	gzipped := write("feed.csv.gz", gz(t, []byte(csvBody)))
	zipped := write("feed.zip", zipOf(t, zipEntry{"feed.csv", []byte(csvBody)}))
	large := write("large.csv", bytes.Repeat([]byte("x"), 2000))
	bomb := write("bomb.gz", gz(t, make([]byte, 64<<10)))

	tests := []struct {
		name    string
		url     string
		max     int64
		want    string
		wantErr string
	}{
		{name: "plain", url: plain, want: csvBody},
		{name: "localhost host", url: "file://localhost" + strings.TrimPrefix(plain, "file://"), want: csvBody},
		{name: "gzip", url: gzipped, want: csvBody},
		{name: "zip", url: zipped, want: csvBody},
		{name: "over the cap", url: large, max: 1000, wantErr: "1000 bytes"},
		{name: "over the cap once gunzipped", url: bomb, max: 1000, wantErr: "1000 bytes"},
		{name: "missing", url: "file://" + filepath.Join(src, "nope.csv"), wantErr: "no such file"},
		{name: "directory", url: "file://" + src, wantErr: "not a regular file"},
		{name: "relative", url: "file:feed.csv", wantErr: "absolute path"},
		{name: "remote host", url: "file://example.org/etc/passwd", wantErr: "remote host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, dir := newClient(t, fetch.Options{})
			dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: tc.url, MaxBytes: tc.max})
			if tc.wantErr != "" {
				if err == nil {
					dl.Close()
					t.Fatalf("Fetch succeeded, want an error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q does not contain %q", err, tc.wantErr)
				}
				assertEmptyDir(t, dir)
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got := readFile(t, dl.Path); got != tc.want {
				t.Errorf("body = %q, want %q", got, tc.want)
			}
			if dl.Bytes != int64(len(tc.want)) {
				t.Errorf("Bytes = %d", dl.Bytes)
			}
			dl.Close()
			assertEmptyDir(t, dir)
		})
	}
}

func TestFetchUnsupportedScheme(t *testing.T) {
	c, _ := newClient(t, fetch.Options{})
	for _, u := range []string{"ftp://example.org/feed", "gopher://x/", "http:///nohost", "://bad"} {
		t.Run(u, func(t *testing.T) {
			if dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: u}); err == nil {
				dl.Close()
				t.Errorf("Fetch(%q) succeeded, want an error", u)
			}
		})
	}
}

func TestFetchHTMLInsteadOfData(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "\n<!DOCTYPE html>\n<html><body>Please log in</body></html>")
	})
	c, _ := newClient(t, fetch.Options{})
	dl, err := c.Fetch(t.Context(), collect.FetchRequest{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	if dl.ContentType != "text/html; charset=utf-8" {
		t.Errorf("ContentType = %q", dl.ContentType)
	}
	if !fetch.LooksLikeHTML(dl.Path) {
		t.Error("LooksLikeHTML = false for a login page")
	}
}

func TestLooksLikeHTML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"doctype", "<!DOCTYPE html>\n<html>", true},
		{"doctype lower, no more", "<!doctype html", true},
		{"BOM and whitespace then html", "\xef\xbb\xbf \r\n\t<HTML lang=en>", true},
		{"head", "<head><title>503</title></head>", true},
		{"body", "<Body class=error>", true},
		{"csv", "ip,score\n192.0.2.1,5\n", false},
		{"csv mentioning html", "url\nhttp://x/<html>\n", false},
		{"xml", `<?xml version="1.0"?><feed/>`, false},
		{"json", `{"html": "<html>"}`, false},
		{"header is not head", "<header>", false},
		{"htmlx", "<htmlx>", false},
		{"empty", "", false},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, fmt.Sprint(i))
			if err := os.WriteFile(p, []byte(tc.in), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := fetch.LooksLikeHTML(p); got != tc.want {
				t.Errorf("LooksLikeHTML(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if fetch.LooksLikeHTML(filepath.Join(dir, "missing")) {
			t.Error("LooksLikeHTML = true for a missing file")
		}
	})
}
