package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// runFindings runs "findings ARGS" against the data directory and returns stdout, stderr and the
// error. The lead registers findingsCmd on the root; the test builds it on its own.
func runFindings(t *testing.T, data string, args ...string) (string, string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errw, dataDir: data, logLevel: "error"}
	c := e.findingsCmd()
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errw)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(t.Context())
	return out.String(), errw.String(), err
}

// seedFindings opens two findings in a new data directory and returns it with their IDs.
func seedFindings(t *testing.T) (string, int64, int64) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "omen-data")
	db, err := sqlite.Open(t.Context(), filepath.Join(data, "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := findings.New(db, nil, findings.Options{})
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f1, _, err := svc.Raise(t.Context(), findings.Candidate{Kind: "indicator-match", Title: "C2 contact from fin-lt-0231",
		Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.66"}, Asset: &intel.Asset{ID: 3}, Priority: 85,
		Level: "act", Evidence: []string{"feodo (B) c2, 2 days ago"}, Recommendations: []string{"isolate fin-lt-0231"},
		Detail: json.RawMessage(`{"score":85}`), At: at})
	if err != nil {
		t.Fatal(err)
	}
	f2, _, err := svc.Raise(t.Context(), findings.Candidate{Kind: "indicator-match", Title: "phishing domain visited",
		Observable: intel.Observable{Type: intel.Domain, Value: "login-corp.example"}, Priority: 62, Level: "investigate", At: at})
	if err != nil {
		t.Fatal(err)
	}
	return data, f1.ID, f2.ID
}

func TestFindingsListShowSet(t *testing.T) {
	data, id1, id2 := seedFindings(t)

	out, _, err := runFindings(t, data, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ID", "LAST SEEN", "C2 contact from fin-lt-0231", "ipv4:192.0.2.66", "act", "2026-03-02T09:00:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runFindings(t, data, "list", "--min-priority", "80", "--json")
	var got struct{ Findings []intel.Finding }
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.Findings) != 1 || got.Findings[0].ID != id1 {
		t.Errorf("list --min-priority 80: %v %s", err, out)
	}

	out, _, err = runFindings(t, data, "show", fmt.Sprint(id1))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Finding 1: C2 contact", "isolate fin-lt-0231", "feodo (B) c2", "opened, priority 85 (act)", `Detail: {"score":85}`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	if out, _, err = runFindings(t, data, "set", fmt.Sprint(id1), "--status", "triaged", "--assignee", "alice", "--note", "on it"); err != nil ||
		!strings.Contains(out, "finding 1: triaged, priority 85, assignee alice") {
		t.Errorf("set: %v %s", err, out)
	}
	if _, _, err = runFindings(t, data, "set", fmt.Sprint(id1), "--status", "new"); err == nil || !strings.Contains(err.Error(), "cannot move to new") {
		t.Errorf("set back to new: %v", err)
	}
	if _, _, err = runFindings(t, data, "set", "999", "--status", "triaged"); err == nil || !strings.Contains(err.Error(), "no finding 999") {
		t.Errorf("set missing: %v", err)
	}
	if _, _, err = runFindings(t, data, "show", "abc"); err == nil || !strings.Contains(err.Error(), `invalid finding id "abc"`) {
		t.Errorf("show abc: %v", err)
	}
	if _, _, err = runFindings(t, data, "list", "--status", "closed"); err == nil || !strings.Contains(err.Error(), "--status") {
		t.Errorf("list --status closed: %v", err)
	}

	// A false positive lands on the allowlist.
	if _, _, err = runFindings(t, data, "set", fmt.Sprint(id2), "--status", "false-positive"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runFindings(t, data, "list", "--open", "--json")
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.Findings) != 1 || got.Findings[0].ID != id1 ||
		got.Findings[0].Assignee != "alice" || got.Findings[0].Note != "on it" {
		t.Errorf("list --open: %v %s", err, out)
	}
	out, _, err = runFindings(t, data, "allowlist")
	if err != nil || !strings.Contains(out, "domain:login-corp.example") || !strings.Contains(out, fmt.Sprintf("false positive, finding #%d", id2)) {
		t.Errorf("allowlist: %v\n%s", err, out)
	}
}

func TestFindingsAllowlist(t *testing.T) {
	data, _, _ := seedFindings(t)
	if out, _, err := runFindings(t, data, "allowlist", "add", "hxxps://cdn.example[.]com/app.js", "--reason", "our CDN"); err != nil ||
		!strings.Contains(out, "allowlisted url:https://cdn.example.com/app.js (entry 1)") {
		t.Errorf("add url: %v %s", err, out)
	}
	if out, _, err := runFindings(t, data, "allowlist", "add", "SVC-Backup", "--type", "account", "--reason", "backup job"); err != nil ||
		!strings.Contains(out, "account:svc-backup") {
		t.Errorf("add account: %v %s", err, out)
	}
	if _, _, err := runFindings(t, data, "allowlist", "add", "10.0.0.1"); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Errorf("add without reason: %v", err)
	}
	if _, _, err := runFindings(t, data, "allowlist", "add", "not a value!", "--reason", "x"); err == nil {
		t.Error("add of garbage: no error")
	}
	out, _, err := runFindings(t, data, "allowlist", "list", "--json")
	var got struct{ Allowlist []intel.AllowEntry }
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.Allowlist) != 2 || got.Allowlist[0].Reason != "our CDN" {
		t.Errorf("list: %v %s", err, out)
	}
	if out, _, err := runFindings(t, data, "allowlist", "delete", "1"); err != nil || !strings.Contains(out, "deleted allowlist entry 1") {
		t.Errorf("delete: %v %s", err, out)
	}
	if _, _, err := runFindings(t, data, "allowlist", "delete", "1"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("delete again: %v", err)
	}
}
