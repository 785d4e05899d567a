package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Audit actions written by the dispatcher.
const (
	AuditActionRequest    = "action.request"     // an action was accepted: values, withheld values, payload hashes
	AuditActionDelivered  = "action.delivered"   // one webhook acknowledged it
	AuditActionDeadLetter = "action.dead-letter" // one webhook never did: the dead letter, payload included
)

// Dispatcher errors.
var (
	ErrNoWebhook      = errors.New("no webhook receives this action")
	ErrUnknownWebhook = errors.New("no such webhook")
	ErrNoValues       = errors.New("nothing left to act on")
	ErrClosed         = errors.New("the dispatcher is closed")
	ErrBusy           = errors.New("too many deliveries pending")
	errPermanent      = errors.New("permanent failure")
)

const defaultStatus = 0

// GuardFunc says whether a value must never be blocked (the organisation's own assets,
// warninglisted infrastructure, the allowlist) and why.
type GuardFunc func(intel.Observable) (reason string, blocked bool)

// Auditor appends to the audit log; a [store.Store] is one.
type Auditor interface {
	AppendAudit(ctx context.Context, e intel.AuditEntry) error
}

// AuditReader reads the audit log; a [store.Store] is one.
type AuditReader interface {
	AuditLog(ctx context.Context, f store.AuditFilter) ([]intel.AuditEntry, error)
}

// DispatcherOptions configure a [Dispatcher].
type DispatcherOptions struct {
	Webhooks []Webhook
	// Audit receives every action, delivery and dead letter (required).
	Audit  Auditor
	Logger *slog.Logger
	// Client sends the requests; by default one that does not follow redirects (a redirect is a
	// failed attempt: the signed body is not replayed to another host).
	Client *http.Client
	// Guard filters the values of block actions (required for block actions: without one they
	// are refused).
	Guard GuardFunc
	// Recommend gives an action's recommendations; nil uses the finding's own.
	Recommend func(intel.Finding) []string
	// Backoff is the wait after the first failed attempt, doubled (plus up to 50% jitter) after
	// each further one, at most MaxBackoff (defaults 2s and 5m).
	Backoff, MaxBackoff time.Duration
	// Concurrency caps simultaneous requests (default 4); MaxPending caps deliveries in flight
	// (default 1024).
	Concurrency, MaxPending int
	Now                     func() time.Time
}

// Dispatcher sends actions to webhooks in the background: signed, retried with exponential
// backoff under one idempotency key per action and webhook, audited, and dead-lettered after the
// webhook's last attempt. It is safe for concurrent use.
type Dispatcher struct {
	o       DispatcherOptions
	log     *slog.Logger
	hooks   []Webhook
	ctx     context.Context
	cancel  context.CancelFunc
	sem     chan struct{}
	wg      sync.WaitGroup
	pending atomic.Int64

	mu     sync.Mutex
	closed bool
	dead   []DeadLetter
}

