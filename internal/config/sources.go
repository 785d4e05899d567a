package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Duration is a time.Duration that YAML writes as "90s", "6h" or "1d".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Source is one entry of the configuration's `sources:` list: where a feed is, how often to fetch it,
// how much to trust it, and kind-specific settings. Fields a kind does not use must stay unset (the
// kind's factory rejects them).
type Source struct {
	Name        string            `yaml:"name"`
	Kind        string            `yaml:"kind"` // list, misp, attack, kev, epss, otx, ...
	URL         string            `yaml:"url"`  // http, https or file
	Interval    Duration          `yaml:"interval"`
	Reliability intel.Reliability `yaml:"reliability"`
	Confidence  int               `yaml:"confidence"`
	TLP         intel.TLP         `yaml:"tlp"`
	Enabled     *bool             `yaml:"enabled"` // true unless set to false

	// List settings (kind list).
	Format     string   `yaml:"format"`    // auto, text, csv, json, ndjson, freetext
	Type       string   `yaml:"type"`      // force every value to this observable type
	Column     string   `yaml:"column"`    // CSV column (name or 1-based number) or JSON field path of the value
	Delimiter  string   `yaml:"delimiter"` // CSV delimiter, one character
	Comment    []string `yaml:"comment"`   // comment prefixes
	Tags       []string `yaml:"tags"`      // added to every report
	ThreatType string   `yaml:"threat_type"`

	// Fetching.
	AuthHeader string   `yaml:"auth_header"` // header carrying a secret, e.g. X-OTX-API-KEY
	AuthEnv    string   `yaml:"auth_env"`    // environment variable holding the secret (never in the file)
	Timeout    Duration `yaml:"timeout"`
	MaxBytes   int64    `yaml:"max_bytes"`
	Proxy      string   `yaml:"proxy"` // http://, https:// or socks5:// proxy for this source

	// Safety: a run is rejected as a whole when the input has a larger share of bad lines than
	// MaxRejected (default 0.1), or has shrunk by more than MaxShrink (default 0.5) against the last
	// good run.
	MaxRejected *float64 `yaml:"max_rejected"`
	MaxShrink   *float64 `yaml:"max_shrink"`
}

// Defaults of a source entry.
const (
	DefaultInterval    = Duration(6 * time.Hour)
	MinInterval        = Duration(time.Minute)
	DefaultMaxRejected = 0.1
	DefaultMaxShrink   = 0.5
)

// IsEnabled reports whether the source is to be collected.
func (s Source) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// RejectShare returns the share of bad lines above which a run is rejected.
func (s Source) RejectShare() float64 {
	if s.MaxRejected != nil {
		return *s.MaxRejected
	}
	return DefaultMaxRejected
}

// ShrinkShare returns the share by which a list may shrink before a run is rejected.
func (s Source) ShrinkShare() float64 {
	if s.MaxShrink != nil {
		return *s.MaxShrink
	}
	return DefaultMaxShrink
}

// applyDefaults fills what a source entry may leave out.
func (s *Source) applyDefaults() {
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if !s.Reliability.Valid() {
		s.Reliability = intel.ReliabilityF
	}
	if s.Confidence == 0 {
		s.Confidence = 50
	}
}

// validate checks what does not depend on the kind.
func (s Source) validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("a source needs a name"))
	}
	if s.Kind == "" {
		errs = append(errs, errors.New("a source needs a kind"))
	}
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		errs = append(errs, errors.New("a source needs a url"))
	case err != nil:
		errs = append(errs, fmt.Errorf("url %q: %w", s.URL, err))
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file":
		errs = append(errs, fmt.Errorf("url %q: want an http, https or file URL", s.URL))
	}
	if s.Interval < MinInterval {
		errs = append(errs, fmt.Errorf("interval %s: at least %s", time.Duration(s.Interval), time.Duration(MinInterval)))
	}
	if s.Confidence < 0 || s.Confidence > 100 {
		errs = append(errs, fmt.Errorf("confidence %d: want 0..100", s.Confidence))
	}
	for name, p := range map[string]*float64{"max_rejected": s.MaxRejected, "max_shrink": s.MaxShrink} {
		if p != nil && (*p < 0 || *p > 1) {
			errs = append(errs, fmt.Errorf("%s %g: want 0..1", name, *p))
		}
	}
	if (s.AuthHeader == "") != (s.AuthEnv == "") {
		errs = append(errs, errors.New("auth_header and auth_env go together"))
	}
	if s.Proxy != "" {
		if p, err := url.Parse(s.Proxy); err != nil || (p.Scheme != "http" && p.Scheme != "https" && p.Scheme != "socks5" && p.Scheme != "socks5h") {
			errs = append(errs, fmt.Errorf("proxy %q: want an http, https or socks5 URL", s.Proxy))
		}
	}
	if len([]rune(s.Delimiter)) > 1 {
		errs = append(errs, fmt.Errorf("delimiter %q: one character", s.Delimiter))
	}
	if err := errors.Join(errs...); err != nil {
		name := s.Name
		if name == "" {
			name = "(unnamed)"
		}
		return fmt.Errorf("source %s: %w", name, err)
	}
	return nil
}

// validateSources checks every entry and that names are unique.
func validateSources(srcs []Source) error {
	var errs []error
	seen := map[string]bool{}
	for i := range srcs {
		if err := srcs[i].validate(); err != nil {
			errs = append(errs, fmt.Errorf("sources[%d]: %w", i, err))
		}
		if n := strings.ToLower(srcs[i].Name); n != "" {
			if seen[n] {
				errs = append(errs, fmt.Errorf("sources[%d]: source name %q used twice", i, srcs[i].Name))
			}
			seen[n] = true
		}
	}
	return errors.Join(errs...)
}

