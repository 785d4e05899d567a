package ctlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/collect/fetch"
)

// API names the read API of a log.
type API string

// The read APIs.
const (
	RFC6962 API = "rfc6962" // <url>/ct/v1/get-sth and get-entries
	Static  API = "static"  // <url>/checkpoint and <url>/tile/data/... (c2sp.org/static-ct-api)
)

// TileWidth is the number of entries in a full static-ct tile.
const TileWidth = 256

// Client reads CT logs over HTTP, retrying politely: 429 and 5xx answers and network errors are
// retried after the Retry-After the log asks for, or an exponential backoff with jitter.
type Client struct {
	HTTP       *http.Client // nil: a client from fetch.NewHTTPClient
	UserAgent  string       // default "omen-ctlog"
	Retries    int          // further attempts after the first; 0: 4, <0: none
	Backoff    time.Duration
	MaxBackoff time.Duration // also caps Retry-After; default 5 minutes
	MaxBytes   int64         // per response; default 64 MiB
	Logger     *slog.Logger

	once  sync.Once
	hc    *http.Client
	hcErr error
}

// HTTPError is a log's answer other than 200.
type HTTPError struct {
	URL    string
	Status int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status) }

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) httpClient() (*http.Client, error) {
	c.once.Do(func() {
		if c.hc = c.HTTP; c.hc == nil {
			c.hc, c.hcErr = fetch.NewHTTPClient("", 0)
		}
	})
	return c.hc, c.hcErr
}

