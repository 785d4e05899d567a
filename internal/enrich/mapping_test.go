package enrich_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/enrich"
)

func TestShippedMappings(t *testing.T) {
	if got := enrich.ShippedMappings(); !slices.Equal(got, []string{"suricata", "zeek"}) {
		t.Errorf("ShippedMappings() = %v", got)
	}
	for _, name := range []string{"zeek", "suricata"} {
		m, err := enrich.ShippedMapping(name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != name || len(m.Fields) < 10 || len(m.Context) == 0 {
			t.Errorf("%s: %+v", name, m)
		}
	}
	for _, name := range []string{"ecs", "../mappings/zeek", "zeek.yaml"} {
		if _, err := enrich.ShippedMapping(name); err == nil || !strings.Contains(err.Error(), "suricata, zeek") {
			t.Errorf("ShippedMapping(%q): %v", name, err)
		}
	}
}

func TestParseMapping(t *testing.T) {
	good := "name: fw\nfields:\n  srcip: source.ip\n  req.url: url.full\ncontext:\n  time: \"@timestamp\"\n  device: host.name\n"
	m, err := enrich.ParseMapping([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "fw" || m.Fields["req.url"] != "url.full" || m.Context["time"] != "@timestamp" {
		t.Errorf("parsed %+v", m)
	}
	d, err := enrich.NewDecoder(enrich.FormatZeek, m)
	if err != nil {
		t.Fatal(err)
	}
	var ev enrich.Event
	if err := d.Decode([]byte(`{"time":"2024-01-02T03:04:05Z","device":"fw1","srcip":"10.0.0.9","req":{"url":"https://evil.example.com/x"}}`), &ev); err != nil {
		t.Fatal(err)
	}
	want := []enrich.Field{m2("srcip", "source.ip", "ipv4", "10.0.0.9"), m2("req.url", "url.full", "url", "https://evil.example.com/x")}
	if !slices.Equal(ev.Fields, want) || ev.Context.HostName != "fw1" || ev.Context.Timestamp.Year() != 2024 {
		t.Errorf("decoded %+v", ev)
	}

	bad := []struct{ in, msg string }{
		{"name: x\nfields:\n  srcip: source.ipp\n", `key "srcip": unknown ECS target field "source.ipp"`},
		{"name: x\nfields:\n  a..b: source.ip\n", `key "a..b": empty segment`},
		{"name: x\ncontext:\n  ts: \"@time\"\n", `key "ts": unknown context field "@time"`},
		{"name: x\nfeilds:\n  a: source.ip\n", `unknown field "feilds"`},
		{"name: x\n", "maps no fields"},
		{"name: [x\n", "parsing mapping"},
	}
	for _, tc := range bad {
		if _, err := enrich.ParseMapping([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.msg)
		}
	}
}

func TestLoadMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte("name: x\nfields:\n  ip: sourc.ip\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := enrich.LoadMapping(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"ip"`) {
		t.Errorf("LoadMapping: %v", err)
	}
	if _, err := enrich.LoadMapping(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Error("LoadMapping of a missing file: no error")
	}
	if err := os.WriteFile(path, []byte("name: x\nfields:\n  ip: source.ip\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, err := enrich.LoadMapping(path); err != nil || m.Fields["ip"] != "source.ip" {
		t.Errorf("LoadMapping: %+v, %v", m, err)
	}
}
