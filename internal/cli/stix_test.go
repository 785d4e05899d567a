package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const stixBundle = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z",
  "modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '203.0.113.7']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2026-01-01T00:00:00.000Z",
  "modified":"2026-01-01T00:00:00.000Z","name":"Emotet","is_family":true},
 {"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2026-01-01T00:00:00.000Z",
  "modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"},
 {"type":"malware","id":"malware--b0c5e7e2-1d5b-4a1e-9f4b-2a7d1f0e3c55","created":"not a time"}
]}`

func TestImportSTIX(t *testing.T) {
	data := filepath.Join(t.TempDir(), "omen-data")
	file := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(file, []byte(stixBundle), 0o644); err != nil {
		t.Fatal(err)
	}
	// Detected by content, without --format.
	code, out, errs := omen(t, "", "--data", data, "import", "--source", "vendor", file)
	if code != 0 {
		t.Fatalf("import: exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{"4 objects", "3 stored", "1 rejected", "1 indicators: 1 reduced to 1 observables", "1 observable links", "format stix"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary %q lacks %q", out, want)
		}
	}
	if !strings.Contains(errs, `object 3 (malware--b0c5e7e2-1d5b-4a1e-9f4b-2a7d1f0e3c55): invalid created timestamp "not a time"`) {
		t.Errorf("stderr %q lacks the rejected object", errs)
	}
	r := lookupJSON(t, data, "203.0.113.7")
	if len(r.Matches) != 1 || r.Matches[0].Indicator.Sources[0].Name != "vendor" {
		t.Fatalf("lookup: %+v", r)
	}
	found := false
	for _, en := range r.Matches[0].Indicator.Entities {
		found = found || en.Name == "Emotet"
	}
	if !found {
		t.Errorf("lookup does not link Emotet: %+v", r.Matches[0].Indicator.Entities)
	}
	// --format stix and --json, from standard input: the same version again is unchanged.
	code, out, errs = omen(t, stixBundle, "--data", data, "import", "--format", "stix", "--json", "--source", "vendor", "-")
	if code != 0 {
		t.Fatalf("import --json: exit %d: %s", code, errs)
	}
	var res struct {
		Imports []struct {
			Format string `json:"format"`
			Counts struct {
				Objects   int            `json:"objects"`
				Unchanged int            `json:"unchanged"`
				ByType    map[string]int `json:"by_type"`
			} `json:"counts"`
		} `json:"imports"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Imports) != 1 {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if c := res.Imports[0].Counts; res.Imports[0].Format != "stix" || c.Objects != 4 || c.Unchanged != 3 || c.ByType["malware"] != 2 {
		t.Errorf("--json counts %+v", res.Imports[0])
	}
	// Nothing importable: non-zero exit.
	code, _, _ = omen(t, `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{"type":"x"}]}`,
		"--data", data, "import", "--format", "stix", "-")
	if code == 0 {
		t.Error("a bundle of only bad objects exits 0")
	}
	code, _, _ = omen(t, "not json", "--data", data, "import", "--format", "stix", "-")
	if code == 0 {
		t.Error("not JSON with --format stix exits 0")
	}
}

// omen export --format stix writes a bundle another omen imports into the same lookups; what the
// TLP ceiling or a warninglist holds back is not in it.
func TestExportSTIX(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	file := filepath.Join(dir, "bundle.json")
	list := filepath.Join(dir, "list.txt")
	// The bundle's documentation address is on a warninglist (RFC 5737): a routable one instead.
	os.WriteFile(file, []byte(strings.ReplaceAll(stixBundle, "203.0.113.7", "45.137.21.9")), 0o644)
	os.WriteFile(list, []byte("198.51.100.77\n"), 0o644)
	if code, _, errs := omen(t, "", "--data", a, "import", "--source", "vendor", "--tlp", "green", file); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	if code, _, errs := omen(t, "", "--data", a, "import", "--source", "secret", "--tlp", "red", list); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	pub := filepath.Join(dir, "public.txt")
	os.WriteFile(pub, []byte("8.8.8.8\n"), 0o644)
	if code, _, errs := omen(t, "", "--data", a, "import", "--source", "noisy", "--tlp", "clear", pub); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	out := filepath.Join(dir, "export.json")
	code, _, errs := omen(t, "", "--data", a, "export", "--format", "stix", "--tlp", "amber", "-o", out, "--json")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	var counts struct {
		Indicators int `json:"indicators"`
		Withheld   int `json:"withheld_warninglisted"`
	}
	if err := json.Unmarshal([]byte(errs), &counts); err != nil || counts.Indicators != 1 || counts.Withheld != 1 {
		t.Fatalf("export counts %s: %v", errs, err)
	}
	bundle, _ := os.ReadFile(out)
	if strings.Contains(string(bundle), "198.51.100.77") || strings.Contains(string(bundle), "8.8.8.8") {
		t.Errorf("red or warninglisted values exported")
	}
	if code, _, errs := omen(t, "", "--data", b, "import", "--source", "from-a", out); code != 0 {
		t.Fatalf("import of the export: %s", errs)
	}
	cfg := filepath.Join(dir, "omen.yaml")
	os.WriteFile(cfg, []byte("log_level: warn\n"), 0o644)
	r := lookupFor(t, cfg, b, "45.137.21.9")
	if len(r.Matches) != 1 || !hasEntity(r, "malware", "Emotet", "") {
		t.Errorf("exported indicator not found with its malware in B: %+v", r)
	}
	if code, out, _ := omen(t, "", "export", "--list"); code != 0 || !strings.HasPrefix(out, "stix") {
		t.Errorf("export --list: %d %q", code, out)
	}
}
