// Package findings turns enriched events into work for the SOC: it records internal sightings of
// matched values, opens or updates deduplicated findings, applies the analysts' verdicts (status
// workflow, allowlist, learned source reliability) and keeps the audit trail.
//
// # Deduplication
//
// A finding is identified by its key, [Key] (kind, observable, asset). [Service.Raise] looks at the
// newest finding with the candidate's key and:
//
//   - folds the event into it when it is open (new, triaged, in progress) and the event is at most
//     Window after its LastSeen (the window slides: a beacon every minute for a week stays one
//     finding);
//   - folds the event into a false-positive finding when the event is less than Window after the
//     verdict (ClosedAt): the analyst said "not a threat", so a burst that was already under way is
//     absorbed silently instead of opening a new finding. After that a new finding opens (the
//     value is on the allowlist by then, so the pipeline normally drops it before Raise);
//   - folds a late event (event time at or before ClosedAt) into a resolved finding, but opens a
//     new finding for activity after the resolution: a recurrence after remediation is exactly
//     what a SOC wants to hear about (failed clean-up, reinfection);
//   - otherwise opens a new finding, noting in its actions which finding it follows.
//
// A closed finding is never reopened by events; only an analyst reopens a resolved finding
// ([Service.Set], resolved -> triaged). Folding adds one to Count, widens LastSeen and, when the
// event's priority is higher, takes its priority, level, title, evidence, recommendations and
// detail (the finding shows its strongest event); the TLP becomes the more restrictive of the two.
// The status, assignee and note are never changed by events.
//
// Raise serialises calls per key inside one Service, and every read-modify-write of a finding is
// one store transaction ([store.Store.UpdateFinding]). Two processes raising the same new key at
// the same instant may still open two findings; run one Service per store for strict dedupe.
package findings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Defaults of [Options].
const (
	DefaultWindow      = 24 * time.Hour
	DefaultMinPriority = 60
)

