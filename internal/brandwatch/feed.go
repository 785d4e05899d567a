package brandwatch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/collect/fetch"
)

// Feed formats a [FeedConfig] can name.
const (
	FormatList   = "list"   // one name per line; # comments; "domain,date" CSV keeps the first column
	FormatNDJSON = "ndjson" // one JSON object per line, the name under FeedConfig.Field
)

// DefaultFeedEvery is the polling interval of a feed that names none.
const DefaultFeedEvery = time.Hour

// feedBatch is how many names go to [Watcher.Check] at once.
const feedBatch = 1000

// maxFeedLine is the longest line a feed may have; longer lines are counted as bad and skipped.
const maxFeedLine = 64 << 10

// maxBadSamples is how many bad-line errors [FeedStats] keeps.
const maxBadSamples = 5

// FeedConfig is one source of newly observed or newly registered domain names.
type FeedConfig struct {
	Name   string        // for logs, evidence and the validator state; default the URL
	URL    string        // http or https
	Format string        // FormatList (default) or FormatNDJSON
	Field  string        // NDJSON key holding the name; default "domain"
	Every  time.Duration // polling interval for [FeedPoller.Run]; default [DefaultFeedEvery]
}

func (f FeedConfig) name() string {
	if f.Name != "" {
		return f.Name
	}
	return fetch.RedactURL(f.URL)
}

// FeedValidators are the HTTP cache validators of a feed's last complete download.
type FeedValidators struct {
	ETag         string
	LastModified string
}

// FeedState keeps each feed's validators between polls so an unchanged feed is skipped (304).
type FeedState interface {
	LoadFeed(ctx context.Context, feed string) (FeedValidators, error)
	SaveFeed(ctx context.Context, feed string, v FeedValidators) error
}

// MemoryFeedState is a [FeedState] in memory; the zero value is ready to use.
type MemoryFeedState struct {
	mu sync.Mutex
	m  map[string]FeedValidators
}

// LoadFeed returns the validators saved for feed, zero when none.
func (s *MemoryFeedState) LoadFeed(_ context.Context, feed string) (FeedValidators, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[feed], nil
}

// SaveFeed records the validators of feed.
func (s *MemoryFeedState) SaveFeed(_ context.Context, feed string, v FeedValidators) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]FeedValidators{}
	}
	s.m[feed] = v
	return nil
}

// FeedStats counts what one poll (or one [ParseFeed]) saw.
type FeedStats struct {
	Unchanged  bool     // the server answered 304 Not Modified
	Lines      int      // lines read, comments and blanks included
	Names      int      // names passed on
	Bad        int      // lines skipped as unparsable
	BadSamples []string // the first few bad-line errors ("line 12: ...")
	Lookalikes int      // names the watcher recorded as lookalikes
}

// FeedPoller downloads domain feeds and checks every name with a [Watcher]. Set the fields
// before the first Poll or Run and do not change them afterwards.
type FeedPoller struct {
	Feeds   []FeedConfig
	Watcher *Watcher
	// Client makes the requests; nil uses fetch.NewHTTPClient (or http.DefaultClient).
	Client *http.Client
	// UserAgent is sent with each request; default "omen (+https://github.com/omen-tip/omen)".
	UserAgent string
	// State keeps the validators; nil keeps them in memory for the poller's life.
	State  FeedState
	Logger *slog.Logger
	// Now stamps the observations; nil is time.Now.
	Now func() time.Time

	once sync.Once
}

func (p *FeedPoller) init() {
	p.once.Do(func() {
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
		if p.Client == nil {
			c, err := fetch.NewHTTPClient("", 0)
			if err != nil {
				c = http.DefaultClient
			}
			p.Client = c
		}
		if p.State == nil {
			p.State = &MemoryFeedState{}
		}
		if p.Now == nil {
			p.Now = time.Now
		}
		if p.UserAgent == "" {
			p.UserAgent = "omen (+https://github.com/omen-tip/omen)"
		}
	})
}

// Run polls every feed at once and then every Every until ctx ends; a failed poll is logged and
// retried at the next tick. It returns ctx's error.
func (p *FeedPoller) Run(ctx context.Context) error {
	p.init()
	var wg sync.WaitGroup
	for _, f := range p.Feeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			every := f.Every
			if every <= 0 {
				every = DefaultFeedEvery
			}
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				p.pollAndLog(ctx, f)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
	<-ctx.Done()
	return ctx.Err()
}

func (p *FeedPoller) pollAndLog(ctx context.Context, f FeedConfig) {
	st, err := p.Poll(ctx, f)
	if err != nil {
		if ctx.Err() == nil {
			p.Logger.Warn("domain feed: poll failed", "feed", f.name(), "err", err)
		}
		return
	}
	if st.Bad > 0 {
		p.Logger.Warn("domain feed: skipped bad lines", "feed", f.name(), "bad", st.Bad, "first", st.BadSamples)
	}
	p.Logger.Info("domain feed: polled", "feed", f.name(), "unchanged", st.Unchanged, "lines", st.Lines,
		"names", st.Names, "bad", st.Bad, "lookalikes", st.Lookalikes)
}

