package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"empty", "", ""},
		{"full", "listen: 0.0.0.0:9090\nlog_level: debug\nwarninglists:\n  defaults: false\n  dirs: [/tmp/x]\nscoring:\n  reliability: {A: 0.9}\n  decay:\n    ipv4: {lifetime: 30d, delta: 1.5}\n  warninglisted: 0.2\n", ""},
		{"unknown key", "listen: 127.0.0.1:1\nlisten_addr: x\n", "[2:1] unknown field \"listen_addr\""},
		{"bad level", "log_level: loud\n", "log_level \"loud\""},
		{"bad listen", "listen: nowhere\n", "listen \"nowhere\""},
		{"bad weight", "scoring:\n  warninglisted: 2\n", "scoring.warninglisted 2"},
		{"bad grade", "scoring:\n  reliability: {Z: 0.5}\n", "invalid reliability \"Z\""},
		{"bad decay", "scoring:\n  decay:\n    ipv4: {lifetime: soon, delta: 1}\n", "scoring.decay.ipv4"},
		{"bad type", "scoring:\n  decay:\n    fish: {lifetime: 1d, delta: 1}\n", "unknown observable type \"fish\""},
		{"wrong shape", "listen: [1, 2]\n", "[1:9]"},
		{"decoder panic", "warninglists:\n  dirs: !000000000000000000000\n0000000000\n", "malformed YAML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestModelOverrides(t *testing.T) {
	c, err := config.Load([]byte("scoring:\n  reliability: {b: 0.8}\n  decay:\n    ipv4: {lifetime: 30d, delta: 1.5}\n    default: {lifetime: 100d, delta: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Model()
	if err != nil {
		t.Fatal(err)
	}
	if m.Reliability[intel.ReliabilityB] != 0.8 || m.Decay[intel.IPv4].Lifetime != 30*24*time.Hour || m.DefaultDecay.Lifetime != 100*24*time.Hour {
		t.Errorf("overrides not applied: %+v", m)
	}
	if !c.Warninglists.UseDefaults() {
		t.Error("defaults off without being asked")
	}
}

func TestEnvOverride(t *testing.T) {
	t.Setenv("OMEN_LISTEN", "127.0.0.1:9999")
	c, err := config.LoadFile("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" {
		t.Errorf("listen = %s", c.Listen)
	}
}

// FuzzLoad: any bytes either load into a valid configuration or give an error; never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("listen: 0.0.0.0:9090\nlog_level: debug\nwarninglists:\n  defaults: false\n  dirs: [/tmp/x]\nscoring:\n  reliability: {A: 0.9}\n  decay:\n    ipv4: {lifetime: 30d, delta: 1.5}\n  warninglisted: 0.2\n"))
	f.Add([]byte("scoring:\n  decay:\n    default: {lifetime: 100d, delta: 1}\n"))
	f.Add([]byte("listen: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := config.Load(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a configuration that does not validate: %v", err)
		}
	})
}

func TestSources(t *testing.T) {
	c, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) < 10 || c.Sources[0].Name != "feodotracker" || !c.Sources[0].IsEnabled() {
		t.Errorf("default sources: %+v", c.Sources)
	}
	c, err = config.Load([]byte("sources: []\n"))
	if err != nil || len(c.Sources) != 0 {
		t.Errorf("an empty list means none: %v %v", c.Sources, err)
	}
	c, err = config.Load([]byte(`collect:
  proxy: socks5://127.0.0.1:9050
sources:
  - name: feodo
    kind: list
    url: https://feodotracker.abuse.ch/downloads/ipblocklist.csv
    interval: 1h
    reliability: B
    confidence: 90
    tlp: clear
    format: csv
    max_shrink: 0.3
  - name: otx
    kind: otx
    url: https://otx.alienvault.com/api/v1/pulses/subscribed
    auth_header: X-OTX-API-KEY
    auth_env: OTX_KEY
    enabled: false
`))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Sources[0]
	if f.Interval != config.Duration(time.Hour) || f.Reliability != 'B' || f.TLP != intel.TLPClear || f.ShrinkShare() != 0.3 ||
		f.RejectShare() != config.DefaultMaxRejected || f.Proxy != "socks5://127.0.0.1:9050" {
		t.Errorf("source %+v", f)
	}
	if o := c.Sources[1]; o.IsEnabled() || o.Interval != config.DefaultInterval || o.Reliability != 'F' || o.Confidence != 50 {
		t.Errorf("defaults %+v", o)
	}
	bad := []struct{ in, want string }{
		{"sources:\n  - name: a\n    kind: list\n    url: ftp://x/y\n", "want an http, https or file URL"},
		{"sources:\n  - name: a\n    kind: list\n    url: http://x/\n    interval: 10s\n", "interval 10s: at least 1m0s"},
		{"sources:\n  - name: a\n    kind: list\n    url: http://x/\n  - name: A\n    kind: list\n    url: http://y/\n", `source name "A" used twice`},
		{"sources:\n  - name: a\n    kind: list\n    url: http://x/\n    colour: red\n", `[5:5] unknown field "colour"`},
		{"sources:\n  - name: a\n    kind: list\n    url: http://x/\n    reliability: Q\n", "invalid reliability"},
		{"sources:\n  - name: a\n    kind: list\n    url: http://x/\n    auth_header: X-Key\n", "auth_header and auth_env go together"},
		{"sources:\n  - kind: list\n    url: http://x/\n", "a source needs a name"},
		{"sources:\n  - name: a\n    kind: list\n    url: http://x/\n    max_shrink: 2\n", "max_shrink 2: want 0..1"},
	}
	for _, tc := range bad {
		if _, err := config.Load([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
