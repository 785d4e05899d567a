package taxii

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/collect/fetch"
)

// Client polls the objects endpoint of one TAXII 2.1 collection, page by page. Zero fields take
// the package defaults, except HTTP and ObjectsURL, which are required.
type Client struct {
	HTTP *http.Client
	// ObjectsURL is the collection's objects endpoint ({collection}/objects/), with any filters
	// of the configuration (match[type]=...) in its query.
	ObjectsURL string
	Headers    map[string]string // sent with every request (auth); never logged or put in errors
	UserAgent  string
	PageSize   int // limit=, when ObjectsURL does not set one
	MaxPages   int // pages per Poll; the rest waits for the next Poll
	// Attempts bounds the tries of one request for transient failures (429, 5xx, network errors);
	// RunRetries bounds the retries of one Poll, all requests together.
	Attempts   int
	RunRetries int
	// Backoff is the wait after the first failed attempt, doubled (plus up to 50% jitter) after
	// each further one. A Retry-After header replaces it, capped by MaxRetryAfter.
	Backoff       time.Duration
	MaxRetryAfter time.Duration
	Timeout       time.Duration // one request, its retries and waits included
	MaxBytes      int64         // one response body
	Logger        *slog.Logger
}

// Page is one envelope with what its response said about it.
type Page struct {
	Envelope
	Number int // 1-based, within one Poll
	// DateAddedFirst and DateAddedLast are the X-TAXII-Date-Added-First and -Last headers: the
	// oldest and newest date_added of the page's objects ("" when the server sent none).
	DateAddedFirst, DateAddedLast string
	Bytes                         int64 // body size
}

// PollResult says how far a Poll went.
type PollResult struct {
	// Cursor is the added_after to resume from: the newest X-TAXII-Date-Added-Last of the pages
	// handled, or the cursor Poll started from when none sent one. After an error it covers only
	// the pages handled before it.
	Cursor string
	Pages  int   // pages handled
	Bytes  int64 // bytes received, failed attempts excluded
	Capped bool  // MaxPages was reached with more to come
}

// StatusError is the error of a request that ended on an HTTP status other than 200 (after the
// retries, for 429 and 5xx). Callers branch on Code with [errors.As]. Its message leaves the URL
// to the error that wraps it.
type StatusError struct {
	URL   string // without query or user info
	Code  int
	Title string // the TAXII error message's title and description, if the server sent one
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP status %d %s", e.Code, http.StatusText(e.Code))
	if e.Title != "" {
		s += " (" + e.Title + ")"
	}
	return s
}

// Poll asks for the objects added after the cursor after ("" for all of them), hands each page
// to fn in order, and follows "next" while the server says there is more. A server that says
// more without a next token is asked again with added_after set to the newest
// X-TAXII-Date-Added-Last so far. fn's error, or a request's, stops the walk.
func (c *Client) Poll(ctx context.Context, after string, fn func(context.Context, *Page) error) (PollResult, error) {
	res := PollResult{Cursor: after}
	w := walk{c: c, retries: c.runRetries(), addedAfter: after}
	for n := 1; ; n++ {
		if n > c.maxPages() {
			c.logger().Warn("TAXII page cap reached; the rest comes next run", "url", c.shown(), "pages", c.maxPages())
			res.Capped = true
			return res, nil
		}
		p, err := w.get(ctx)
		if p != nil {
			res.Bytes += p.Bytes
		}
		if err != nil {
			return res, c.pageError(n, err)
		}
		p.Number = n
		if err := fn(ctx, p); err != nil {
			return res, c.pageError(n, err)
		}
		res.Pages++
		res.Cursor = c.newer(res.Cursor, p.DateAddedLast)
		if !p.More {
			return res, nil
		}
		if err := w.advance(p, res.Cursor); err != nil {
			if errors.Is(err, errStuck) {
				c.logger().Warn("TAXII server says more but gives no way on; stopping", "url", c.shown(), "page", n)
				return res, nil
			}
			return res, c.pageError(n, err)
		}
	}
}