// Options configures a [Service].
type Options struct {
	// Window is the dedupe window (default 24h), see the package documentation.
	Window time.Duration
	// MinPriority is the priority (0..100) an event needs to raise a finding; 0 means the default
	// 60, a negative value lets every event through.
	MinPriority int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service records sightings and manages findings. Its methods are safe for concurrent use.
type Service struct {
	st   store.Store
	log  *slog.Logger
	opts Options

	keys keyLocks

	sightMu sync.Mutex
	pending map[sightKey]*intel.Sighting
	dropped int           // sightings dropped since the last flush because pending was full
	kick    chan struct{} // wakes the flusher when pending reaches flushAt
	flushMu sync.Mutex    // one flush at a time
}

// New returns a service over st. A nil logger discards log output.
func New(st store.Store, log *slog.Logger, opts Options) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MinPriority == 0 {
		opts.MinPriority = DefaultMinPriority
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{st: st, log: log, opts: opts, pending: map[sightKey]*intel.Sighting{}, kick: make(chan struct{}, 1)}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// Key returns the dedupe key of a finding: "kind|type:value|asset:ID", with "-" for no observable
// and "asset:none" for no asset.
func Key(kind string, o intel.Observable, assetID int64) string {
	obs := "-"
	if o.Type != "" {
		obs = o.String()
	}
	asset := "none"
	if assetID != 0 {
		asset = fmt.Sprint(assetID)
	}
	return kind + "|" + obs + "|asset:" + asset
}

// Candidate is one enriched event that may open or update a finding.
type Candidate struct {
	Kind            string           // indicator-match, lookalike-domain, ...; required
	Title           string           // e.g. "C2 contact from fin-lt-0231 to 192.0.2.1"
	Observable      intel.Observable // the matched value; zero for a finding without one
	Asset           *intel.Asset     // the organisation's asset involved, nil when none
	Priority        int              // omen-prio-1 score, 0..100
	Level           string           // its band
	Evidence        []string
	Recommendations []string
	Detail          json.RawMessage // the event's omen.priority object
	TLP             intel.TLP
	Sources         []string  // the sources that reported the value, for the opening action line
	At              time.Time // event time; zero means now
}

// Raise opens or updates the finding for c (see the package documentation) and returns it and
// whether it was created. An event below MinPriority does nothing and returns a zero finding and
// false.
func (s *Service) Raise(ctx context.Context, c Candidate) (intel.Finding, bool, error) {
	if c.Priority < s.opts.MinPriority {
		return intel.Finding{}, false, nil
	}
	if strings.TrimSpace(c.Kind) == "" {
		return intel.Finding{}, false, errors.New("raising a finding: empty kind")
	}
	if c.Observable.Type != "" && (!c.Observable.Type.Valid() || c.Observable.Value == "") {
		return intel.Finding{}, false, fmt.Errorf("raising a %s finding: invalid observable %s", c.Kind, c.Observable)
	}
	if len(c.Detail) > 0 && !json.Valid(c.Detail) {
		return intel.Finding{}, false, fmt.Errorf("raising a %s finding on %s: detail is not valid JSON", c.Kind, c.Observable)
	}
	at := c.At.UTC()
	if c.At.IsZero() {
		at = s.now()
	}
	var assetID int64
	if c.Asset != nil {
		assetID = c.Asset.ID
	}
	key := Key(c.Kind, c.Observable, assetID)
	unlock := s.keys.lock(key)
	defer unlock()

	latest, err := s.st.ListFindings(ctx, store.FindingFilter{Key: key, Limit: 1})
	if err != nil {
		return intel.Finding{}, false, fmt.Errorf("raising finding %s: %w", key, err)
	}
	var follows string
	if len(latest) == 1 {
		f := latest[0]
		if s.absorbs(f, at) {
			out, err := s.st.UpdateFinding(ctx, f.ID, func(f *intel.Finding) error {
				s.fold(f, c, at)
				return nil
			})
			if err != nil {
				return intel.Finding{}, false, fmt.Errorf("updating finding %d: %w", f.ID, err)
			}
			return out, false, nil
		}
		follows = fmt.Sprintf("; follows finding #%d (%s, last seen %s)", f.ID, f.Status, f.LastSeen.Format(time.RFC3339))
	}

	f := intel.Finding{
		Kind: c.Kind, Title: c.Title, AssetID: assetID, Priority: c.Priority, Level: c.Level,
		Status: intel.FindingNew, TLP: c.TLP, Evidence: c.Evidence, Recommendations: c.Recommendations,
		Key: key, Count: 1, LastSeen: at, Detail: c.Detail, CreatedAt: s.now(),
	}
	if c.Observable.Type != "" {
		o := c.Observable
		f.Observable = &o
	}
	line := fmt.Sprintf("%s omen: opened, priority %d", stamp(f.CreatedAt), c.Priority)
	if c.Level != "" {
		line += " (" + c.Level + ")"
	}
	if len(c.Sources) > 0 {
		line += "; sources " + strings.Join(c.Sources, ", ")
	}
	f.Actions = []string{line + follows}
	out, err := s.st.PutFinding(ctx, f)
	if err != nil {
		return intel.Finding{}, false, fmt.Errorf("opening finding %s: %w", key, err)
	}
	s.audit(ctx, "system", "finding.open", out.ID, fmt.Sprintf("key=%s priority=%d", key, c.Priority))
	return out, true, nil
}

// absorbs reports whether an event at at folds into f rather than opening a new finding.
func (s *Service) absorbs(f intel.Finding, at time.Time) bool {
	switch f.Status {
	case intel.FindingResolved:
		return !f.ClosedAt.IsZero() && !at.After(f.ClosedAt)
	case intel.FindingFalsePositive:
		return !f.ClosedAt.IsZero() && at.Before(f.ClosedAt.Add(s.opts.Window))
	}
	return !at.After(f.LastSeen.Add(s.opts.Window))
}

// fold adds the event c at at to f.
func (s *Service) fold(f *intel.Finding, c Candidate, at time.Time) {
	f.Count++
	if at.After(f.LastSeen) {
		f.LastSeen = at
	}
	f.TLP = max(f.TLP, c.TLP)
	if c.Priority <= f.Priority {
		return
	}
	line := fmt.Sprintf("%s omen: priority raised %d -> %d", stamp(s.now()), f.Priority, c.Priority)
	if c.Level != "" && c.Level != f.Level {
		line += " (" + c.Level + ")"
	}
	f.Actions = append(f.Actions, line)
	f.Priority, f.Level, f.Detail = c.Priority, c.Level, c.Detail
	f.Evidence, f.Recommendations = c.Evidence, c.Recommendations
	if c.Title != "" {
		f.Title = c.Title
	}
}

// stamp formats an action line's time.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// audit appends an audit entry, logging a failure (the change itself is done).
func (s *Service) audit(ctx context.Context, actor, action string, id int64, detail string) {
	err := s.st.AppendAudit(ctx, intel.AuditEntry{Time: s.now(), Actor: actor, Action: action,
		Object: fmt.Sprintf("finding:%d", id), Detail: detail})
	if err != nil {
		s.log.Error("auditing a finding change", "action", action, "finding", id, "err", err)
	}
}

// keyLocks hands out one mutex per key, kept while in use.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock function.
func (k *keyLocks) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// ErrInvalidChange is wrapped by [Service.Set] for a change it refuses: an unknown status, a
// transition the workflow does not allow, a true-positive flag without resolving, nothing to change.
var ErrInvalidChange = errors.New("invalid change")

// errNoChange ends an update that would change nothing.
var errNoChange = errors.New("no change")

// transitions lists the statuses each status may move to.
var transitions = map[string][]string{
	intel.FindingNew:           {intel.FindingTriaged, intel.FindingResolved, intel.FindingFalsePositive},
	intel.FindingTriaged:       {intel.FindingInProgress, intel.FindingResolved, intel.FindingFalsePositive},
	intel.FindingInProgress:    {intel.FindingResolved, intel.FindingFalsePositive},
	intel.FindingResolved:      {intel.FindingTriaged},
	intel.FindingFalsePositive: nil,
}

// ParseStatus parses a finding status: new, triaged, in-progress, resolved, false-positive, in any
// case, with spaces or underscores for the dash; "fp" is false-positive.
func ParseStatus(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.NewReplacer(" ", "-", "_", "-").Replace(v)
	if v == "fp" {
		v = intel.FindingFalsePositive
	}
	if slices.Contains(intel.FindingStatuses, v) {
		return v, nil
	}
	return "", fmt.Errorf("status %q: want %s: %w", s, strings.Join(intel.FindingStatuses, ", "), ErrInvalidChange)
}

// CanMove reports whether the workflow lets a finding move from status from to status to:
// new -> triaged -> in-progress -> resolved | false-positive; new and triaged may also go straight
// to resolved or false-positive, and a resolved finding may be reopened as triaged. A false
// positive is final: its side effects (allowlist, source verdicts) stay, so undo them by hand
// (delete the allowlist entry) and let a new finding open.
func CanMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// Change is an analyst's change to a finding. Empty fields are left as they are; Assignee "-"
// clears the assignee.
type Change struct {
	Status   string
	Assignee string
	Note     string
	Actor    string // who: API key name, "cli", ...; required
	// TruePositive, with Status resolved, records the analyst's "true positive" verdict.
	TruePositive bool
}

// Set applies c to finding id and returns the updated finding. Every change appends an action line
// and an audit entry. Moving to false-positive allowlists the finding's observable (reason "false
// positive, finding #N"), sets the "fp" verdict on its sightings and counts a false positive
// against every source that reported it; resolving with TruePositive sets "tp" on its sightings and
// counts a true positive for those sources. Those effects follow the stored status change: when one
// fails, Set returns the updated finding with the error. A change that changes nothing (the finding
// already is as asked, say a repeated PATCH) returns the finding and records nothing.
//
// Errors wrap [ErrInvalidChange] for a refused change and [store.ErrNotFound] for a missing finding.
func (s *Service) Set(ctx context.Context, id int64, c Change) (intel.Finding, error) {
	if strings.TrimSpace(c.Actor) == "" {
		return intel.Finding{}, fmt.Errorf("changing finding %d: empty actor: %w", id, ErrInvalidChange)
	}
	if c.Status != "" {
		st, err := ParseStatus(c.Status)
		if err != nil {
			return intel.Finding{}, fmt.Errorf("changing finding %d: %w", id, err)
		}
		c.Status = st
	}
	if c.TruePositive && c.Status != intel.FindingResolved {
		return intel.Finding{}, fmt.Errorf("changing finding %d: a true-positive verdict needs status resolved: %w", id, ErrInvalidChange)
	}
	if c.Status == "" && c.Assignee == "" && c.Note == "" {
		return intel.Finding{}, fmt.Errorf("changing finding %d: nothing to change (status, assignee or note): %w", id, ErrInvalidChange)
	}
	var from, summary string
	now := s.now()
	f, err := s.st.UpdateFinding(ctx, id, func(f *intel.Finding) error {
		from = f.Status
		var parts []string
		if c.Status != "" && c.Status != f.Status {
			if !CanMove(f.Status, c.Status) {
				return fmt.Errorf("finding %d is %s: it cannot move to %s: %w", id, f.Status, c.Status, ErrInvalidChange)
			}
			parts = append(parts, fmt.Sprintf("status %s -> %s", f.Status, c.Status))
			f.Status = c.Status
			switch c.Status {
			case intel.FindingResolved, intel.FindingFalsePositive:
				f.ClosedAt = now
			default:
				f.ClosedAt = time.Time{}
			}
		} else if c.TruePositive {
			return fmt.Errorf("finding %d is %s already: a true-positive verdict goes with resolving it: %w", id, f.Status, ErrInvalidChange)
		}
		if c.TruePositive {
			parts = append(parts, "verdict true positive")
		}
		switch c.Assignee {
		case "":
		case "-":
			if f.Assignee != "" {
				parts = append(parts, "unassigned")
			}
			f.Assignee = ""
		default:
			if c.Assignee != f.Assignee {
				parts = append(parts, "assignee "+c.Assignee)
			}
			f.Assignee = c.Assignee
		}
		if c.Note != "" {
			parts = append(parts, fmt.Sprintf("note %q", c.Note))
			f.Note = c.Note
		}
		if len(parts) == 0 {
			return errNoChange
		}
		summary = strings.Join(parts, "; ")
		f.Actions = append(f.Actions, fmt.Sprintf("%s %s: %s", stamp(now), c.Actor, summary))
		return nil
	})
	if errors.Is(err, errNoChange) {
		// The finding already is as asked (a repeated PATCH): nothing to record.
		f, err = s.st.Finding(ctx, id)
	}
	if err != nil {
		return intel.Finding{}, fmt.Errorf("changing finding %d: %w", id, err)
	}
	if summary == "" {
		return f, nil
	}
	s.audit(ctx, c.Actor, "finding.update", id, summary)
	var effects error
	switch {
	case f.Status == intel.FindingFalsePositive && from != intel.FindingFalsePositive:
		effects = s.falsePositive(ctx, f, c.Actor)
	case c.TruePositive:
		effects = s.verdict(ctx, f, true)
	}
	if effects != nil {
		return f, fmt.Errorf("applying the verdict on finding %d: %w", id, effects)
	}
	return f, nil
}

// falsePositive allowlists f's observable and records the "fp" verdict.
func (s *Service) falsePositive(ctx context.Context, f intel.Finding, actor string) error {
	if f.Observable == nil {
		return nil
	}
	_, err := s.st.PutAllow(ctx, intel.AllowEntry{Observable: *f.Observable,
		Reason: fmt.Sprintf("false positive, finding #%d", f.ID), Actor: actor, FindingID: f.ID, CreatedAt: s.now()})
	if err != nil {
		return err
	}
	return s.verdict(ctx, f, false)
}

// verdict sets the verdict on f's sightings and counts it for the sources that reported f's
// observable.
func (s *Service) verdict(ctx context.Context, f intel.Finding, tp bool) error {
	if f.Observable == nil {
		return nil
	}
	v := "fp"
	if tp {
		v = "tp"
	}
	if _, err := s.st.SetSightingVerdict(ctx, *f.Observable, v); err != nil {
		return err
	}
	ins, err := s.st.Indicators(ctx, []intel.Observable{*f.Observable})
	if err != nil {
		return err
	}
	var errs []error
	seen := map[string]bool{}
	for _, in := range ins {
		for _, r := range in.Reports {
			if seen[r.Source] {
				continue
			}
			seen[r.Source] = true
			if err := s.st.RecordVerdict(ctx, r.Source, tp); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Allowlisted returns the allowlisted observables, for the pipeline to skip.
func (s *Service) Allowlisted(ctx context.Context) (map[intel.Observable]bool, error) {
	list, err := s.st.Allowlist(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[intel.Observable]bool, len(list))
	for _, e := range list {
		m[e.Observable] = true
	}
	return m, nil
}

// Allow puts o on the allowlist by hand, with an audit entry.
func (s *Service) Allow(ctx context.Context, o intel.Observable, reason, actor string) (intel.AllowEntry, error) {
	e, err := s.st.PutAllow(ctx, intel.AllowEntry{Observable: o, Reason: reason, Actor: actor, CreatedAt: s.now()})
	if err != nil {
		return intel.AllowEntry{}, err
	}
	if err := s.st.AppendAudit(ctx, intel.AuditEntry{Time: s.now(), Actor: actor, Action: "allowlist.add",
		Object: o.String(), Detail: reason}); err != nil {
		s.log.Error("auditing an allowlist change", "observable", o.String(), "err", err)
	}
	return e, nil
}

// Disallow removes allowlist entry id, with an audit entry.
func (s *Service) Disallow(ctx context.Context, id int64, actor string) error {
	if err := s.st.DeleteAllow(ctx, id); err != nil {
		return err
	}
	if err := s.st.AppendAudit(ctx, intel.AuditEntry{Time: s.now(), Actor: actor, Action: "allowlist.delete",
		Object: fmt.Sprintf("allow:%d", id)}); err != nil {
		s.log.Error("auditing an allowlist change", "entry", id, "err", err)
	}
	return nil
}

// LearnedGrades reads every source's learned grade (see [LearnedReliability]), by name.
func LearnedGrades(ctx context.Context, st store.Store) (map[string]intel.Reliability, error) {
	srcs, err := st.ListSources(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sources: %w", err)
	}
	g := make(map[string]intel.Reliability, len(srcs))
	for _, s := range srcs {
		g[s.Name] = LearnedReliability(s.Reliability, s.TruePositives, s.FalsePositives)
	}
	return g, nil
}

// LearnedReliability is a source's Admiralty grade after the analysts' verdicts on what it
// reported: every 3 net false positives lower the grade one letter, where the net count is
// fp - tp/2 (two true positives cancel one false positive; integer division). The grade never goes
// below E (an invalid base counts as F, and F stays F), and verdicts never raise it above base.
//
//	LearnedReliability('B', 0, 2) = 'B'   LearnedReliability('B', 0, 3) = 'C'
//	LearnedReliability('B', 4, 5) = 'B'   LearnedReliability('A', 0, 100) = 'E'
func LearnedReliability(base intel.Reliability, tp, fp int) intel.Reliability {
	if !base.Valid() || base == intel.ReliabilityF {
		return intel.ReliabilityF
	}
	net := max(fp, 0) - max(tp, 0)/2
	if net < 3 {
		return base
	}
	steps := net / 3
	if steps >= int(intel.ReliabilityE-base) {
		return intel.ReliabilityE
	}
	return base + intel.Reliability(steps)
}

// ParseObservable reads a value for the allowlist: of type typ when typ is not empty, else of the
// type [intel.Detect] finds (accounts and JA3 fingerprints need typ).
func ParseObservable(value, typ string) (intel.Observable, error) {
	if strings.TrimSpace(typ) == "" {
		return intel.Detect(value)
	}
	t, err := intel.ParseType(typ)
	if err != nil {
		return intel.Observable{}, err
	}
	return intel.Normalize(t, value)
}
