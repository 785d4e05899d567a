package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultDomainFeedEvery is the polling interval of a domain feed that names none.
const DefaultDomainFeedEvery = time.Hour

// minDomainFeedEvery keeps a misconfigured feed from hammering its server.
const minDomainFeedEvery = time.Minute

// DomainFeed is a source of newly observed or newly registered domain names that the brand
// monitor checks for lookalikes.
type DomainFeed struct {
	Name   string `yaml:"name"`   // for logs and evidence; default the URL
	URL    string `yaml:"url"`    // http or https
	Format string `yaml:"format"` // list (default: one name per line, # comments, CSV first column) or ndjson
	Field  string `yaml:"field"`  // ndjson: the key holding the name; default "domain"
	Every  string `yaml:"every"`  // polling interval ("1h", "1d"); default 1h, at least 1m
}

// Interval returns the polling interval: Every parsed, or [DefaultDomainFeedEvery] when it is
// empty or invalid (validateDomainFeeds reports an invalid one).
func (f DomainFeed) Interval() time.Duration {
	if strings.TrimSpace(f.Every) == "" {
		return DefaultDomainFeedEvery
	}
	d, err := ParseDuration(f.Every)
	if err != nil || d < minDomainFeedEvery {
		return DefaultDomainFeedEvery
	}
	return d
}

// FieldOrDefault returns the NDJSON key holding the name ("domain" when unset).
func (f DomainFeed) FieldOrDefault() string {
	if f.Field == "" {
		return "domain"
	}
	return f.Field
}

// validateDomainFeeds checks brand.domain_feeds: an http(s) URL, a known format, a parsable
// interval of at least a minute, and no name twice.
func validateDomainFeeds(fs []DomainFeed) error {
	var errs []error
	names := map[string]bool{}
	for i, f := range fs {
		at := fmt.Sprintf("brand.domain_feeds[%d]", i)
		if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s.url %q: want an http or https URL", at, redactedURL(f.URL)))
		}
		format := strings.ToLower(f.Format)
		switch format {
		case "", "list", "ndjson":
		default:
			errs = append(errs, fmt.Errorf("%s.format %q: want list or ndjson", at, f.Format))
		}
		if f.Field != "" && format != "ndjson" {
			errs = append(errs, fmt.Errorf("%s.field %q: only for format ndjson", at, f.Field))
		}
		if s := strings.TrimSpace(f.Every); s != "" {
			if d, err := ParseDuration(s); err != nil || d < minDomainFeedEvery {
				errs = append(errs, fmt.Errorf("%s.every %q: want a duration of at least 1m", at, f.Every))
			}
		}
		name := f.Name
		if name == "" {
			name = f.URL
		}
		if names[name] {
			errs = append(errs, fmt.Errorf("%s: feed %q listed twice", at, redactedURL(name)))
		}
		names[name] = true
	}
	return errors.Join(errs...)
}

// redactedURL cuts a URL at its query or fragment and drops user info (API keys and passwords
// travel there) for error messages.
func redactedURL(s string) string {
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