// pageError is the error of a Poll that failed on page n: it names the collection (never a
// credential) and the page.
func (c *Client) pageError(n int, err error) error {
	return fmt.Errorf("taxii collection %s: page %d: %w", c.shown(), n, err)
}

var errStuck = errors.New("more is true but neither next nor X-TAXII-Date-Added-Last says where to go on")

// walk is the position of one Poll.
type walk struct {
	c          *Client
	retries    int // left for this Poll
	addedAfter string
	next       string
}

// advance moves w past page p; cursor is the newest date_added seen so far.
func (w *walk) advance(p *Page, cursor string) error {
	switch {
	case p.Next != "":
		if p.Next == w.next {
			return fmt.Errorf("the server sent the same next token %q twice", truncate(p.Next, 40))
		}
		w.next = p.Next
	case cursor != w.addedAfter:
		w.addedAfter, w.next = cursor, ""
	default:
		return errStuck
	}
	return nil
}

// pageURL is the request for the current position.
func (w *walk) pageURL() (string, error) {
	u, err := url.Parse(w.c.ObjectsURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Get("limit") == "" {
		q.Set("limit", strconv.Itoa(w.c.pageSize()))
	}
	// Every version, not the TAXII default of the last one only: a version superseded between two
	// polls is still history the importer resolves by modified. The configured URL may say otherwise.
	if !q.Has("match[version]") {
		q.Set("match[version]", "all")
	}
	if w.addedAfter != "" {
		q.Set("added_after", w.addedAfter)
	}
	if w.next != "" {
		q.Set("next", w.next)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// get fetches the page at w's position, retrying transient failures within the request's and
// the Poll's bounds.
func (w *walk) get(ctx context.Context) (*Page, error) {
	c := w.c
	u, err := w.pageURL()
	if err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	for attempt := 1; ; attempt++ {
		p, a := c.attempt(ctx, u)
		if a.err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, timeoutError(parent, ctx, c.timeout(), a.err)
		}
		if !a.retry {
			return nil, a.err
		}
		if attempt >= c.attempts() || w.retries <= 0 {
			return nil, fmt.Errorf("%w (gave up after %d attempts)", a.err, attempt)
		}
		w.retries--
		wait := c.backoff(attempt)
		if a.retryAfter >= 0 {
			wait = min(a.retryAfter, c.maxRetryAfter())
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("%w (not retrying: the next attempt, in %v, would be past the timeout)", a.err, wait.Round(time.Millisecond))
		}
		c.logger().Info("TAXII request failed, retrying", "url", c.shown(), "attempt", attempt, "wait", wait, "err", a.err)
		if err := sleep(ctx, wait); err != nil {
			return nil, timeoutError(parent, ctx, c.timeout(), a.err)
		}
	}
}

// outcome is how one attempt failed.
type outcome struct {
	err        error
	retry      bool
	retryAfter time.Duration // < 0: none given
}

func fail(err error) outcome      { return outcome{err: err, retryAfter: -1} }
func transient(err error) outcome { return outcome{err: err, retry: true, retryAfter: -1} }

// attempt makes one request and reads and parses its body.
func (c *Client) attempt(ctx context.Context, u string) (*Page, outcome) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fail(err)
	}
	req.Header.Set("Accept", MediaType)
	req.Header.Set("User-Agent", c.userAgent())
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error // it prints the whole URL: keep only its cause
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if fetch.PermanentNetError(err) {
			return nil, fail(err)
		}
		return nil, transient(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusOutcome(resp)
	}
	if err := checkContentType(resp.Header.Get("Content-Type")); err != nil {
		return nil, fail(fmt.Errorf("rejected the input: %w", err))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes()+1))
	p := &Page{Bytes: int64(len(body))}
	switch {
	case err != nil:
		// The transfer broke (reset, or shorter than its Content-Length): worth another try.
		return p, transient(fmt.Errorf("reading the body: %w", err))
	case int64(len(body)) > c.maxBytes():
		return p, fail(fmt.Errorf("body over the size limit of %d bytes", c.maxBytes()))
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		return p, fail(fmt.Errorf("rejected the input: %w", err))
	}
	p.Envelope = *env
	p.DateAddedFirst = strings.TrimSpace(resp.Header.Get("X-TAXII-Date-Added-First"))
	p.DateAddedLast = strings.TrimSpace(resp.Header.Get("X-TAXII-Date-Added-Last"))
	return p, outcome{}
}