// NewDispatcher validates the webhooks and starts a dispatcher; [Dispatcher.Close] stops it.
func NewDispatcher(o DispatcherOptions) (*Dispatcher, error) {
	if o.Audit == nil {
		return nil, errors.New("dispatcher: an audit log is required")
	}
	seen := map[string]bool{}
	for _, w := range o.Webhooks {
		if err := w.Validate(); err != nil {
			return nil, fmt.Errorf("dispatcher: %w", err)
		}
		if seen[w.Name] {
			return nil, fmt.Errorf("dispatcher: webhook %s defined twice", w.Name)
		}
		seen[w.Name] = true
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Dispatcher{o: o, log: o.Logger, hooks: slices.Clone(o.Webhooks), sem: make(chan struct{}, o.Concurrency)}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// Webhooks returns the configured webhooks.
func (d *Dispatcher) Webhooks() []Webhook { return slices.Clone(d.hooks) }

// ActionPlan is what an action will send, before anything is sent: the dry run of an action.
type ActionPlan struct {
	Action Action `json:"action"`
	// Values are the values acted on, after the guard.
	Values []intel.Observable `json:"values"`
	// Withheld are the values the guard kept out of a block action, and why.
	Withheld   []Removal         `json:"withheld,omitempty"`
	Deliveries []PlannedDelivery `json:"deliveries"`
}

// PlannedDelivery is one webhook's request of a [ActionPlan].
type PlannedDelivery struct {
	Webhook       string          `json:"webhook"`
	Template      Template        `json:"template"`
	Delivery      string          `json:"delivery"` // the idempotency key
	PayloadSHA256 string          `json:"payload_sha256"`
	Payload       json.RawMessage `json:"payload"`
	hook          Webhook
}

// Plan checks action a and builds its payloads without sending anything. An empty ID or
// Requested time is filled in.
func (d *Dispatcher) Plan(a Action) (ActionPlan, error) {
	if _, err := ParseKind(string(a.Kind)); err != nil {
		return ActionPlan{}, err
	}
	if a.ID == "" {
		a.ID = NewActionID()
	}
	if a.Requested.IsZero() {
		a.Requested = d.o.Now()
	}
	p := ActionPlan{Action: a}
	vals, withheld, err := d.values(a)
	if err != nil {
		return ActionPlan{}, err
	}
	p.Values, p.Withheld = vals, withheld
	var hooks []Webhook
	for _, w := range d.hooks {
		if a.Webhook != "" && w.Name != a.Webhook {
			continue
		}
		if w.Receives(a.Kind) {
			hooks = append(hooks, w)
		}
	}
	if len(hooks) == 0 {
		if a.Webhook != "" {
			if !slices.ContainsFunc(d.hooks, func(w Webhook) bool { return w.Name == a.Webhook }) {
				return ActionPlan{}, fmt.Errorf("webhook %q: %w", a.Webhook, ErrUnknownWebhook)
			}
			return ActionPlan{}, fmt.Errorf("webhook %q does not receive %s actions: %w", a.Webhook, a.Kind, ErrNoWebhook)
		}
		return ActionPlan{}, fmt.Errorf("%s action: %w", a.Kind, ErrNoWebhook)
	}
	recs := a.Finding.Recommendations
	if d.o.Recommend != nil {
		recs = d.o.Recommend(a.Finding)
	}
	for _, w := range hooks {
		key := DeliveryKey(a.ID, w.Name)
		body, err := WebhookPayload(w.Template, a, vals, recs, key)
		if err != nil {
			return ActionPlan{}, fmt.Errorf("webhook %s: %w", w.Name, err)
		}
		p.Deliveries = append(p.Deliveries, PlannedDelivery{Webhook: w.Name, Template: w.Template, Delivery: key,
			PayloadSHA256: PayloadSHA256(body), Payload: body, hook: w})
	}
	return p, nil
}

// values returns the values action a may carry: block actions lose the unblockable types and what
// the guard withholds; contain-account keeps accounts and e-mail addresses.
func (d *Dispatcher) values(a Action) ([]intel.Observable, []Removal, error) {
	var out []intel.Observable
	var withheld []Removal
	seen := map[intel.Observable]bool{}
	for _, v := range a.values() {
		if seen[v] {
			continue
		}
		seen[v] = true
		switch a.Kind {
		case KindBlock:
			if v.Type == intel.Account || v.Type == intel.CVE {
				withheld = append(withheld, Removal{Observable: v, Reason: "type", Detail: string(v.Type) + " values cannot be blocked"})
				continue
			}
			if d.o.Guard == nil {
				return nil, nil, errors.New("block action: no guard configured, refusing to block unchecked values")
			}
			if reason, blocked := d.o.Guard(v); blocked {
				withheld = append(withheld, Removal{Observable: v, Reason: "guard", Detail: reason})
				continue
			}
		case KindContainAccount:
			if v.Type != intel.Account && v.Type != intel.Email {
				withheld = append(withheld, Removal{Observable: v, Reason: "type", Detail: "only accounts and e-mail addresses can be contained"})
				continue
			}
		}
		out = append(out, v)
	}
	if len(out) == 0 && a.Kind != KindOpenCase {
		what := "values to block"
		if a.Kind == KindContainAccount {
			what = "account or e-mail address to contain"
		}
		if len(withheld) > 0 {
			return nil, withheld, fmt.Errorf("%s action: no %s (%d withheld: %s): %w", a.Kind, what, len(withheld), withheldText(withheld), ErrNoValues)
		}
		return nil, nil, fmt.Errorf("%s action: no %s: %w", a.Kind, what, ErrNoValues)
	}
	return out, withheld, nil
}

func withheldText(rs []Removal) string {
	parts := make([]string, 0, min(len(rs), 3))
	for _, r := range rs[:min(len(rs), 3)] {
		parts = append(parts, r.Observable.Value+" "+r.Reason)
	}
	if len(rs) > 3 {
		parts = append(parts, "...")
	}
	return strings.Join(parts, ", ")
}

// Dispatch audits action a and queues its deliveries; it returns once they are queued.
func (d *Dispatcher) Dispatch(ctx context.Context, a Action) error {
	_, err := d.Submit(ctx, a)
	return err
}

// Submit is [Dispatcher.Dispatch], returning the plan it queued.
func (d *Dispatcher) Submit(ctx context.Context, a Action) (ActionPlan, error) {
	p, err := d.Plan(a)
	if err != nil {
		return ActionPlan{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ActionPlan{}, ErrClosed
	}
	if int(d.pending.Load())+len(p.Deliveries) > d.o.MaxPending {
		return ActionPlan{}, ErrBusy
	}
	type hookRef struct {
		Webhook       string `json:"webhook"`
		Delivery      string `json:"delivery"`
		PayloadSHA256 string `json:"payload_sha256"`
	}
	refs := make([]hookRef, 0, len(p.Deliveries))
	for _, x := range p.Deliveries {
		refs = append(refs, hookRef{x.Webhook, x.Delivery, x.PayloadSHA256})
	}
	detail, _ := json.Marshal(map[string]any{"action_id": p.Action.ID, "kind": p.Action.Kind, "finding_id": p.Action.Finding.ID,
		"values": p.Values, "withheld": p.Withheld, "deliveries": refs})
	if err := d.o.Audit.AppendAudit(ctx, intel.AuditEntry{Actor: actionActor(p.Action), Action: AuditActionRequest,
		Object: actionObject(p.Action), Detail: string(detail)}); err != nil {
		return ActionPlan{}, fmt.Errorf("auditing action %s: %w", p.Action.ID, err)
	}
	for _, x := range p.Deliveries {
		d.pending.Add(1)
		d.wg.Add(1)
		go d.deliver(p.Action, x)
	}
	d.log.Info("action queued", "action", p.Action.ID, "kind", p.Action.Kind, "finding", p.Action.Finding.ID,
		"webhooks", len(p.Deliveries), "values", len(p.Values), "withheld", len(p.Withheld))
	return p, nil
}

func actionActor(a Action) string {
	if a.Actor == "" {
		return "system"
	}
	return a.Actor
}

func actionObject(a Action) string { return "finding:" + strconv.FormatInt(a.Finding.ID, 10) }

// Close stops accepting actions and waits for the queued deliveries; when ctx ends first, the
// rest are cancelled and dead-lettered.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return fmt.Errorf("closing the dispatcher: %w", ctx.Err())
	}
}

// Wait blocks until no delivery is in flight, or ctx ends.
func (d *Dispatcher) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DeadLetter is a delivery that failed its last attempt.
type DeadLetter struct {
	Time          time.Time       `json:"time"`
	ActionID      string          `json:"action_id"`
	Kind          Kind            `json:"kind"`
	FindingID     int64           `json:"finding_id"`
	Webhook       string          `json:"webhook"`
	Delivery      string          `json:"delivery"`
	Attempts      int             `json:"attempts"`
	Status        int             `json:"status,omitempty"` // the last HTTP status, 0 when none
	LastError     string          `json:"last_error"`
	PayloadSHA256 string          `json:"payload_sha256"`
	Payload       json.RawMessage `json:"payload,omitempty"`
}

// DeadLetters returns the dead letters of this dispatcher's lifetime, oldest first.
func (d *Dispatcher) DeadLetters() []DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dead)
}

