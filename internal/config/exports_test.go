package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
)

func TestExportsLoad(t *testing.T) {
	c, err := config.Load([]byte(`
exports:
  - name: edl-ips
    format: plain-ip
    description: PAN-OS EDL of C2 addresses
    min_score: 70
    types: [ipv4, CIDR]
    tags: [botnet]
    sources: [feodo]
    tlp: green
    max: 50000
  - name: rpz
    format: rpz
    rpz: {origin: rpz.example.org., cname: walled-garden.example.org.}
    refresh: 5m
  - name: to.misp_peers
    format: misp-feed
    tlp: amber+strict
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Exports) != 3 {
		t.Fatalf("%d exports", len(c.Exports))
	}
	e := c.Exports[0]
	if e.Name != "edl-ips" || e.Format != "plain-ip" || e.MinScore != 70 || e.Max != 50000 || e.TLPCeiling() != intel.TLPGreen ||
		e.RefreshInterval() != time.Minute || len(e.ObservableTypes()) != 2 || e.ObservableTypes()[1] != intel.CIDR ||
		e.Tags[0] != "botnet" || e.Sources[0] != "feodo" {
		t.Errorf("export 0: %+v", e)
	}
	if r := c.Exports[1]; r.RPZ.Origin != "rpz.example.org." || r.RPZ.CNAME != "walled-garden.example.org." ||
		r.RefreshInterval() != 5*time.Minute || r.TLPCeiling() != intel.TLPAmber {
		t.Errorf("export 1: %+v (ceiling %v)", r, r.TLPCeiling())
	}
	if m := c.Exports[2]; m.TLPCeiling() != intel.TLPAmberStrict {
		t.Errorf("export 2 ceiling %v", m.TLPCeiling())
	}
	if c, err := config.Load(nil); err != nil || len(c.Exports) != 0 {
		t.Errorf("no exports by default: %v %v", c.Exports, err)
	}
}

func TestExportsValidate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"missing name and format", "exports:\n  - min_score: 10\n", []string{"exports[0].name: required", "exports[0].format: required"}},
		{"bad name", "exports:\n  - {name: a/b, format: rpz}\n  - {name: .., format: rpz}\n",
			[]string{`exports[0] (a/b).name "a/b": want`, `exports[1] (..).name ".."`}},
		{"duplicate", "exports:\n  - {name: x, format: rpz}\n  - {name: x, format: csv}\n", []string{`exports[1] (x).name "x": also used by exports[0]`}},
		{"bad format", "exports:\n  - {name: x, format: 'Plain IP'}\n", []string{`exports[0] (x).format "Plain IP": not a format name`}},
		{"red", "exports:\n  - {name: x, format: csv, tlp: red}\n", []string{`exports[0] (x).tlp "red": TLP:RED may not be exported`}},
		{"bad tlp", "exports:\n  - {name: x, format: csv, tlp: pink}\n", []string{`exports[0] (x).tlp: invalid TLP "pink"`}},
		{"score", "exports:\n  - {name: x, format: csv, min_score: 101}\n", []string{"exports[0] (x).min_score 101: want 0..100"}},
		{"types", "exports:\n  - {name: x, format: csv, types: [ipv4, fish]}\n", []string{`exports[0] (x).types[1]: unknown observable type "fish"`}},
		{"max", "exports:\n  - {name: x, format: csv, max: -1}\n", []string{"exports[0] (x).max -1"}},
		{"empty tag and source", "exports:\n  - {name: x, format: csv, tags: [''], sources: [' ']}\n",
			[]string{"exports[0] (x).tags[0]: empty", "exports[0] (x).sources[0]: empty"}},
		{"rpz on csv", "exports:\n  - {name: x, format: csv, rpz: {origin: a.b.}}\n", []string{`exports[0] (x).rpz: only applies to format rpz, not "csv"`}},
		{"rpz names", "exports:\n  - {name: x, format: rpz, rpz: {origin: 'a..b', cname: 'bad name'}}\n",
			[]string{`exports[0] (x).rpz.origin "a..b": not a DNS name`, `exports[0] (x).rpz.cname "bad name": not a DNS name`}},
		{"refresh", "exports:\n  - {name: x, format: csv, refresh: -5m}\n", []string{"exports[0] (x).refresh -5m0s"}},
		{"bad refresh", "exports:\n  - {name: x, format: csv, refresh: often}\n", []string{"often"}},
		{"unknown key", "exports:\n  - {name: x, format: csv, min_scor: 5}\n", []string{`unknown field "min_scor"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load([]byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestExportAccessorsWithoutValidate(t *testing.T) {
	// A caller that skipped Validate never gets a red or unknown ceiling widened.
	for _, tlp := range []string{"red", "pink"} {
		if got := (config.Export{TLP: tlp}).TLPCeiling(); got != intel.TLPClear {
			t.Errorf("TLPCeiling(%q) = %v, want clear", tlp, got)
		}
	}
	if got := (config.Export{Types: []string{"fish", "domain"}}).ObservableTypes(); len(got) != 1 || got[0] != intel.Domain {
		t.Errorf("ObservableTypes = %v", got)
	}
}

// FuzzExports loads arbitrary exports sections: never a panic, and every accepted export has a
// URL-safe name and a ceiling below red.
func FuzzExports(f *testing.F) {
	for _, s := range []string{
		"exports:\n  - {name: edl-ips, format: plain-ip, min_score: 70, types: [ipv4, cidr], tlp: green, max: 50000}\n",
		"exports:\n  - name: rpz\n    format: rpz\n    rpz: {origin: rpz.example.org., cname: walled-garden.example.org.}\n    refresh: 5m\n",
		"exports:\n  - {name: x, format: csv, tlp: red}\n",
		"exports: [{name: '..', format: rpz}]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := config.Load([]byte(in))
		if err != nil {
			return
		}
		for _, e := range c.Exports {
			if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/?#% ") {
				t.Errorf("accepted export name %q", e.Name)
			}
			if e.TLPCeiling() >= intel.TLPRed {
				t.Errorf("accepted ceiling %v", e.TLPCeiling())
			}
		}
	})
}
