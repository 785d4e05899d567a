package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
)

const assetsCSV = `kind,name,values,criticality,data_classification,business_service,service_tier,owner,exposure,privilege
network,HQ LAN,10.0.0.0/8;192.168.0.0/16,high,internal,,,Network team,internal,
host,fin-lt-0231,FIN-LT-0231 10.20.30.40,high,confidential,SAP-FI,1,Finance,internal,
person,Jane Doe,jane.doe@example.com CORP\jdoe,high,restricted,,,IT,internal,admin
host,bad,300.1.1.1,high,,,,,,
`

const assetsYAML = `assets:
  - kind: domain
    name: example.com
    criticality: extreme
    exposure: internet-facing
  - kind: technology
    name: Edge VPN
    vendor: Fortinet
    product: FortiOS
    version: 7.2.4
    criticality: urgent
`

type assetImports struct {
	Imports []struct {
		File                                    string
		Read, New, Updated, Unchanged, Rejected int
		Rejects                                 []struct {
			Line, Index int
			Error       string
		}
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func listAssets(t *testing.T, data string, args ...string) []intel.Asset {
	t.Helper()
	code, out, errs := omen(t, "", append([]string{"--data", data, "assets", "list", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("assets list: exit %d: %s", code, errs)
	}
	var got struct{ Assets []intel.Asset }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("assets list: %v: %s", err, out)
	}
	return got.Assets
}

func TestAssetsImport(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "omen-data")
	csvFile := writeFile(t, dir, "assets.csv", assetsCSV)
	yamlFile := writeFile(t, dir, "assets.yml", assetsYAML)

	code, out, errs := omen(t, "", "--data", data, "assets", "import", csvFile, yamlFile)
	if code != 1 {
		t.Errorf("exit %d with rejected records, want 1", code)
	}
	for _, want := range []string{"assets.csv: 4 read, 3 new, 0 updated, 0 unchanged, 1 rejected (format csv)",
		"assets.yml: 2 read, 1 new, 0 updated, 0 unchanged, 1 rejected (format yaml)"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{csvFile + `:5: invalid ipv4 "300.1.1.1"`, yamlFile + `:6: asset 2: criticality "urgent"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if got := listAssets(t, data); len(got) != 4 {
		t.Fatalf("%d assets, want 4: %+v", len(got), got)
	}

	// Re-importing updates: the same file changes nothing, an edited one updates in place.
	code, out, _ = omen(t, "", "--data", data, "assets", "import", "--json", csvFile)
	var sum assetImports
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 1 {
		t.Fatalf("re-import: exit %d, %v: %s", code, err, out)
	}
	if s := sum.Imports[0]; s.Unchanged != 3 || s.New != 0 || s.Updated != 0 || s.Rejected != 1 || s.Rejects[0].Line != 5 {
		t.Errorf("re-import: %+v", s)
	}
	edited := strings.Replace(assetsCSV, "HQ LAN,10.0.0.0/8;192.168.0.0/16,high", "hq lan,10.0.0.0/8,extreme", 1)
	edited = strings.Replace(edited, "host,bad,300.1.1.1", "host,bad,10.9.9.9", 1)
	writeFile(t, dir, "assets.csv", edited)
	code, out, errs = omen(t, "", "--data", data, "assets", "import", csvFile)
	if code != 0 || !strings.Contains(out, "4 read, 1 new, 1 updated, 2 unchanged, 0 rejected") {
		t.Errorf("edited import: exit %d\n%s%s", code, out, errs)
	}
	nets := listAssets(t, data, "--kind", "network")
	if len(nets) != 1 || nets[0].Name != "hq lan" || nets[0].Criticality != intel.CriticalityExtreme || len(nets[0].Values) != 1 {
		t.Errorf("updated network: %+v", nets)
	}
	if got := listAssets(t, data); len(got) != 5 {
		t.Errorf("%d assets after the edited import, want 5", len(got))
	}
}

func TestAssetsImportOptions(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "omen-data")
	noExt := writeFile(t, dir, "inventory", `[{"kind":"domain","name":"example.com"}]`)
	if code, _, errs := omen(t, "", "--data", data, "assets", "import", noExt); code != 1 || !strings.Contains(errs, "--format") {
		t.Errorf("no extension: exit %d: %s", code, errs)
	}
	if code, out, errs := omen(t, "", "--data", data, "assets", "import", "--format", "json", noExt); code != 0 || !strings.Contains(out, "1 new") {
		t.Errorf("--format json: exit %d: %s%s", code, out, errs)
	}
	stdin := "kind,name\ndomain,example.org\n"
	if code, out, errs := omen(t, stdin, "--data", data, "assets", "import", "--format", "csv", "--dry-run", "-"); code != 0 || !strings.Contains(out, "-: 1 read, 1 new") {
		t.Errorf("dry run from stdin: exit %d: %s%s", code, out, errs)
	}
	if got := listAssets(t, data); len(got) != 1 {
		t.Errorf("dry run stored assets: %+v", got)
	}
	if code, _, errs := omen(t, "", "--data", data, "assets", "import", "--format", "xml", noExt); code != 1 || !strings.Contains(errs, `format "xml"`) {
		t.Errorf("bad --format: exit %d: %s", code, errs)
	}
	if code, _, errs := omen(t, "", "--data", data, "assets", "import", filepath.Join(dir, "missing.csv")); code != 1 || !strings.Contains(errs, "opening asset file") {
		t.Errorf("missing file: exit %d: %s", code, errs)
	}
	if code, _, errs := omen(t, "", "--data", data, "assets", "import", "--help"); code != 0 || errs != "" {
		t.Errorf("help: exit %d: %s", code, errs)
	}
}

func TestAssetsListAndDelete(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "omen-data")
	omen(t, "", "--data", data, "assets", "import", writeFile(t, dir, "a.csv", assetsCSV))
	code, out, errs := omen(t, "", "--data", data, "assets", "list")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "HQ LAN") ||
		!strings.Contains(lines[2], "10.20.30.40 fin-lt-0231") {
		t.Errorf("table:\n%s", out)
	}
	if got := listAssets(t, data, "--kind", "person"); len(got) != 1 || got[0].Attributes["privilege"] != "admin" {
		t.Errorf("--kind person: %+v", got)
	}
	if code, _, errs := omen(t, "", "--data", data, "assets", "list", "--kind", "planet"); code != 1 || !strings.Contains(errs, `--kind "planet"`) {
		t.Errorf("bad kind: exit %d: %s", code, errs)
	}
	if got := listAssets(t, data, "--kind", "brand"); got == nil || len(got) != 0 {
		t.Errorf("no brands: %#v, want an empty list", got)
	}

	id := listAssets(t, data)[1].ID
	if code, out, errs := omen(t, "", "--data", data, "assets", "delete", jsonID(id)); code != 0 || !strings.Contains(out, "deleted asset") {
		t.Fatalf("delete: exit %d: %s%s", code, out, errs)
	}
	if got := listAssets(t, data); len(got) != 2 {
		t.Errorf("%d assets after delete, want 2", len(got))
	}
	if code, _, errs := omen(t, "", "--data", data, "assets", "delete", jsonID(id)); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("delete again: exit %d: %s", code, errs)
	}
	if code, _, errs := omen(t, "", "--data", data, "assets", "delete", "x"); code != 1 || !strings.Contains(errs, `invalid asset id "x"`) {
		t.Errorf("bad id: exit %d: %s", code, errs)
	}
}

func jsonID(id int64) string {
	b, _ := json.Marshal(id)
	return string(b)
}