// ReadDeadLetters reads the dead letters recorded in the audit log at or after since, newest
// first (limit 0: all).
func ReadDeadLetters(ctx context.Context, log AuditReader, since time.Time, limit int) ([]DeadLetter, error) {
	es, err := log.AuditLog(ctx, store.AuditFilter{Since: since})
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	var out []DeadLetter
	for _, e := range es {
		if e.Action != AuditActionDeadLetter {
			continue
		}
		var dl DeadLetter
		if err := json.Unmarshal([]byte(e.Detail), &dl); err != nil {
			return nil, fmt.Errorf("audit entry %d: dead letter detail: %w", e.ID, err)
		}
		if dl.Time.IsZero() {
			dl.Time = e.Time
		}
		out = append(out, dl)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// deliver sends one payload to one webhook until it is acknowledged or the attempts run out.
func (d *Dispatcher) deliver(a Action, x PlannedDelivery) {
	defer d.wg.Done()
	defer d.pending.Add(-1)
	w := x.hook
	var (
		lastErr  error
		status   int
		attempts int
		wait     time.Duration
	)
	for attempt := 1; attempt <= w.maxAttempts(); attempt++ {
		if attempt > 1 {
			if wait <= 0 {
				wait = fetch.Backoff(d.o.Backoff, d.o.MaxBackoff, attempt-1)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-d.ctx.Done():
				t.Stop()
				lastErr = fmt.Errorf("cancelled before attempt %d: %w", attempt, d.ctx.Err())
			}
			if d.ctx.Err() != nil {
				break
			}
		}
		attempts = attempt
		var err error
		status, wait, err = d.send(w, x, a.Kind)
		if err == nil {
			d.audit(AuditActionDelivered, a, map[string]any{"action_id": a.ID, "kind": a.Kind, "finding_id": a.Finding.ID,
				"webhook": w.Name, "delivery": x.Delivery, "attempts": attempt, "status": status, "payload_sha256": x.PayloadSHA256})
			d.log.Info("action delivered", "action", a.ID, "webhook", w.Name, "attempts", attempt, "status", status)
			return
		}
		lastErr = err
		d.log.Warn("action delivery failed", "action", a.ID, "webhook", w.Name, "attempt", attempt,
			"max_attempts", w.maxAttempts(), "err", err)
		if errors.Is(err, errPermanent) || d.ctx.Err() != nil {
			break
		}
	}
	dl := DeadLetter{Time: d.o.Now().UTC(), ActionID: a.ID, Kind: a.Kind, FindingID: a.Finding.ID, Webhook: w.Name,
		Delivery: x.Delivery, Attempts: attempts, Status: status, LastError: lastErr.Error(),
		PayloadSHA256: x.PayloadSHA256, Payload: x.Payload}
	d.mu.Lock()
	d.dead = append(d.dead, dl)
	d.mu.Unlock()
	d.audit(AuditActionDeadLetter, a, dl)
	d.log.Error("action dead-lettered", "action", a.ID, "webhook", w.Name, "attempts", attempts, "err", lastErr)
}

func (d *Dispatcher) audit(action string, a Action, detail any) {
	b, _ := json.Marshal(detail)
	ctx := context.WithoutCancel(d.ctx)
	if err := d.o.Audit.AppendAudit(ctx, intel.AuditEntry{Actor: actionActor(a), Action: action, Object: actionObject(a),
		Detail: string(b)}); err != nil {
		d.log.Error("auditing an action", "action", a.ID, "audit", action, "err", err)
	}
}

// send makes one attempt. It returns the HTTP status, a Retry-After wait (0: use the backoff),
// and an error wrapping errPermanent when retrying cannot help.
func (d *Dispatcher) send(w Webhook, x PlannedDelivery, kind Kind) (int, time.Duration, error) {
	select {
	case d.sem <- struct{}{}:
	case <-d.ctx.Done():
		return defaultStatus, 0, d.ctx.Err()
	}
	defer func() { <-d.sem }()
	ctx, cancel := context.WithTimeout(d.ctx, w.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(x.Payload))
	if err != nil {
		return defaultStatus, 0, fmt.Errorf("building the request: %w: %w", errPermanent, err)
	}
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	now := d.o.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "omen-webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderDelivery, x.Delivery)
	req.Header.Set(HeaderKind, string(kind))
	if w.Secret != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(w.Secret), ts, x.Payload))
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token in its query: keep it out of logs and the audit log
		}
		return defaultStatus, 0, fmt.Errorf("POST %s: %w", config.RedactURL(w.URL), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return c, 0, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooEarly || c == http.StatusTooManyRequests || c >= 500:
		wait := fetch.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		if wait > d.o.MaxBackoff {
			wait = d.o.MaxBackoff
		}
		return c, max(wait, 0), fmt.Errorf("POST %s: HTTP %d", config.RedactURL(w.URL), c)
	default:
		return c, 0, fmt.Errorf("POST %s: HTTP %d: %w", config.RedactURL(w.URL), c, errPermanent)
	}
}
