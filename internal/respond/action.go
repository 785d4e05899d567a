package respond

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

// Kind is what a response action asks a SOAR, EDR, firewall or case tool to do.
type Kind string

// Action kinds.
const (
	// KindBlock blocks values (addresses, domains, URLs, hashes) at the organisation's controls.
	KindBlock Kind = "block"
	// KindContainAccount contains an account: disable it, revoke its sessions, force a password reset.
	KindContainAccount Kind = "contain-account"
	// KindOpenCase opens a case (or alert) in the case tool.
	KindOpenCase Kind = "open-case"
)

// Kinds lists the action kinds.
var Kinds = []Kind{KindBlock, KindContainAccount, KindOpenCase}

// ContainSteps are the steps of a contain-account action, in the order a responder runs them.
var ContainSteps = []string{"disable-account", "revoke-sessions", "force-password-reset"}

// ParseKind parses an action kind.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("invalid action kind %q: want block, contain-account or open-case", s)
}

// Action is one response action on a finding. [Dispatcher.Dispatch] sends it to every webhook that
// receives its kind (or only to Webhook).
type Action struct {
	// ID identifies the action; [Dispatcher.Dispatch] assigns a random one when empty. Delivery
	// keys derive from it, so a retried delivery keeps its key.
	ID      string        `json:"id"`
	Kind    Kind          `json:"kind"`
	Finding intel.Finding `json:"finding"`
	// Values are what the action is about: the values to block, the accounts to contain. Empty:
	// the finding's observable.
	Values []intel.Observable `json:"values"`
	// Webhook, when set, sends the action to that webhook only.
	Webhook string `json:"webhook,omitempty"`
	// Actor is who asked: an API key name, "cli", or "auto" for the automatic policy.
	Actor     string    `json:"actor"`
	Requested time.Time `json:"requested"`
}

// NewActionID returns a random action ID ("act-" and 24 hex digits).
func NewActionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "act-" + hex.EncodeToString(b[:])
}

// values returns the action's values, defaulting to the finding's observable.
func (a Action) values() []intel.Observable {
	if len(a.Values) > 0 {
		return a.Values
	}
	if a.Finding.Observable != nil {
		return []intel.Observable{*a.Finding.Observable}
	}
	return nil
}

// AutoPolicy decides which actions omen may take on its own, for findings in the Act band. It is
// off by default.
type AutoPolicy struct {
	Enabled bool
	// MinPriority is the lowest priority acted on (default 80).
	MinPriority int
	// Kinds are the kinds allowed automatically; none allows nothing.
	Kinds []Kind
	// MinLikelihood, when above the model's own auto-response threshold, raises it further.
	MinLikelihood float64
}

// DefaultMinAutoPriority is [AutoPolicy.MinPriority]'s default.
const DefaultMinAutoPriority = 80

// Allow reports whether the policy lets omen take an action of kind on its own for an event or
// finding of priority p: the policy is enabled, allows kind, p reaches MinPriority, and the model
// marked p auto-response eligible (the Act band with likelihood L ≥ 0.8, the value not on the
// do-not-block list).
func (p AutoPolicy) Allow(pr risk.Priority, kind Kind) bool {
	minPrio := p.MinPriority
	if minPrio <= 0 {
		minPrio = DefaultMinAutoPriority
	}
	return p.Enabled && slices.Contains(p.Kinds, kind) && pr.Score >= minPrio && pr.AutoResponse &&
		pr.Factors.L >= p.MinLikelihood
}

// ActionGuard adapts an export [Guard] to the [GuardFunc] a [Dispatcher] takes: a block action
// never carries what no export may carry.
func ActionGuard(g *Guard) GuardFunc {
	return func(o intel.Observable) (string, bool) {
		r, out := g.Check(o)
		if !out {
			return "", false
		}
		if r.Detail == "" {
			return r.Reason, true
		}
		return r.Reason + ": " + r.Detail, true
	}
}
