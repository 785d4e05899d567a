// Package fetch is the [collect.Fetcher] every collector downloads through: http, https and file
// URLs, conditional GET, gzip and single-file zip bodies, size caps that hold after decompression,
// retries with backoff for transient failures, and per-client HTTP or SOCKS5 proxies.
//
// A body is streamed to a temporary file, never held in memory. Header values (auth secrets) are
// never logged or put in errors, and URLs in logs and errors carry query parameter names only.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/collect"
)

// Defaults applied by [New] to zero [Options] fields.
const (
	DefaultConnectTimeout = 15 * time.Second
	DefaultTimeout        = 5 * time.Minute
	DefaultMaxBytes       = 512 << 20
	DefaultRetries        = 3
	DefaultBackoff        = 2 * time.Second
	DefaultMaxRetryAfter  = 5 * time.Minute

	maxBackoff   = 5 * time.Minute // cap on one exponential backoff step
	maxRedirects = 10
)

// Options configure a [Client]. Zero fields take the defaults above.
type Options struct {
	// UserAgent is sent with every request; default "omen/<Version> (+https://github.com/omen-tip/omen)".
	UserAgent string
	Version   string // for the default UserAgent; "dev" when empty
	// Proxy is "" (direct, or the HTTP_PROXY/HTTPS_PROXY/NO_PROXY environment), or an
	// http://, https://, socks5:// or socks5h:// URL. Both SOCKS5 schemes resolve host names on the
	// proxy (what Tor needs); user:password in the URL authenticates to the proxy.
	Proxy          string
	ConnectTimeout time.Duration // TCP connect and TLS handshake, per attempt
	// Timeout bounds a whole Fetch: every attempt, the waits between them and the body transfer.
	// FetchRequest.Timeout overrides it.
	Timeout time.Duration
	// MaxBytes caps the body as transferred and again after decompression or extraction.
	// FetchRequest.MaxBytes overrides it.
	MaxBytes int64
	Retries  int // attempts in total for transient failures (network errors, 5xx, 429)
	// Backoff is the wait after the first failed attempt, doubled (plus up to 50% jitter) after each
	// further one.
	Backoff time.Duration
	// MaxRetryAfter caps the wait a Retry-After header asks for.
	MaxRetryAfter time.Duration
	TempDir       string // for downloads; os.TempDir() when empty
	Logger        *slog.Logger
}

// Client is a [collect.Fetcher]. It is safe for concurrent use.
type Client struct {
	opts Options
	hc   *http.Client
	log  *slog.Logger
}