// statusOutcome is the outcome of a response other than 200: 429 and 5xx are retried.
func (c *Client) statusOutcome(resp *http.Response) outcome {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	out := fail(&StatusError{URL: c.shown(), Code: resp.StatusCode, Title: errorTitle(b)})
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		out.retry = true
		out.retryAfter = fetch.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return out
}

// newer returns whichever of the cursor and a page's X-TAXII-Date-Added-Last is later; an
// unparsable header is ignored.
func (c *Client) newer(cursor, last string) string {
	if last == "" {
		return cursor
	}
	t, err := time.Parse(time.RFC3339Nano, last)
	if err != nil {
		c.logger().Warn("ignoring an unparsable X-TAXII-Date-Added-Last", "url", c.shown(), "value", truncate(last, 40))
		return cursor
	}
	if cursor == "" {
		return last
	}
	if ct, err := time.Parse(time.RFC3339Nano, cursor); err == nil && !t.After(ct) {
		return cursor
	}
	return last
}

// timeoutError is [ctxError], saying so when the request's own timeout (not the run's context)
// ended it.
func timeoutError(parent, ctx context.Context, timeout time.Duration, last error) error {
	err := ctxError(ctx, last)
	if parent.Err() == nil {
		return fmt.Errorf("no complete answer within the timeout of %v: %w", timeout, err)
	}
	return err
}

// ctxError is the error of a request ended by its context: it wraps the context's error, so
// errors.Is(err, context.DeadlineExceeded) holds, and the last attempt's error.
func ctxError(ctx context.Context, last error) error {
	cerr := ctx.Err()
	if last == nil || errors.Is(last, cerr) {
		return cerr
	}
	return fmt.Errorf("%w (last error: %w)", cerr, last)
}

// backoff is the wait after failed attempt n (1-based), at most MaxRetryAfter before the jitter.
func (c *Client) backoff(n int) time.Duration {
	return fetch.Backoff(c.backoffBase(), c.maxRetryAfter(), n)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// shown is the objects URL for logs and errors: no user info, query or fragment (an API key may
// travel in the query; the paging parameters would only add noise).
func (c *Client) shown() string {
	u, err := url.Parse(c.ObjectsURL)
	if err != nil {
		if i := strings.IndexAny(c.ObjectsURL, "?#@"); i >= 0 {
			return c.ObjectsURL[:i]
		}
		return c.ObjectsURL
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Accessors applying the defaults to zero fields.

func (c *Client) pageSize() int              { return orDefault(c.PageSize, DefaultPageSize) }
func (c *Client) maxPages() int              { return orDefault(c.MaxPages, DefaultMaxPages) }
func (c *Client) attempts() int              { return orDefault(c.Attempts, DefaultAttempts) }
func (c *Client) runRetries() int            { return orDefault(c.RunRetries, DefaultRunRetries) }
func (c *Client) backoffBase() time.Duration { return orDefault(c.Backoff, DefaultBackoff) }
func (c *Client) timeout() time.Duration     { return orDefault(c.Timeout, DefaultTimeout) }
func (c *Client) maxBytes() int64            { return orDefault(c.MaxBytes, DefaultMaxBytes) }

func (c *Client) maxRetryAfter() time.Duration {
	return orDefault(c.MaxRetryAfter, DefaultMaxRetryAfter)
}

func (c *Client) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return DefaultUserAgent
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
