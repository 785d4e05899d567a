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
