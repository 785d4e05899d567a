package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// memAudit is an in-memory audit log.
type memAudit struct {
	mu sync.Mutex
	es []intel.AuditEntry
}

func (m *memAudit) AppendAudit(_ context.Context, e intel.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.ID = int64(len(m.es) + 1)
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	m.es = append(m.es, e)
	return nil
}

func (m *memAudit) AuditLog(_ context.Context, f store.AuditFilter) ([]intel.AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []intel.AuditEntry
	for i := len(m.es) - 1; i >= 0; i-- {
		if !m.es[i].Time.Before(f.Since) {
			out = append(out, m.es[i])
		}
	}
	return out, nil
}

func (m *memAudit) actions(name string) []intel.AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []intel.AuditEntry
	for _, e := range m.es {
		if e.Action == name {
			out = append(out, e)
		}
	}
	return out
}

// receiver is a webhook endpoint on 127.0.0.1 that fails its first fail requests of every
// delivery with status code, verifies signatures, and counts what it accepted.
type receiver struct {
	t      *testing.T
	secret string
	fail   int // failures per delivery before success; -1: always
	code   int

	mu        sync.Mutex
	attempts  map[string]int // delivery key -> requests
	accepted  map[string]int // delivery key -> processed (deduplicated by key)
	bodies    [][]byte
	headers   []http.Header
	badSigned int
}

func newReceiver(t *testing.T, secret string, fail, code int) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: secret, fail: fail, code: code, attempts: map[string]int{}, accepted: map[string]int{}}
	srv := httptest.NewServer(r) // binds 127.0.0.1
	t.Cleanup(srv.Close)
	return r, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := req.Header.Get(HeaderDelivery)
	rc.attempts[key]++
	rc.bodies = append(rc.bodies, body)
	rc.headers = append(rc.headers, req.Header.Clone())
	if rc.secret != "" && !Verify([]byte(rc.secret), req.Header.Get(HeaderTimestamp), body, req.Header.Get(HeaderSignature)) {
		rc.badSigned++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.fail < 0 || rc.attempts[key] <= rc.fail {
		http.Error(w, "try later", rc.code)
		return
	}
	if rc.accepted[key] == 0 { // idempotent: a repeated key is acknowledged, not processed again
		rc.accepted[key]++
	}
	w.WriteHeader(http.StatusAccepted)
}

func (rc *receiver) count(key string) (attempts, accepted int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.attempts[key], rc.accepted[key]
}

func (rc *receiver) body(i int) []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if i >= len(rc.bodies) {
		return nil
	}
	return rc.bodies[i]
}

func noGuard(intel.Observable) (string, bool) { return "", false }