// Poll downloads feed f once (conditionally, with the saved validators), streams its names to the
// watcher in batches and saves the new validators once the whole body has been read.
func (p *FeedPoller) Poll(ctx context.Context, f FeedConfig) (FeedStats, error) {
	p.init()
	name := f.name()
	shown := fetch.RedactURL(f.URL)
	if p.Watcher == nil {
		return FeedStats{}, fmt.Errorf("domain feed %s: no watcher", name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return FeedStats{}, fmt.Errorf("domain feed %s: invalid URL %s", name, shown)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return FeedStats{}, fmt.Errorf("domain feed %s: URL %s: want http or https", name, shown)
	}
	prev, err := p.State.LoadFeed(ctx, name)
	if err != nil {
		return FeedStats{}, fmt.Errorf("domain feed %s: loading state: %w", name, err)
	}
	req.Header.Set("User-Agent", p.UserAgent)
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap() // drop the url.Error's unredacted URL
		}
		return FeedStats{}, fmt.Errorf("domain feed %s: fetching %s: %w", name, shown, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return FeedStats{Unchanged: true}, nil
	case http.StatusOK:
	default:
		return FeedStats{}, fmt.Errorf("domain feed %s: fetching %s: HTTP %s", name, shown, resp.Status)
	}
	now := p.Now().UTC()
	evidence := "newly observed in feed " + name
	var (
		batch []Observation
		found int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ls, err := p.Watcher.Check(ctx, batch)
		found += len(ls)
		batch = batch[:0]
		return err
	}
	st, err := ParseFeed(resp.Body, f.Format, f.Field, func(n string) error {
		batch = append(batch, Observation{Name: n, Evidence: evidence, Seen: now})
		if len(batch) >= feedBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	st.Lookalikes = found
	if err != nil {
		return st, fmt.Errorf("domain feed %s: %w", name, err)
	}
	v := FeedValidators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if err := p.State.SaveFeed(ctx, name, v); err != nil {
		return st, fmt.Errorf("domain feed %s: saving state: %w", name, err)
	}
	return st, nil
}

// ParseFeed reads a feed in format (FormatList when empty, or FormatNDJSON with the name under
// field, default "domain") line by line and calls fn with each name, lower-cased, without a
// trailing dot or a leading "*." or ".". Lines that hold no plausible name are counted in Bad and
// skipped; the error is a read error or fn's.
func ParseFeed(r io.Reader, format, field string, fn func(name string) error) (FeedStats, error) {
	var st FeedStats
	switch strings.ToLower(format) {
	case "", FormatList:
		format = FormatList
	case FormatNDJSON:
		format = FormatNDJSON
		if field == "" {
			field = "domain"
		}
	default:
		return st, fmt.Errorf("unknown feed format %q (want list or ndjson)", format)
	}
	bad := func(err error) {
		st.Bad++
		if len(st.BadSamples) < maxBadSamples {
			st.BadSamples = append(st.BadSamples, fmt.Sprintf("line %d: %v", st.Lines, err))
		}
	}
	br := bufio.NewReaderSize(r, maxFeedLine)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			st.Lines++
			bad(fmt.Errorf("longer than %d bytes", maxFeedLine))
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return st, nil
			}
			if err != nil {
				return st, fmt.Errorf("reading line %d: %w", st.Lines, err)
			}
			continue
		}
		if len(line) == 0 && err == io.EOF {
			return st, nil
		}
		if err != nil && err != io.EOF {
			return st, fmt.Errorf("reading line %d: %w", st.Lines+1, err)
		}
		st.Lines++
		var (
			name string
			perr error
			skip bool
		)
		if format == FormatList {
			name, skip, perr = listName(line)
		} else {
			name, skip, perr = ndjsonName(line, field)
		}
		switch {
		case perr != nil:
			bad(perr)
		case !skip:
			st.Names++
			if ferr := fn(name); ferr != nil {
				return st, ferr
			}
		}
		if err == io.EOF {
			return st, nil
		}
	}
}

// listName reads a list line: blank and # lines are skipped, a "domain,date" line keeps its
// first column.
func listName(line []byte) (string, bool, error) {
	s := strings.TrimSpace(string(bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))))
	if s == "" || s[0] == '#' {
		return "", true, nil
	}
	if i := strings.IndexAny(s, ",;\t"); i >= 0 {
		s = strings.TrimSpace(s[:i])
		s = strings.Trim(s, `"`)
	}
	n, err := cleanName(s)
	return n, false, err
}

// ndjsonName reads the name under field from an NDJSON line; blank lines are skipped.
func ndjsonName(line []byte, field string) (string, bool, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return "", true, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "", false, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := obj[field]
	if !ok {
		return "", false, fmt.Errorf("no %q key", field)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fmt.Errorf("%q is not a string", field)
	}
	n, err := cleanName(s)
	return n, false, err
}

// cleanName lower-cases a name and drops a trailing dot and a leading "*." or "."; it rejects
// what cannot be a domain name (spaces, URL or address punctuation, over-long names and labels).
func cleanName(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.TrimSuffix(n, ".")
	n = strings.TrimPrefix(n, "*.")
	n = strings.TrimPrefix(n, ".")
	if n == "" {
		return "", fmt.Errorf("empty name %q", trunc(s))
	}
	if !utf8.ValidString(n) {
		return "", fmt.Errorf("name %q is not UTF-8", trunc(s))
	}
	if len(n) > 253 {
		return "", fmt.Errorf("name %q is longer than 253 bytes", trunc(s))
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("name %q has an empty or over-long label", trunc(s))
		}
	}
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		case r >= 0x80 && r != utf8.RuneError && !isSpaceOrControl(r):
		default:
			return "", fmt.Errorf("name %q: character %q is not allowed in a domain", trunc(s), r)
		}
	}
	return n, nil
}

func isSpaceOrControl(r rune) bool {
	return r == 0x85 || r == 0xa0 || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff ||
		(r >= 0x2000 && r <= 0x200b) || r == 0x3000
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
