package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// BrandMonitor configures the lookalike-domain monitor: the Certificate Transparency logs it
// follows and the partner domains that never count as lookalikes. Brands come from the asset
// inventory (kinds brand and domain).
type BrandMonitor struct {
	CTLogs []CTLog `yaml:"ct_logs"`
	// CTLogList is a CT log list in Chrome's version 3 format (an https URL or a file; "chrome"
	// for Chrome's own list): its usable logs are followed too, from their current size, with
	// every tree head verified with the log's key. Read at start and once a day.
	CTLogList string `yaml:"ct_log_list"`
	// Allow lists known-good partner domains (and their subdomains) that never match a brand.
	Allow []string `yaml:"allow"`
	// DomainFeeds are lists of newly observed or newly registered domains checked against the
	// brands on a schedule.
	DomainFeeds []DomainFeed `yaml:"domain_feeds"`
	// Liveness probes each lookalike (DNS A/MX, its web page and whether it shows the brand) to
	// set how visible the abuse is. Off by default: it sends traffic to the lookalike's hosts.
	Liveness bool `yaml:"liveness"`
}

// CTLog is one Certificate Transparency log.
type CTLog struct {
	Name string `yaml:"name"` // the cursor's key; default the URL
	URL  string `yaml:"url"`  // RFC 6962: the prefix before /ct/v1; static: the monitoring prefix
	API  string `yaml:"api"`  // rfc6962 (default) or static
	// Start is where to begin without a saved cursor: "now" (default: new entries only) or an
	// entry index.
	Start string `yaml:"start"`
}

func (b BrandMonitor) validate() error {
	var errs []error
	names := map[string]bool{}
	for i, l := range b.CTLogs {
		at := fmt.Sprintf("brand.ct_logs[%d]", i)
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s.url %q: want an http or https URL", at, l.URL))
		}
		switch strings.ToLower(l.API) {
		case "", "rfc6962", "static":
		default:
			errs = append(errs, fmt.Errorf("%s.api %q: want rfc6962 or static", at, l.API))
		}
		if s := l.Start; s != "" && s != "now" {
			if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s.start %q: want now or an entry index", at, s))
			}
		}
		name := l.Name
		if name == "" {
			name = l.URL
		}
		if names[name] {
			errs = append(errs, fmt.Errorf("%s: log %q listed twice", at, name))
		}
		names[name] = true
	}
	if l := b.CTLogList; l != "" && l != "chrome" && strings.Contains(l, "://") {
		if u, err := url.Parse(l); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("brand.ct_log_list %q: want chrome, an http(s) URL or a file", l))
		}
	}
	for i, d := range b.Allow {
		if strings.TrimSpace(d) == "" || strings.ContainsAny(d, "/ ") {
			errs = append(errs, fmt.Errorf("brand.allow[%d] %q: want a domain", i, d))
		}
	}
	if err := validateDomainFeeds(b.DomainFeeds); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