func testDispatcher(t *testing.T, audit *memAudit, log io.Writer, hooks ...Webhook) *Dispatcher {
	t.Helper()
	lg := slog.New(slog.DiscardHandler)
	if log != nil {
		lg = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := NewDispatcher(DispatcherOptions{Webhooks: hooks, Audit: audit, Logger: lg, Guard: noGuard,
		Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

var c2 = intel.Observable{Type: intel.IPv4, Value: "203.0.113.66"}

func testFinding() intel.Finding {
	o := c2
	return intel.Finding{ID: 42, Kind: "indicator-match", Title: "C2 contact from pay-gw-01", Observable: &o,
		Priority: 91, Level: "critical", TLP: intel.TLPAmber, Evidence: []string{"Reported by feodo (B) 2 days ago."},
		Recommendations: []string{"Block 203.0.113.66 at egress."}}
}

func TestDispatchFlakyReceiverGetsActionOnce(t *testing.T) {
	const secret = "s3cr3t-hmac-key"
	rc, srv := newReceiver(t, secret, 2, http.StatusServiceUnavailable)
	audit := &memAudit{}
	var logs bytes.Buffer
	d := testDispatcher(t, audit, &logs, Webhook{Name: "soar", URL: srv.URL + "/hook?token=tok-in-query", Template: TemplateGeneric,
		Secret: secret, Headers: map[string]string{"Authorization": "Bearer hdr-secret"}, MaxAttempts: 5})
	p, err := d.Submit(context.Background(), Action{Kind: KindBlock, Finding: testFinding(), Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	key := DeliveryKey(p.Action.ID, "soar")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.attempts[key] != 3 || len(rc.attempts) != 1 {
		t.Errorf("attempts %v, want 3 requests all with key %s", rc.attempts, key)
	}
	if rc.accepted[key] != 1 {
		t.Errorf("accepted %d times, want exactly once", rc.accepted[key])
	}
	if rc.badSigned != 0 {
		t.Errorf("%d requests with a bad signature", rc.badSigned)
	}
	for i, b := range rc.bodies {
		if !bytes.Equal(b, rc.bodies[0]) {
			t.Errorf("attempt %d body differs from the first: %s", i+1, b)
		}
		if h := rc.headers[i]; h.Get("Authorization") != "Bearer hdr-secret" || h.Get(HeaderKind) != "block" ||
			h.Get("Content-Type") != "application/json" {
			t.Errorf("attempt %d headers %v", i+1, h)
		}
	}
	var body GenericPayload
	if err := json.Unmarshal(rc.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	if body.Schema != PayloadSchema || body.Action.ID != p.Action.ID || body.Delivery != key || body.Finding.ID != 42 ||
		!slices.Equal(body.Values, []intel.Observable{c2}) || body.Priority != 91 || len(body.Evidence) != 1 || len(body.Recommendations) != 1 {
		t.Errorf("payload %+v", body)
	}
	if got := audit.actions(AuditActionRequest); len(got) != 1 || got[0].Actor != "cli" || got[0].Object != "finding:42" ||
		!strings.Contains(got[0].Detail, PayloadSHA256(rc.bodies[0])) {
		t.Errorf("request audit %+v", got)
	}
	if got := audit.actions(AuditActionDelivered); len(got) != 1 || !strings.Contains(got[0].Detail, `"attempts":3`) ||
		!strings.Contains(got[0].Detail, PayloadSHA256(rc.bodies[0])) {
		t.Errorf("delivered audit %+v", got)
	}
	if dl := d.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters %+v", dl)
	}
	for _, secretText := range []string{secret, "hdr-secret", "tok-in-query"} {
		if strings.Contains(logs.String(), secretText) {
			t.Errorf("log carries %q:\n%s", secretText, logs.String())
		}
		for _, e := range audit.es {
			if strings.Contains(e.Detail, secretText) {
				t.Errorf("audit %s carries %q", e.Action, secretText)
			}
		}
	}
}

func TestDispatchAlwaysFailingEndsInDeadLetters(t *testing.T) {
	rc, srv := newReceiver(t, "", -1, http.StatusInternalServerError)
	ok, okSrv := newReceiver(t, "", 0, 0)
	audit := &memAudit{}
	d := testDispatcher(t, audit, nil,
		Webhook{Name: "broken", URL: srv.URL, Template: TemplateShuffle, MaxAttempts: 3},
		Webhook{Name: "cases", URL: okSrv.URL, Template: TemplateTheHiveAlert, Kinds: []Kind{KindOpenCase, KindBlock}})
	p, err := d.Submit(context.Background(), Action{Kind: KindBlock, Finding: testFinding(), Actor: "analyst-key"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := rc.count(DeliveryKey(p.Action.ID, "broken")); n != 3 {
		t.Errorf("broken webhook got %d attempts, want 3", n)
	}
	if _, n := ok.count(DeliveryKey(p.Action.ID, "cases")); n != 1 {
		t.Errorf("cases webhook accepted %d, want 1", n)
	}
	dl := d.DeadLetters()
	if len(dl) != 1 || dl[0].Webhook != "broken" || dl[0].Attempts != 3 || dl[0].Status != 500 || dl[0].ActionID != p.Action.ID ||
		dl[0].FindingID != 42 || dl[0].Kind != KindBlock || !strings.Contains(dl[0].LastError, "HTTP 500") || len(dl[0].Payload) == 0 {
		t.Fatalf("dead letters %+v", dl)
	}
	got, err := ReadDeadLetters(context.Background(), audit, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Delivery != dl[0].Delivery || got[0].PayloadSHA256 != PayloadSHA256(rc.body(0)) {
		t.Errorf("audit dead letters %+v", got)
	}
	if e := audit.actions(AuditActionDeadLetter); len(e) != 1 || e[0].Actor != "analyst-key" {
		t.Errorf("dead-letter audit %+v", e)
	}
}

func TestDispatchPermanentFailureStopsRetrying(t *testing.T) {
	rc, srv := newReceiver(t, "", -1, http.StatusBadRequest)
	audit := &memAudit{}
	d := testDispatcher(t, audit, nil, Webhook{Name: "strict", URL: srv.URL, Template: TemplateN8N})
	p, err := d.Submit(context.Background(), Action{Kind: KindOpenCase, Finding: testFinding()})
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Wait(context.Background())
	if n, _ := rc.count(DeliveryKey(p.Action.ID, "strict")); n != 1 {
		t.Errorf("%d attempts after HTTP 400, want 1", n)
	}
	if dl := d.DeadLetters(); len(dl) != 1 || dl[0].Attempts != 1 || dl[0].Status != 400 {
		t.Errorf("dead letters %+v", dl)
	}
}

func TestDispatchRefusesRedirect(t *testing.T) {
	target, targetSrv := newReceiver(t, "", 0, 0)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targetSrv.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	d := testDispatcher(t, &memAudit{}, nil, Webhook{Name: "moved", URL: redirect.URL, MaxAttempts: 1, Template: TemplateGeneric})
	if _, err := d.Submit(context.Background(), Action{Kind: KindOpenCase, Finding: testFinding()}); err != nil {
		t.Fatal(err)
	}
	_ = d.Wait(context.Background())
	if target.body(0) != nil {
		t.Error("the signed body followed a redirect")
	}
	if dl := d.DeadLetters(); len(dl) != 1 || dl[0].Status != http.StatusTemporaryRedirect {
		t.Errorf("dead letters %+v", dl)
	}
}

func TestPlanGuardAndRouting(t *testing.T) {
	audit := &memAudit{}
	own := intel.Observable{Type: intel.IPv4, Value: "10.1.2.3"}
	dns := intel.Observable{Type: intel.IPv4, Value: "8.8.8.8"}
	guard := func(o intel.Observable) (string, bool) {
		switch o {
		case own:
			return `own-asset: asset "HQ LAN" 10.0.0.0/8`, true
		case dns:
			return `warninglist: "List of known Google DNS resolvers"`, true
		}
		return "", false
	}
	d, err := NewDispatcher(DispatcherOptions{Audit: audit, Guard: guard, Webhooks: []Webhook{
		{Name: "fw", URL: "https://soar.example/hook", Template: TemplateGeneric, Kinds: []Kind{KindBlock}},
		{Name: "idp", URL: "https://idp.example/hook", Template: TemplateShuffle, Kinds: []Kind{KindContainAccount}},
		{Name: "hive", URL: "https://hive.example/api/v1/alert", Template: TemplateTheHiveAlert, Kinds: []Kind{KindOpenCase}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	user := intel.Observable{Type: intel.Account, Value: "jdoe"}
	p, err := d.Plan(Action{Kind: KindBlock, Finding: testFinding(), Values: []intel.Observable{c2, own, dns, user, c2}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Values, []intel.Observable{c2}) || len(p.Withheld) != 3 || len(p.Deliveries) != 1 || p.Deliveries[0].Webhook != "fw" {
		t.Errorf("plan %+v", p)
	}
	if p.Withheld[0].Reason != "guard" || !strings.Contains(p.Withheld[0].Detail, "HQ LAN") || p.Withheld[2].Reason != "type" {
		t.Errorf("withheld %+v", p.Withheld)
	}
	if strings.Contains(string(p.Deliveries[0].Payload), "10.1.2.3") || strings.Contains(string(p.Deliveries[0].Payload), "8.8.8.8") {
		t.Errorf("guarded values in the payload: %s", p.Deliveries[0].Payload)
	}
	if _, err := d.Plan(Action{Kind: KindBlock, Finding: testFinding(), Values: []intel.Observable{own, dns}}); !errors.Is(err, ErrNoValues) {
		t.Errorf("all-guarded block: err %v, want ErrNoValues", err)
	}
	if _, err := d.Plan(Action{Kind: KindContainAccount, Finding: testFinding()}); !errors.Is(err, ErrNoValues) {
		t.Errorf("contain an IP: err %v, want ErrNoValues", err)
	}
	p, err = d.Plan(Action{Kind: KindContainAccount, Finding: testFinding(), Values: []intel.Observable{user}})
	if err != nil || len(p.Deliveries) != 1 || p.Deliveries[0].Webhook != "idp" {
		t.Fatalf("contain: %+v %v", p, err)
	}
	var flat FlatPayload
	if err := json.Unmarshal(p.Deliveries[0].Payload, &flat); err != nil {
		t.Fatal(err)
	}
	if flat.Value != "jdoe" || flat.ValueType != "account" || !slices.Equal(flat.Steps, ContainSteps) || flat.TLP != "TLP:AMBER" {
		t.Errorf("flat payload %+v", flat)
	}
	if _, err := d.Plan(Action{Kind: KindBlock, Finding: testFinding(), Webhook: "hive"}); !errors.Is(err, ErrNoWebhook) {
		t.Errorf("block via hive: err %v, want ErrNoWebhook", err)
	}
	if _, err := d.Plan(Action{Kind: KindBlock, Finding: testFinding(), Webhook: "nope"}); err == nil || !strings.Contains(err.Error(), "no such webhook") {
		t.Errorf("unknown webhook: err %v", err)
	}
	if _, err := d.Plan(Action{Kind: "reboot", Finding: testFinding()}); err == nil {
		t.Error("unknown kind accepted")
	}
	if len(audit.es) != 0 {
		t.Errorf("Plan audited %d entries, want none", len(audit.es))
	}
	unguarded, err := NewDispatcher(DispatcherOptions{Audit: audit, Webhooks: []Webhook{{Name: "fw", URL: "https://soar.example/", Template: TemplateGeneric}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unguarded.Plan(Action{Kind: KindBlock, Finding: testFinding()}); err == nil || !strings.Contains(err.Error(), "no guard") {
		t.Errorf("unguarded block: err %v", err)
	}
}

func TestSubmitAfterClose(t *testing.T) {
	_, srv := newReceiver(t, "", 0, 0)
	d := testDispatcher(t, &memAudit{}, nil, Webhook{Name: "x", URL: srv.URL, Template: TemplateGeneric})
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Dispatch(context.Background(), Action{Kind: KindOpenCase, Finding: testFinding()}); !errors.Is(err, ErrClosed) {
		t.Errorf("err %v, want ErrClosed", err)
	}
}

func TestCloseCancelsAndDeadLetters(t *testing.T) {
	_, srv := newReceiver(t, "", -1, http.StatusServiceUnavailable)
	audit := &memAudit{}
	d, err := NewDispatcher(DispatcherOptions{Audit: audit, Guard: noGuard, Backoff: time.Hour, MaxBackoff: time.Hour,
		Webhooks: []Webhook{{Name: "slow", URL: srv.URL, Template: TemplateGeneric}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Dispatch(context.Background(), Action{Kind: KindOpenCase, Finding: testFinding()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // give up at once: the delivery waits an hour for its second attempt
	if err := d.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("close: %v", err)
	}
	if dl := d.DeadLetters(); len(dl) != 1 || len(audit.actions(AuditActionDeadLetter)) != 1 {
		t.Errorf("dead letters %+v", dl)
	}
}

func TestWebhookValidate(t *testing.T) {
	good := Webhook{Name: "soar-1", URL: "https://soar.example/hook", Template: TemplateGeneric}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Webhook){
		"bad name":      func(w *Webhook) { w.Name = "Bad Name" },
		"ftp url":       func(w *Webhook) { w.URL = "ftp://soar.example/" },
		"relative url":  func(w *Webhook) { w.URL = "/hook" },
		"userinfo":      func(w *Webhook) { w.URL = "https://u:p@soar.example/" },
		"no host":       func(w *Webhook) { w.URL = "https:///x" },
		"template":      func(w *Webhook) { w.Template = "xml" },
		"kind":          func(w *Webhook) { w.Kinds = []Kind{"reboot"} },
		"header":        func(w *Webhook) { w.Headers = map[string]string{"Bad Header": "x"} },
		"omen header":   func(w *Webhook) { w.Headers = map[string]string{"x-omen-delivery": "x"} },
		"attempts":      func(w *Webhook) { w.MaxAttempts = 99 },
		"timeout":       func(w *Webhook) { w.Timeout = -time.Second },
		"content-type":  func(w *Webhook) { w.Headers = map[string]string{"content-type": "text/plain"} },
		"empty url":     func(w *Webhook) { w.URL = "" },
		"control chars": func(w *Webhook) { w.URL = "https://soar.example/\x00" },
	} {
		w := good
		mod(&w)
		if err := w.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, w)
		}
	}
	w := Webhook{Name: "x", URL: "https://h.example/p?token=abc", Secret: "topsecret", Headers: map[string]string{"Authorization": "Bearer zzz"}}
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("hook", "webhook", w, "str", w.String(), "gostr", w.GoString())
	for _, s := range []string{"topsecret", "zzz", "abc"} {
		if strings.Contains(b.String(), s) {
			t.Errorf("logged %q: %s", s, b.String())
		}
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"a":1}`)
	sig := Sign([]byte("k"), "1700000000", body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 {
		t.Fatalf("signature %q", sig)
	}
	if !Verify([]byte("k"), "1700000000", body, sig) || Verify([]byte("k"), "1700000001", body, sig) ||
		Verify([]byte("j"), "1700000000", body, sig) || Verify([]byte("k"), "1700000000", []byte(`{"a":2}`), sig) {
		t.Error("verify accepts the wrong input or refuses the right one")
	}
	if DeliveryKey("act-1", "a") == DeliveryKey("act-1", "b") || DeliveryKey("act-1", "a") != DeliveryKey("act-1", "a") {
		t.Error("delivery keys not stable per action and webhook")
	}
}