// get fetches url and returns its body (gunzipped when the log compressed it), retrying as the
// Client says.
func (c *Client) get(ctx context.Context, url string) ([]byte, error) {
	hc, err := c.httpClient()
	if err != nil {
		return nil, err
	}
	retries := c.Retries
	switch {
	case retries == 0:
		retries = 4
	case retries < 0:
		retries = 0
	}
	base, limit := c.Backoff, c.MaxBackoff
	if base <= 0 {
		base = time.Second
	}
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	for attempt := 1; ; attempt++ {
		body, wait, err := c.try(ctx, hc, url)
		if err == nil {
			return body, nil
		}
		if wait < 0 || attempt > retries || ctx.Err() != nil {
			return nil, err
		}
		if wait == 0 {
			wait = fetch.Backoff(base, limit, attempt)
		}
		wait = min(wait, limit)
		c.logger().Debug("ct log request failed, retrying", "url", url, "err", err, "attempt", attempt, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// try does one request. wait is -1 when another attempt is pointless, the Retry-After when the
// log gave one, 0 for the default backoff.
func (c *Client) try(ctx context.Context, hc *http.Client, url string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, -1, fmt.Errorf("GET %s: %w", url, err)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = "omen-ctlog"
	}
	req.Header.Set("User-Agent", ua)
	resp, err := hc.Do(req)
	if err != nil {
		if fetch.PermanentNetError(err) {
			return nil, -1, err
		}
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		herr := &HTTPError{URL: url, Status: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout {
			return nil, max(fetch.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), 0), herr
		}
		return nil, -1, herr
	}
	limit := c.MaxBytes
	if limit <= 0 {
		limit = 64 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: reading the body: %w", url, err)
	}
	if int64(len(body)) > limit {
		return nil, -1, fmt.Errorf("GET %s: body larger than %d bytes", url, limit)
	}
	// Static-ct data tiles may be gzip-compressed without negotiation; net/http only undoes the
	// compression it asked for. No TileLeaf or JSON body starts with the gzip magic.
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, 0, fmt.Errorf("GET %s: gzip: %w", url, err)
		}
		if body, err = io.ReadAll(io.LimitReader(zr, limit+1)); err != nil {
			return nil, 0, fmt.Errorf("GET %s: gzip: %w", url, err)
		}
		if int64(len(body)) > limit {
			return nil, -1, fmt.Errorf("GET %s: body larger than %d bytes", url, limit)
		}
	}
	return body, 0, nil
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

// TreeSize returns the number of entries the log has published: the tree_size of get-sth, or the
// size line of the checkpoint. When the log's Key is set, the tree head's signature is verified
// first (ErrBadSignature when it does not verify); without it, it is not.
func (c *Client) TreeSize(ctx context.Context, log LogConfig) (int64, error) {
	base := strings.TrimRight(log.URL, "/")
	switch log.API {
	case Static:
		b, err := c.get(ctx, base+"/checkpoint")
		if err != nil {
			return 0, err
		}
		var cp Checkpoint
		if log.Key != nil {
			origin := log.Origin
			if origin == "" {
				origin, _ = strings.CutPrefix(strings.TrimPrefix(base, "https://"), "http://")
			}
			cp, err = VerifyCheckpoint(b, origin, log.Key)
		} else {
			cp, err = ParseCheckpoint(b)
		}
		if err != nil {
			return 0, fmt.Errorf("%s/checkpoint: %w", base, err)
		}
		return cp.Size, nil
	default:
		b, err := c.get(ctx, base+"/ct/v1/get-sth")
		if err != nil {
			return 0, err
		}
		sth, err := ParseSTH(b)
		if err != nil {
			return 0, fmt.Errorf("%s/ct/v1/get-sth: %w", base, err)
		}
		if log.Key != nil {
			if err := VerifySTH(log.Key, sth); err != nil {
				return 0, fmt.Errorf("%s/ct/v1/get-sth: %w", base, err)
			}
		}
		return sth.TreeSize, nil
	}
}

// Checkpoint is the body of a static-ct checkpoint (a signed note; signatures are not verified).
type Checkpoint struct {
	Origin   string
	Size     int64
	RootHash []byte
}

// ParseCheckpoint parses a checkpoint: origin, decimal tree size and base64 root hash lines, then
// optional extension lines, a blank line and signature lines.
func ParseCheckpoint(b []byte) (Checkpoint, error) {
	var cp Checkpoint
	text, _, ok := strings.Cut(string(b), "\n\n")
	if !ok {
		return cp, errors.New("checkpoint: no blank line before the signatures")
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 3 {
		return cp, fmt.Errorf("checkpoint: %d lines, want origin, size and root hash", len(lines))
	}
	cp.Origin = lines[0]
	if cp.Origin == "" {
		return cp, errors.New("checkpoint line 1: empty origin")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return cp, fmt.Errorf("checkpoint line 2: bad tree size %q", lines[1])
	}
	cp.Size = size
	if cp.RootHash, err = base64.StdEncoding.DecodeString(lines[2]); err != nil || len(cp.RootHash) != 32 {
		return cp, fmt.Errorf("checkpoint line 3: bad root hash %q", lines[2])
	}
	return cp, nil
}

// TilePath encodes a tile index as the tlog path: 1234067 → x001/x234/067.
func TilePath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// Raw is one log entry as read, before certificate decoding.
type Raw struct {
	Index int64
	Leaf  Leaf
	Err   error // the entry could not be parsed; Leaf is zero
}

// Entries reads entries from start on, at most limit of them (RFC 6962 only), and none at or past
// size (the tree size the caller knows) except when a static-ct partial tile is gone and the full
// tile, which the log has published since, is read instead. A log may answer with fewer than asked (RFC 6962 logs cap pages; a
// static-ct tile ends at a tile boundary); it returns at least one entry or an error. Entries that
// do not parse are returned with Err set, so the caller can skip them and still keep its place.
func (c *Client) Entries(ctx context.Context, log LogConfig, start, size int64, limit int) ([]Raw, error) {
	if start < 0 || start >= size {
		return nil, fmt.Errorf("entries from %d: outside the tree of size %d", start, size)
	}
	if log.API == Static {
		return c.tileEntries(ctx, log, start, size, limit)
	}
	if limit <= 0 {
		limit = 256
	}
	end := min(start+int64(limit), size) - 1
	url := fmt.Sprintf("%s/ct/v1/get-entries?start=%d&end=%d", strings.TrimRight(log.URL, "/"), start, end)
	b, err := c.get(ctx, url)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Entries []struct {
			LeafInput []byte `json:"leaf_input"`
			ExtraData []byte `json:"extra_data"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(resp.Entries) == 0 {
		return nil, fmt.Errorf("GET %s: no entries", url)
	}
	if int64(len(resp.Entries)) > end-start+1 {
		return nil, fmt.Errorf("GET %s: %d entries, more than the %d asked for", url, len(resp.Entries), end-start+1)
	}
	out := make([]Raw, len(resp.Entries))
	for i, e := range resp.Entries {
		out[i].Index = start + int64(i)
		l, err := ParseMerkleTreeLeaf(e.LeafInput, e.ExtraData)
		if err != nil {
			out[i].Err = fmt.Errorf("%s entry %d: %w", log.Name, out[i].Index, err)
			continue
		}
		out[i].Leaf = l
	}
	return out, nil
}

// tileEntries reads the data tile holding start: the full tile when the tree covers it, else the
// partial tile of the tree size; a partial tile that is gone (the log has filled it since) falls
// back to the full tile.
func (c *Client) tileEntries(ctx context.Context, log LogConfig, start, size int64, limit int) ([]Raw, error) {
	n := start / TileWidth
	width := min(size-n*TileWidth, TileWidth)
	base := strings.TrimRight(log.URL, "/") + "/tile/data/" + TilePath(n)
	url := base
	if width < TileWidth {
		url = fmt.Sprintf("%s.p/%d", base, width)
	}
	b, err := c.get(ctx, url)
	var he *HTTPError
	if width < TileWidth && errors.As(err, &he) && he.Status == http.StatusNotFound {
		url, width = base, TileWidth
		b, err = c.get(ctx, url)
	}
	if err != nil {
		return nil, err
	}
	leaves, err := ParseDataTile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if int64(len(leaves)) != width {
		return nil, fmt.Errorf("%s: %d entries, want %d", url, len(leaves), width)
	}
	leaves = leaves[start-n*TileWidth:]
	if limit > 0 && len(leaves) > limit {
		leaves = leaves[:limit]
	}
	out := make([]Raw, len(leaves))
	for i, l := range leaves {
		out[i] = Raw{Index: start + int64(i), Leaf: l}
	}
	return out, nil
}
