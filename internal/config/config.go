// Package config loads omen's YAML configuration: strict decoding (unknown keys are errors, with line
// and column), defaults, OMEN_* environment overrides, then validation, all before any I/O beyond
// reading the file.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

// Config is omen's configuration.
type Config struct {
	// Listen is the API's address; 127.0.0.1:8080 by default.
	Listen string `yaml:"listen"`
	// LogLevel is debug, info, warn or error.
	LogLevel     string       `yaml:"log_level"`
	Warninglists Warninglists `yaml:"warninglists"`
	Scoring      Scoring      `yaml:"scoring"`
	// Priority overrides weights of the business-risk priority of enriched events.
	Priority Priority `yaml:"priority"`
	// Sources are the feeds to collect. Without a `sources:` key, [DefaultSources]; with an empty
	// list, none.
	Sources []Source `yaml:"sources"`
	// Collect tunes the scheduler.
	Collect Collect `yaml:"collect"`
	// TAXII configures the TAXII 2.1 server.
	TAXII TAXII `yaml:"taxii"`
	// Exports are the named blocklists and feeds served at /feeds/{name}.
	Exports []Export `yaml:"exports"`
	// Actions configures response webhooks and the automatic-response policy.
	Actions Actions `yaml:"actions"`
	// Brand configures the lookalike-domain monitor (Certificate Transparency logs).
	Brand BrandMonitor `yaml:"brand"`
}

// Collect tunes collection.
type Collect struct {
	// Concurrency caps simultaneous downloads (default 4).
	Concurrency int `yaml:"concurrency"`
	// Proxy is the default proxy of every source (http://, https:// or socks5://); a source's own
	// proxy wins.
	Proxy string `yaml:"proxy"`
	// UserAgent replaces omen's User-Agent.
	UserAgent string `yaml:"user_agent"`
}

// Warninglists says which warninglists to load.
type Warninglists struct {
	// Defaults loads the curated set embedded in omen (true unless set to false).
	Defaults *bool `yaml:"defaults"`
	// Dirs are folders of MISP warninglists: list.json files, or a checkout of misp-warninglists.
	Dirs []string `yaml:"dirs"`
}

// UseDefaults reports whether the embedded set is loaded.
func (w Warninglists) UseDefaults() bool { return w.Defaults == nil || *w.Defaults }

// Scoring overrides the defaults of the omen-prio-1 model.
type Scoring struct {
	// Reliability maps Admiralty letters to weights 0..1.
	Reliability map[string]float64 `yaml:"reliability"`
	// Decay maps observable types (or "default") to their curve.
	Decay map[string]DecayConfig `yaml:"decay"`
	// Warninglisted is the dampener for warninglisted values, 0..1.
	Warninglisted *float64 `yaml:"warninglisted"`
	// PartialMatch is the weight of CIDR and parent-domain matches, 0..1.
	PartialMatch *float64 `yaml:"partial_match"`
}

// DecayConfig is one decay curve: lifetime as a duration ("47d", "1128h") and the exponent delta.
type DecayConfig struct {
	Lifetime string  `yaml:"lifetime"`
	Delta    float64 `yaml:"delta"`
}

// Default returns the configuration used without a file.
func Default() *Config {
	return &Config{Listen: "127.0.0.1:8080", LogLevel: "info"}
}

// LoadFile reads, decodes and validates the file at path; path "" gives the defaults (with OMEN_*
// overrides applied).
func LoadFile(path string) (*Config, error) {
	if path == "" {
		return Load(nil)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := Load(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Load decodes and validates a YAML document.
func Load(b []byte) (*Config, error) {
	c := Default()
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := decodeStrict(b, c); err != nil {
			return nil, err
		}
	}
	c.applyEnv()
	if c.Sources == nil {
		c.Sources = DefaultSources()
	}
	for i := range c.Sources {
		c.Sources[i].applyDefaults()
		if c.Sources[i].Proxy == "" {
			c.Sources[i].Proxy = c.Collect.Proxy
		}
	}
	if c.Collect.Concurrency == 0 {
		c.Collect.Concurrency = 4
	}
	c.TAXII.applyDefaults()
	return c, c.Validate()
}

// decodeStrict decodes YAML into c, rejecting unknown keys. The YAML library can panic on some
// malformed documents (found by FuzzLoad, e.g. a tag on a sequence of the wrong shape); that is
// turned into an error, so a bad file never crashes omen.
func decodeStrict(b []byte, c *Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML: the decoder failed (%v)", r)
		}
	}()
	if err := yaml.UnmarshalWithOptions(b, c, yaml.Strict()); err != nil {
		return errors.New(yaml.FormatError(err, false, true))
	}
	return nil
}

func (c *Config) applyEnv() {
	if v := os.Getenv("OMEN_LISTEN"); v != "" {
		c.Listen = v
	}
	if v := os.Getenv("OMEN_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
}

// Validate checks every field and returns all problems at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel))
	}
	if _, err := c.PriorityModel(); err != nil { // checks c.Scoring too
		errs = append(errs, err)
	}
	if err := validateSources(c.Sources); err != nil {
		errs = append(errs, err)
	}
	if c.Collect.Concurrency < 0 || c.Collect.Concurrency > 64 {
		errs = append(errs, fmt.Errorf("collect.concurrency %d: want 1..64", c.Collect.Concurrency))
	}
	if err := c.TAXII.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateExports(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Actions.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Brand.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Model returns the scoring model: the defaults with the overrides of c.Scoring.
func (c *Config) Model() (risk.Model, error) {
	m := risk.DefaultModel()
	var errs []error
	unit := func(name string, f float64) bool {
		if f < 0 || f > 1 {
			errs = append(errs, fmt.Errorf("scoring.%s %g: want 0..1", name, f))
			return false
		}
		return true
	}
	for k, w := range c.Scoring.Reliability {
		r, err := intel.ParseReliability(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("scoring.reliability: %w", err))
			continue
		}
		if unit("reliability."+k, w) {
			m.Reliability[r] = w
		}
	}
	for k, d := range c.Scoring.Decay {
		life, err := ParseDuration(d.Lifetime)
		if err != nil || life <= 0 || d.Delta <= 0 {
			errs = append(errs, fmt.Errorf("scoring.decay.%s: want a positive lifetime (e.g. 47d) and delta", k))
			continue
		}
		if k == "default" {
			m.DefaultDecay = risk.Decay{Lifetime: life, Delta: d.Delta}
			continue
		}
		t, err := intel.ParseType(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("scoring.decay: %w", err))
			continue
		}
		m.Decay[t] = risk.Decay{Lifetime: life, Delta: d.Delta}
	}
	if p := c.Scoring.Warninglisted; p != nil && unit("warninglisted", *p) {
		m.Warninglisted = *p
	}
	if p := c.Scoring.PartialMatch; p != nil && unit("partial_match", *p) {
		m.PartialMatch = *p
	}
	return m, errors.Join(errs...)
}

// ParseDuration parses a Go duration, also accepting whole days ("47d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