// StatusError is the error of a fetch that ended on an HTTP status other than 2xx or 304 (after
// the retries, for 429 and 5xx). Callers branch on Code with [errors.As].
type StatusError struct {
	URL  string // without query parameter values or user info
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("fetching %s: HTTP status %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// ErrTooLarge is wrapped by the error of a fetch whose body, as transferred or decompressed, is
// over the size limit; the message names the limit.
var ErrTooLarge = errors.New("body over the size limit")

// New validates o, applies the defaults and returns a Client. It does no I/O.
func New(o Options) (*Client, error) {
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.UserAgent == "" {
		o.UserAgent = "omen/" + o.Version + " (+https://github.com/omen-tip/omen)"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}

	hc, err := NewHTTPClient(o.Proxy, o.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	// We ask for gzip ourselves and decode it in Fetch, so the size cap sees both the transferred
	// and the decoded bytes.
	hc.Transport.(*http.Transport).DisableCompression = true
	return &Client{opts: o, log: o.Logger, hc: hc}, nil
}

// UserAgent is the User-Agent header the client sends; collectors that make requests of their own
// send it too.
func (c *Client) UserAgent() string { return c.opts.UserAgent }

// Fetch downloads req.URL to a temporary file (see the package documentation). The returned
// Download must be closed; on error no file is left behind.
func (c *Client) Fetch(ctx context.Context, req collect.FetchRequest) (*collect.Download, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: invalid URL", RedactURL(req.URL))
	}
	shown := redact(u)
	limit := c.opts.MaxBytes
	if req.MaxBytes > 0 {
		limit = req.MaxBytes
	}
	timeout := c.opts.Timeout
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	switch u.Scheme {
	case "file":
		return c.fetchFile(ctx, u, shown, limit)
	case "http", "https":
	default:
		return nil, fmt.Errorf("fetching %s: unsupported URL scheme %q", shown, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("fetching %s: no host", shown)
	}
	for k, v := range req.Headers {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("fetching %s: invalid header name %q", shown, k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("fetching %s: header %s has an invalid value", shown, k) // never the value
		}
	}

	for attempt := 1; ; attempt++ {
		dl, a := c.attempt(ctx, u, shown, req, limit)
		if a.err == nil {
			return dl, nil
		}
		if ctx.Err() != nil {
			return nil, ctxError(ctx, shown, a.err)
		}
		if !a.retry {
			return nil, a.err
		}
		if attempt >= c.opts.Retries {
			return nil, fmt.Errorf("%w (gave up after %d attempts)", a.err, attempt)
		}
		wait := c.backoff(attempt)
		if a.retryAfter >= 0 {
			wait = min(a.retryAfter, c.opts.MaxRetryAfter)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("%w (not retrying: the next attempt, in %v, would be past the deadline)", a.err, wait.Round(time.Millisecond))
		}
		c.log.Info("fetch failed, retrying", "url", shown, "attempt", attempt, "of", c.opts.Retries,
			"wait", wait, "err", a.err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctxError(ctx, shown, a.err)
		case <-t.C:
		}
	}
}

// ctxError is the error of a fetch ended by its context: it wraps the context's error, so
// errors.Is(err, context.DeadlineExceeded) holds, and the last attempt's error.
func ctxError(ctx context.Context, shown string, last error) error {
	cerr := ctx.Err()
	if last == nil || errors.Is(last, cerr) {
		return fmt.Errorf("fetching %s: %w", shown, cerr)
	}
	return fmt.Errorf("fetching %s: %w (last error: %w)", shown, cerr, last)
}

// outcome is how one attempt failed.
type outcome struct {
	err        error
	retry      bool
	retryAfter time.Duration // < 0: none given
}

func fail(err error) outcome { return outcome{err: err, retryAfter: -1} }

func transient(err error) outcome { return outcome{err: err, retry: true, retryAfter: -1} }

func (c *Client) attempt(ctx context.Context, u *url.URL, shown string, req collect.FetchRequest, limit int64) (*collect.Download, outcome) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fail(fmt.Errorf("fetching %s: %w", shown, err))
	}
	hreq.Header.Set("User-Agent", c.opts.UserAgent)
	hreq.Header.Set("Accept-Encoding", "gzip")
	if req.ETag != "" {
		hreq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		hreq.Header.Set("If-Modified-Since", req.LastModified)
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		// *url.Error prints the whole URL, query included: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		err = fmt.Errorf("fetching %s: %w", shown, err)
		if PermanentNetError(err) {
			return nil, fail(err)
		}
		return nil, transient(err)
	}
	defer resp.Body.Close()

	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && (req.ETag != "" || req.LastModified != ""):
		dl := collect.NewDownload("", nil)
		dl.NotModified = true
		dl.ETag = firstNonEmpty(resp.Header.Get("ETag"), req.ETag)
		dl.LastModified = firstNonEmpty(resp.Header.Get("Last-Modified"), req.LastModified)
		return dl, outcome{}
	case code >= 200 && code < 300:
	default:
		// Drain a little so the connection can be reused; the body (often HTML) is not shown.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		out := fail(&StatusError{URL: shown, Code: code})
		if code == http.StatusTooManyRequests || code >= 500 {
			out.retry = true
			out.retryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return nil, out
	}

	if resp.ContentLength > limit {
		return nil, fail(tooLarge(shown, limit))
	}
	body := &netReader{r: resp.Body, limit: limit}
	var src io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		src = &lazyGzip{r: body}
	default:
		return nil, fail(fmt.Errorf("fetching %s: unsupported Content-Encoding %q", shown, enc))
	}
	path, n, err := c.store(ctx, src, limit)
	if err != nil {
		switch {
		case errors.Is(err, errOverLimit):
			return nil, fail(tooLarge(shown, limit))
		case body.err != nil:
			// The transfer broke (reset, or shorter than its Content-Length): worth another try.
			return nil, transient(fmt.Errorf("fetching %s: reading the body: %w", shown, err))
		default:
			return nil, fail(fmt.Errorf("fetching %s: %w", shown, err))
		}
	}
	dl := newDownload(path)
	dl.ETag = resp.Header.Get("ETag")
	dl.LastModified = resp.Header.Get("Last-Modified")
	dl.ContentType = resp.Header.Get("Content-Type")
	dl.Bytes = n
	return dl, outcome{}
}

// fetchFile reads a file:// URL (absolute path, empty or "localhost" host) with the same size cap
// and decompression as a download. It has no conditional logic and no retries.
func (c *Client) fetchFile(ctx context.Context, u *url.URL, shown string, limit int64) (*collect.Download, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("fetching %s: file URL with a remote host", shown)
	}
	if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
		return nil, fmt.Errorf("fetching %s: file URL needs an absolute path (file:///path)", shown)
	}
	f, err := os.Open(u.Path)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", shown, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", shown, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("fetching %s: not a regular file", shown)
	}
	if fi.Size() > limit {
		return nil, tooLarge(shown, limit)
	}
	path, n, err := c.store(ctx, &netReader{r: f, limit: limit}, limit)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx, shown, err)
		}
		if errors.Is(err, errOverLimit) {
			return nil, tooLarge(shown, limit)
		}
		return nil, fmt.Errorf("fetching %s: %w", shown, err)
	}
	dl := newDownload(path)
	dl.Bytes = n
	return dl, nil
}

func newDownload(path string) *collect.Download {
	return collect.NewDownload(path, func() error {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
}

func tooLarge(shown string, limit int64) error {
	return fmt.Errorf("fetching %s: %w of %d bytes", shown, ErrTooLarge, limit)
}

// backoff is the wait after failed attempt n (1-based).
func (c *Client) backoff(n int) time.Duration { return Backoff(c.opts.Backoff, maxBackoff, n) }

// redact returns u for logs and errors: no user info, no fragment, and query parameter names
// without their values (API keys travel in queries).
func redact(u *url.URL) string {
	r := *u
	r.User = nil
	r.Fragment, r.RawFragment = "", ""
	if r.RawQuery != "" {
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			r.RawQuery = "REDACTED"
		} else {
			var b strings.Builder
			for _, k := range slices.Sorted(maps.Keys(q)) {
				if b.Len() > 0 {
					b.WriteByte('&')
				}
				b.WriteString(url.QueryEscape(k))
				b.WriteString("=REDACTED")
			}
			r.RawQuery = b.String()
		}
	}
	return r.String()
}

// RedactURL returns a URL for logs and errors, parsable or not: cut at its query or fragment
// (API keys travel in queries), without user info.
func RedactURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			s = s[:j+3] + s[i+1:]
		}
	}
	return s
}

// validHeaderName reports whether k is an RFC 9110 token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Interface guards.
var _ collect.Fetcher = (*Client)(nil)
