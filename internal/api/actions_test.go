package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store"
)

func TestActionsAPI(t *testing.T) {
	f := newFindingsFixture(t)
	var mu sync.Mutex
	got := map[string][]string{} // webhook path -> delivery keys
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], r.Header.Get(respond.HeaderDelivery))
		mu.Unlock()
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	d, err := respond.NewDispatcher(respond.DispatcherOptions{Audit: f.st, Guard: respond.ActionGuard(respond.NewGuard(nil, lists, nil)),
		Backoff: time.Millisecond, MaxBackoff: time.Millisecond, Webhooks: []respond.Webhook{
			{Name: "soar", URL: srv.URL + "/soar", Template: respond.TemplateGeneric, Kinds: []respond.Kind{respond.KindBlock}},
			{Name: "hive", URL: srv.URL + "/broken", Template: respond.TemplateTheHiveAlert, Kinds: []respond.Kind{respond.KindOpenCase}, MaxAttempts: 2},
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	f.s.registerActions(d)
	f.s.registerActions(d) // idempotent
	path := fmt.Sprintf("/api/v1/findings/%d/actions", f.id1)

	// Dry run: the guard withholds 8.8.8.8, nothing is sent.
	code, body := f.do(t, "POST", path, "analyst", `{"kind":"block","values":["ipv4:45.137.21.9","ipv4:8.8.8.8"],"dry_run":true}`)
	var dry struct {
		DryRun bool               `json:"dry_run"`
		Plan   respond.ActionPlan `json:"plan"`
	}
	if code != 200 || json.Unmarshal(body, &dry) != nil || !dry.DryRun || len(dry.Plan.Values) != 1 || len(dry.Plan.Withheld) != 1 ||
		dry.Plan.Withheld[0].Observable.Value != "8.8.8.8" {
		t.Fatalf("dry run: %d %s", code, body)
	}

	code, body = f.do(t, "POST", path, "analyst", `{"kind":"block","values":["ipv4:45.137.21.9"]}`)
	var res struct {
		Plan respond.ActionPlan `json:"plan"`
	}
	if code != 202 || json.Unmarshal(body, &res) != nil || res.Plan.Action.Actor != "analyst" || len(res.Plan.Deliveries) != 1 {
		t.Fatalf("block: %d %s", code, body)
	}
	code, body = f.do(t, "POST", path, "analyst", `{"kind":"open-case"}`)
	if code != 202 {
		t.Fatalf("open-case: %d %s", code, body)
	}
	if err := d.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got["/soar"]) != 1 || got["/soar"][0] != respond.DeliveryKey(res.Plan.Action.ID, "soar") || len(got["/broken"]) != 2 {
		t.Errorf("deliveries %v", got)
	}
	mu.Unlock()

	code, body = f.do(t, "GET", "/api/v1/actions/dead-letters", "analyst", "")
	var dl struct {
		DeadLetters []respond.DeadLetter `json:"dead_letters"`
	}
	if code != 200 || json.Unmarshal(body, &dl) != nil || len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Webhook != "hive" ||
		dl.DeadLetters[0].Attempts != 2 {
		t.Errorf("dead letters: %d %s", code, body)
	}
	fd, err := f.st.Finding(t.Context(), f.id1)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(fd.Actions, "\n"), " by analyst: queued to "); n != 2 {
		t.Errorf("finding actions %q", fd.Actions)
	}
	log, err := f.st.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range log {
		counts[e.Action]++
	}
	if counts[respond.AuditActionRequest] != 2 || counts[respond.AuditActionDelivered] != 1 || counts[respond.AuditActionDeadLetter] != 1 {
		t.Errorf("audit %v", counts)
	}

	for _, tc := range []struct {
		name, path, key, body string
		want                  int
	}{
		{"reader", path, "reader", `{"kind":"block"}`, 403},
		{"consumer", path, "consumer", `{"kind":"block"}`, 403},
		{"no key", path, "", `{"kind":"block"}`, 401},
		{"bad kind", path, "analyst", `{"kind":"nuke"}`, 400},
		{"unknown field", path, "analyst", `{"kind":"block","force":true}`, 400},
		{"bad value", path, "analyst", `{"kind":"block","values":["ipv4:x"]}`, 400},
		{"untyped value", path, "analyst", `{"kind":"block","values":["45.137.21.9"]}`, 400},
		{"missing finding", "/api/v1/findings/999/actions", "analyst", `{"kind":"open-case"}`, 404},
		{"above clearance", fmt.Sprintf("/api/v1/findings/%d/actions", f.id2), "green", `{"kind":"open-case"}`, 404},
		{"all withheld", path, "analyst", `{"kind":"block","values":["ipv4:8.8.8.8"]}`, 422},
		{"no receiver", path, "analyst", `{"kind":"contain-account","values":["account:jdoe"]}`, 422},
		{"unknown webhook", path, "analyst", `{"kind":"block","webhook":"nope","values":["ipv4:45.137.21.9"]}`, 400},
		{"dead letters reader", "/api/v1/actions/dead-letters", "reader", "", 403},
		{"dead letters since", "/api/v1/actions/dead-letters?since=yesterday", "analyst", "", 400},
	} {
		method := "POST"
		if strings.HasSuffix(tc.path, "dead-letters") || strings.Contains(tc.path, "dead-letters?") {
			method = "GET"
		}
		if code, body := f.do(t, method, tc.path, tc.key, tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
}
