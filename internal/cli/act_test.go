package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// hookServer is a webhook receiver on 127.0.0.1 answering status to every request.
type hookServer struct {
	mu     sync.Mutex
	bodies [][]byte
	status int
}

func newHookServer(t *testing.T, status int) (*hookServer, string) {
	h := &hookServer{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !respond.Verify([]byte("act-secret"), r.Header.Get(respond.HeaderTimestamp), b, r.Header.Get(respond.HeaderSignature)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.mu.Unlock()
		w.WriteHeader(h.status)
	}))
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func (h *hookServer) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

func runAct(t *testing.T, data, cfg string, args ...string) (string, string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errw, dataDir: data, configPath: cfg, logLevel: "error"}
	c := e.findingsActCmd()
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errw)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(t.Context())
	return out.String(), errw.String(), err
}

func writeActConfig(t *testing.T, okURL, failURL string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "omen.yaml")
	y := `sources: []
actions:
  webhooks:
    - name: soar
      url: ` + okURL + `
      kinds: [block, contain-account]
      template: generic
      secret: act-secret
    - name: hive
      url: ` + failURL + `
      kinds: [open-case]
      template: thehive-alert
      secret: act-secret
      max_attempts: 2
`
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindingsAct(t *testing.T) {
	data, id1, _ := seedFindings(t)
	ok, okURL := newHookServer(t, http.StatusOK)
	bad, badURL := newHookServer(t, http.StatusBadGateway)
	cfg := writeActConfig(t, okURL, badURL)
	id := strconv.FormatInt(id1, 10)

	// Dry run: the payload, nothing sent.
	out, _, err := runAct(t, data, cfg, id, "--kind", "block", "--value", "ipv4:45.137.21.9", "--value", "ipv4:8.8.8.8", "--dry-run", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var dry struct {
		DryRun bool               `json:"dry_run"`
		Plan   respond.ActionPlan `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &dry); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !dry.DryRun || len(dry.Plan.Values) != 1 || dry.Plan.Values[0].Value != "45.137.21.9" || len(dry.Plan.Withheld) != 1 ||
		dry.Plan.Withheld[0].Observable.Value != "8.8.8.8" || len(dry.Plan.Deliveries) != 1 || dry.Plan.Deliveries[0].Webhook != "soar" {
		t.Errorf("dry run %s", out)
	}
	if ok.count() != 0 {
		t.Error("dry run sent a request")
	}

	// A real block: delivered once, audited, noted on the finding.
	out, _, err = runAct(t, data, cfg, id, "--kind", "block", "--value", "ipv4:45.137.21.9")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if ok.count() != 1 || !strings.Contains(out, "delivered to soar") {
		t.Errorf("block: %d requests, output %s", ok.count(), out)
	}

	// An open-case whose webhook always fails: exit 1, dead letter in the audit log.
	out, _, err = runAct(t, data, cfg, id, "--kind", "open-case")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "dead-lettered at hive") || bad.count() != 2 {
		t.Errorf("open-case: err %v, %d requests, output %s", err, bad.count(), out)
	}
	out, _, err = runAct(t, data, cfg, "--dead-letters", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var dl struct {
		DeadLetters []respond.DeadLetter `json:"dead_letters"`
	}
	if err := json.Unmarshal([]byte(out), &dl); err != nil {
		t.Fatal(err)
	}
	if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Webhook != "hive" || dl.DeadLetters[0].Attempts != 2 || dl.DeadLetters[0].FindingID != id1 {
		t.Errorf("dead letters %s", out)
	}
	if out, _, _ := runAct(t, data, cfg, "--dead-letters"); !strings.Contains(out, "hive") || !strings.Contains(out, "HTTP 502") {
		t.Errorf("dead letters table %s", out)
	}

	db, err := sqlite.Open(t.Context(), filepath.Join(data, "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := db.Finding(t.Context(), id1)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, a := range f.Actions {
		if strings.Contains(a, " action ") {
			notes = append(notes, a)
		}
	}
	if len(notes) != 2 {
		t.Errorf("finding actions %q", f.Actions)
	}
	log, err := db.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range log {
		counts[e.Action]++
		if strings.Contains(e.Detail, "act-secret") {
			t.Errorf("audit %s carries the secret", e.Action)
		}
	}
	if counts[respond.AuditActionRequest] != 2 || counts[respond.AuditActionDelivered] != 1 || counts[respond.AuditActionDeadLetter] != 1 {
		t.Errorf("audit counts %v", counts)
	}

	// Errors.
	for name, args := range map[string][]string{
		"no kind":        {id},
		"bad kind":       {id, "--kind", "nuke"},
		"no id":          {"--kind", "block"},
		"bad id":         {"x", "--kind", "block"},
		"missing":        {"999", "--kind", "block"},
		"bad value":      {id, "--kind", "block", "--value", "ipv4:not-an-ip"},
		"untyped value":  {id, "--kind", "block", "--value", "45.137.21.9"},
		"no webhook":     {id, "--kind", "block", "--webhook", "nope"},
		"all withheld":   {id, "--kind", "block", "--value", "ipv4:8.8.8.8"},
		"contain an ip":  {id, "--kind", "contain-account"},
		"dead + id":      {id, "--dead-letters"},
		"bad since":      {"--dead-letters", "--since", "yesterday"},
		"wrong receiver": {id, "--kind", "open-case", "--webhook", "soar"},
	} {
		if _, _, err := runAct(t, data, cfg, args...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAutoPolicyFromConfig(t *testing.T) {
	p, err := autoPolicyFromConfig(config.Actions{Auto: config.Auto{Enabled: true, Kinds: []string{"block"}}})
	if err != nil || !p.Enabled || p.MinPriority != 80 || len(p.Kinds) != 1 || p.Kinds[0] != respond.KindBlock {
		t.Errorf("policy %+v %v", p, err)
	}
	if _, err := autoPolicyFromConfig(config.Actions{Auto: config.Auto{Kinds: []string{"x"}}}); err == nil {
		t.Error("bad kind accepted")
	}
}
