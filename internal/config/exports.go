package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Export is one named export served at /feeds/{name} (see internal/respond):
//
//	exports:
//	  - name: edl-ips
//	    format: plain-ip
//	    min_score: 70
//	    types: [ipv4, cidr]
//	    tlp: green
//	    max: 50000
//	  - name: rpz
//	    format: rpz
//	    rpz: {origin: rpz.example.org., cname: walled-garden.example.org.}
//	    refresh: 5m
//
// The format name is checked for syntax only here (config does not import respond, which imports
// config); the feed server refuses an unknown format when it starts.
type Export struct {
	// Name is the URL path segment: letters, digits, '.', '_' and '-' (not "." or "..").
	Name string `yaml:"name"`
	// Format is a respond format name (plain-ip, rpz, misp-feed, ...).
	Format string `yaml:"format"`
	// Description is shown in feed listings.
	Description string `yaml:"description"`
	// MinScore keeps indicators scoring at least this (0..100; 0: any).
	MinScore int `yaml:"min_score"`
	// Types are observable types (ipv4, domain, ...); none: every type the format accepts.
	Types []string `yaml:"types"`
	// Tags keep indicators carrying one of these tags; none: any.
	Tags []string `yaml:"tags"`
	// Sources keep indicators reported by one of these sources; none: any.
	Sources []string `yaml:"sources"`
	// TLP is the feed's ceiling: clear, green, amber (the default) or amber+strict. Red is refused:
	// TLP:RED intelligence never goes into a feed. A key whose clearance is below the ceiling may
	// not read the feed.
	TLP string `yaml:"tlp"`
	// Max caps the entries, highest scores first (0: no cap).
	Max int `yaml:"max"`
	// RPZ configures format rpz.
	RPZ ExportRPZ `yaml:"rpz"`
	// Refresh is the least time between two regenerations of the feed (default 1m); a feed is
	// regenerated only when the data changed.
	Refresh Duration `yaml:"refresh"`
}

// ExportRPZ are the options of an rpz export.
type ExportRPZ struct {
	// Origin is the zone name (default rpz.omen.local.).
	Origin string `yaml:"origin"`
	// CNAME, when set, answers listed names with this walled-garden host instead of NXDOMAIN.
	CNAME string `yaml:"cname"`
}

// DefaultExportRefresh is the refresh interval of an export that sets none.
const DefaultExportRefresh = time.Minute

// TLPCeiling returns the export's TLP ceiling (amber when unset); Validate has checked it.
func (e Export) TLPCeiling() intel.TLP {
	if strings.TrimSpace(e.TLP) == "" {
		return intel.TLPAmber
	}
	t, err := intel.ParseTLP(e.TLP)
	if err != nil || t >= intel.TLPRed {
		return intel.TLPClear // unreachable after Validate; the safe choice regardless
	}
	return t
}

// RefreshInterval returns Refresh, or [DefaultExportRefresh] when unset.
func (e Export) RefreshInterval() time.Duration {
	if e.Refresh <= 0 {
		return DefaultExportRefresh
	}
	return time.Duration(e.Refresh)
}

// ObservableTypes returns Types parsed (nil when none); Validate has checked them.
func (e Export) ObservableTypes() []intel.Type {
	var out []intel.Type
	for _, s := range e.Types {
		if t, err := intel.ParseType(s); err == nil {
			out = append(out, t)
		}
	}
	return out
}

var (
	exportName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	formatName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	dnsName    = regexp.MustCompile(`^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$`)
)

// validateExports checks c.Exports and returns every problem, each naming the export by index and
// name.
func (c *Config) validateExports() error {
	var errs []error
	names := map[string]int{}
	for i, e := range c.Exports {
		at := fmt.Sprintf("exports[%d]", i)
		if e.Name != "" {
			at = fmt.Sprintf("exports[%d] (%s)", i, e.Name)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s.%s", at, fmt.Sprintf(format, args...)))
		}
		switch {
		case e.Name == "":
			bad("name: required")
		case !exportName.MatchString(e.Name) || e.Name == "." || e.Name == "..":
			bad("name %q: want 1 to 64 letters, digits, '.', '_' or '-' (it is a URL path segment)", e.Name)
		default:
			if j, dup := names[e.Name]; dup {
				bad("name %q: also used by exports[%d]", e.Name, j)
			} else {
				names[e.Name] = i
			}
		}
		switch {
		case e.Format == "":
			bad("format: required (see omen export --list)")
		case !formatName.MatchString(e.Format):
			bad("format %q: not a format name (see omen export --list)", e.Format)
		}
		if e.MinScore < 0 || e.MinScore > 100 {
			bad("min_score %d: want 0..100", e.MinScore)
		}
		for j, s := range e.Types {
			if _, err := intel.ParseType(s); err != nil {
				bad("types[%d]: %v", j, err)
			}
		}
		for j, s := range e.Tags {
			if strings.TrimSpace(s) == "" {
				bad("tags[%d]: empty", j)
			}
		}
		for j, s := range e.Sources {
			if strings.TrimSpace(s) == "" {
				bad("sources[%d]: empty", j)
			}
		}
		if strings.TrimSpace(e.TLP) != "" {
			t, err := intel.ParseTLP(e.TLP)
			switch {
			case err != nil:
				bad("tlp: %v", err)
			case t >= intel.TLPRed:
				bad("tlp %q: TLP:RED may not be exported in a feed; want clear, green, amber or amber+strict", e.TLP)
			}
		}
		if e.Max < 0 {
			bad("max %d: want 0 (no cap) or more", e.Max)
		}
		if e.RPZ != (ExportRPZ{}) && e.Format != "rpz" {
			bad("rpz: only applies to format rpz, not %q", e.Format)
		}
		if e.RPZ.Origin != "" && !dnsName.MatchString(e.RPZ.Origin) {
			bad("rpz.origin %q: not a DNS name", e.RPZ.Origin)
		}
		if e.RPZ.CNAME != "" && !dnsName.MatchString(e.RPZ.CNAME) {
			bad("rpz.cname %q: not a DNS name", e.RPZ.CNAME)
		}
		if e.Refresh < 0 {
			bad("refresh %s: want a positive duration", time.Duration(e.Refresh))
		}
	}
	return errors.Join(errs...)
}
