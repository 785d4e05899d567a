package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// exportData imports a feed with real and poisoned values and a TLP:RED value, and records the
// organisation's network and mail domain and an allowlisted partner.
func exportData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	feed := filepath.Join(dir, "feed.txt")
	os.WriteFile(feed, []byte("192.9.135.73\n85.239.243.155\n158.220.95.214\n158.220.95.215\nnadsupplies.co.za\n"+
		"8.8.8.8\n104.16.1.1\ngoogle.com\n194.53.20.0/24\nmail.northwind-traders.com\nlogin.partner-portal.net\n"), 0o644)
	red := filepath.Join(dir, "red.txt")
	os.WriteFile(red, []byte("185.215.113.66\n"), 0o644)
	if code, _, errs := omen(t, "", "--data", data, "import", "--source", "feed", "--tlp", "green", feed); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	if code, _, errs := omen(t, "", "--data", data, "import", "--source", "secret", "--tlp", "red", red); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, a := range []intel.Asset{{Kind: "network", Name: "HQ egress", Values: []string{"194.53.20.0/24"}},
		{Kind: "domain", Name: "Corporate mail", Values: []string{"northwind-traders.com"}}} {
		if _, err := st.PutAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.PutAllow(ctx, intel.AllowEntry{Observable: intel.Observable{Type: intel.Domain, Value: "partner-portal.net"}}); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestExportGuarded(t *testing.T) {
	if _, ok := respond.Lookup("plain-ip"); !ok {
		t.Skip("no plain-ip format registered")
	}
	data := exportData(t)
	out := filepath.Join(t.TempDir(), "ips.txt")
	code, _, errs := omen(t, "", "--data", data, "export", "--format", "plain-ip", "-o", out, "--explain")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	b, _ := os.ReadFile(out)
	list := string(b)
	for _, bad := range []string{"8.8.8.8", "104.16.1.1", "194.53.20.0", "185.215.113.66"} {
		if strings.Contains(list, bad) {
			t.Errorf("%s exported:\n%s", bad, list)
		}
	}
	for _, good := range []string{"192.9.135.73", "85.239.243.155", "158.220.95.214/31"} {
		if !strings.Contains(list, good) {
			t.Errorf("%s missing:\n%s", good, list)
		}
	}
	for _, want := range []string{
		`removed ipv4 8.8.8.8: warninglist: warninglist "`,
		`removed ipv4 104.16.1.1: warninglist: warninglist "List of known Cloudflare IP ranges"`,
		`removed cidr 194.53.20.0/24: own-asset: asset "HQ egress" 194.53.20.0/24`,
		"exported 3 entries of 12 indicators; removed: own-asset 1, tlp 1, type 4, warninglist 2",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}

	// Domains, to standard output, with the report as JSON.
	code, stdout, errs := omen(t, "", "--data", data, "export", "--format", "plain-domain", "--json", "--explain")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	if !strings.Contains(stdout, "nadsupplies.co.za") || strings.Contains(stdout, "google.com") || strings.Contains(stdout, "northwind") ||
		strings.Contains(stdout, "partner-portal") {
		t.Errorf("domains:\n%s", stdout)
	}
	var rep respond.Report
	if err := json.Unmarshal([]byte(errs), &rep); err != nil {
		t.Fatalf("report %q: %v", errs, err)
	}
	reasons := map[string]string{}
	for _, r := range rep.Removals {
		reasons[r.Observable.Value] = r.Reason + ": " + r.Detail
	}
	if rep.Written != 1 || !strings.HasPrefix(reasons["mail.northwind-traders.com"], "own-asset") ||
		!strings.HasPrefix(reasons["login.partner-portal.net"], "allowlist") || !strings.HasPrefix(reasons["google.com"], "warninglist") {
		t.Errorf("report %+v", rep)
	}

	// Selection flags.
	code, stdout, errs = omen(t, "", "--data", data, "export", "--format", "plain-ip", "--max", "1", "--since", "7d", "--min-score", "1")
	if code != 0 || strings.Count(stdout, "\n") > 3 || !strings.Contains(errs, "cap 3") {
		t.Errorf("--max 1: %d %q %s", code, stdout, errs)
	}
	code, stdout, _ = omen(t, "", "--data", data, "export", "--format", "plain-ip", "--source", "secret", "--tlp", "red")
	if code != 0 || !strings.Contains(stdout, "185.215.113.66") {
		t.Errorf("--tlp red --source secret: %d %q", code, stdout)
	}
}

func TestExportFlags(t *testing.T) {
	code, out, _ := omen(t, "", "export", "--list")
	if code != 0 || !strings.HasPrefix(out, "stix ") {
		t.Fatalf("--list: %d %q", code, out)
	}
	for _, f := range respond.Formats() {
		if !strings.Contains(out, "\n"+f.Name+" ") && f.Name != "stix" {
			t.Errorf("--list lacks %s", f.Name)
		}
	}
	data := filepath.Join(t.TempDir(), "data")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export"}, "--format is required"},
		{[]string{"export", "--format", "nope"}, `--format "nope"`},
		{[]string{"export", "--format", "stix", "--since", "yesterday"}, `--since: "yesterday" is neither`},
		{[]string{"export", "--format", "stix", "--min-score", "101"}, "--min-score 101"},
		{[]string{"export", "--format", "stix", "--tlp", "pink"}, "--tlp"},
		{[]string{"export", "--format", "stix", "--type", "ipv5"}, "--type"},
	} {
		code, _, errs := omen(t, "", append([]string{"--data", data}, c.args...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: %d %q, want %q", c.args, code, errs, c.want)
		}
	}
	for _, f := range respond.Formats() {
		if f.Write == nil {
			code, _, errs := omen(t, "", "--data", data, "export", "--format", f.Name)
			if code == 0 || !strings.Contains(errs, "-o DIR") {
				t.Errorf("%s without -o: %d %q", f.Name, code, errs)
			}
		} else if f.Name != "stix" {
			code, _, errs := omen(t, "", "--data", data, "export", "--format", f.Name, "--value", "8.8.8.8")
			if code == 0 || !strings.Contains(errs, "--format stix only") {
				t.Errorf("%s --value: %d %q", f.Name, code, errs)
			}
		}
	}
}

// Directory formats write into -o DIR.
func TestExportDir(t *testing.T) {
	if _, ok := respond.Lookup("misp-feed"); !ok {
		t.Skip("no misp-feed format registered")
	}
	data := exportData(t)
	dir := filepath.Join(t.TempDir(), "feed")
	if code, _, errs := omen(t, "", "--data", data, "export", "--format", "misp-feed", "-o", dir); code != 0 {
		t.Fatalf("export: %s", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Error(err)
	}
}

// The stix bundle goes through the guard too: own assets and allowlisted values are not shared.
func TestExportSTIXGuarded(t *testing.T) {
	data := exportData(t)
	code, stdout, errs := omen(t, "", "--data", data, "export", "--format", "stix", "--explain")
	if code != 0 {
		t.Fatalf("export: %s", errs)
	}
	for _, bad := range []string{"194.53.20.0", "northwind", "partner-portal", "8.8.8.8", "185.215.113.66"} {
		if strings.Contains(stdout, bad) {
			t.Errorf("%s in the bundle", bad)
		}
	}
	if !strings.Contains(stdout, "192.9.135.73") || !strings.Contains(errs, "removed cidr 194.53.20.0/24: own-asset") {
		t.Errorf("bundle or explanation incomplete: %s", errs)
	}
	code, stdout, errs = omen(t, "", "--data", data, "export", "--format", "stix", "--value", "mail.northwind-traders.com", "--value", "192.9.135.73", "--json")
	if code != 0 || strings.Contains(stdout, "northwind") || !strings.Contains(stdout, "192.9.135.73") || !strings.Contains(errs, `"own-asset": 1`) {
		t.Errorf("--value: %d %s", code, errs)
	}
}