func ptr[T any](v T) *T { return &v }

// DefaultSources are the real public feeds omen collects when the configuration lists no sources
// (docs/feeds.md; URLs and formats checked against the providers' documentation and MISP's and
// IntelMQ's feed lists in November 2026: OpenPhish moved to GitHub, CERT.PL to its v2 list). With
// no network, their runs fail and only mark the sources degraded.
func DefaultSources() []Source {
	clear, h := intel.TLPClear, Duration(time.Hour)
	return []Source{
		{Name: "feodotracker", Kind: "list", URL: "https://feodotracker.abuse.ch/downloads/ipblocklist.csv", Interval: h,
			Reliability: 'B', Confidence: 90, TLP: clear, Format: "csv", ThreatType: "c2", Tags: []string{"botnet-c2"},
			// A few dozen live C2 servers: halving in a day is normal, a drop to a tenth is not.
			MaxShrink: ptr(0.9)},
		{Name: "urlhaus", Kind: "list", URL: "https://urlhaus.abuse.ch/downloads/csv_recent/", Interval: h,
			Reliability: 'B', Confidence: 80, TLP: clear, Format: "csv", ThreatType: "malware-download"},
		{Name: "threatfox", Kind: "list", URL: "https://threatfox.abuse.ch/export/csv/recent/", Interval: h,
			Reliability: 'B', Confidence: 75, TLP: clear, Format: "csv"},
		{Name: "sslbl", Kind: "list", URL: "https://sslbl.abuse.ch/blacklist/sslblacklist.csv", Interval: 6 * h,
			Reliability: 'B', Confidence: 80, TLP: clear, Format: "csv", Column: "SHA1", Type: "sha1", ThreatType: "c2"},
		{Name: "spamhaus-drop-v4", Kind: "list", URL: "https://www.spamhaus.org/drop/drop_v4.json", Interval: 12 * h,
			Reliability: 'A', Confidence: 90, TLP: clear, Format: "ndjson", ThreatType: "hijacked-network"},
		{Name: "spamhaus-drop-v6", Kind: "list", URL: "https://www.spamhaus.org/drop/drop_v6.json", Interval: 12 * h,
			Reliability: 'A', Confidence: 90, TLP: clear, Format: "ndjson", ThreatType: "hijacked-network"},
		{Name: "tor-exit-nodes", Kind: "list", URL: "https://check.torproject.org/torbulkexitlist", Interval: h,
			Reliability: 'A', Confidence: 30, TLP: clear, Format: "text", ThreatType: "anonymizer", Tags: []string{"tor-exit"}},
		{Name: "openphish", Kind: "list", URL: "https://raw.githubusercontent.com/openphish/public_feed/refs/heads/main/feed.txt", Interval: h,
			Reliability: 'B', Confidence: 80, TLP: clear, Format: "text", Type: "url", ThreatType: "phishing"},
		{Name: "blocklist-de", Kind: "list", URL: "https://lists.blocklist.de/lists/all.txt", Interval: 3 * h,
			Reliability: 'C', Confidence: 60, TLP: clear, Format: "text", ThreatType: "scanner"},
		{Name: "et-compromised", Kind: "list", URL: "https://rules.emergingthreats.net/blockrules/compromised-ips.txt", Interval: 6 * h,
			Reliability: 'B', Confidence: 70, TLP: clear, Format: "text", ThreatType: "compromised"},
		{Name: "cins-army", Kind: "list", URL: "https://cinsscore.com/list/ci-badguys.txt", Interval: 6 * h,
			Reliability: 'C', Confidence: 60, TLP: clear, Format: "text", ThreatType: "scanner"},
		{Name: "ipsum-level3", Kind: "list", URL: "https://raw.githubusercontent.com/stamparm/ipsum/master/levels/3.txt", Interval: 24 * h,
			Reliability: 'C', Confidence: 60, TLP: clear, Format: "text", ThreatType: "scanner"},
		{Name: "cert-pl", Kind: "list", URL: "https://hole.cert.pl/domains/v2/domains.txt", Interval: 6 * h,
			Reliability: 'B', Confidence: 80, TLP: clear, Format: "text", Type: "domain", ThreatType: "phishing"},
		{Name: "circl-osint", Kind: "misp", URL: "https://www.circl.lu/doc/misp/feed-osint", Interval: 6 * h,
			Reliability: 'B', Confidence: 70, TLP: clear},
		{Name: "botvrij", Kind: "misp", URL: "https://www.botvrij.eu/data/feed-osint", Interval: 6 * h,
			Reliability: 'C', Confidence: 60, TLP: clear},
		{Name: "cisa-kev", Kind: "kev", URL: "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json", Interval: 12 * h,
			Reliability: 'A', Confidence: 100, TLP: clear},
		{Name: "epss", Kind: "epss", URL: "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz", Interval: 24 * h,
			Reliability: 'A', Confidence: 100, TLP: clear},
		{Name: "alienvault-otx", Kind: "otx", URL: "https://otx.alienvault.com/api/v1/pulses/subscribed", Interval: h,
			Reliability: 'C', Confidence: 60, TLP: intel.TLPGreen, AuthHeader: "X-OTX-API-KEY", AuthEnv: "OTX_API_KEY",
			Enabled: ptr(false)}, // needs an OTX account: set OTX_API_KEY and enable it
		{Name: "mitre-attack-enterprise", Kind: "attack", Interval: 7 * 24 * h, Reliability: 'A', Confidence: 100, TLP: clear,
			URL:      "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json",
			MaxBytes: 200 << 20, Timeout: Duration(10 * time.Minute)},
	}
}
