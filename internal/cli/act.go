package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store"
)

const findingsActHelp = `Send a response action on a finding to the webhooks configured under actions.webhooks.

Kinds: block (the finding's value, or --value ones; never the organisation's own assets,
warninglisted infrastructure or allowlisted values, which are withheld and listed), contain-account
(disable the account, revoke its sessions, force a password reset; needs an account or e-mail
value) and open-case. Every webhook that receives the kind gets it, or only --webhook NAME.

Deliveries are signed (X-Omen-Signature), retried with exponential backoff under one idempotency
key (X-Omen-Delivery) and, after the webhook's last attempt, dead-lettered. The command waits for
them (at most --wait) and exits 1 when any was dead-lettered. The action, its payload hashes and
every outcome go to the audit log. --dry-run shows the payloads without sending or auditing.
--dead-letters lists the dead letters recorded in the audit log.`

// findingsActCmd is "omen findings act".
func (e *env) findingsActCmd() *cobra.Command {
	var (
		kind, webhook string
		values        []string
		dryRun        bool
		asJSON        bool
		wait          time.Duration
		deadLetters   bool
		since         string
		limit         int
	)
	c := &cobra.Command{
		Use:   "act ID --kind block|contain-account|open-case [--webhook NAME] [--value TYPE:VALUE]... [--dry-run] | act --dead-letters",
		Short: "Send a block, contain-account or open-case action on a finding to the SOAR/case webhooks",
		Long:  findingsActHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if deadLetters {
				if len(args) > 0 || kind != "" {
					return errors.New("--dead-letters takes no finding id or --kind")
				}
				return e.listDeadLetters(ctx, since, limit, asJSON)
			}
			if len(args) != 1 {
				return errors.New("want one finding id (see findings list), or --dead-letters")
			}
			id, err := findingID(args[0])
			if err != nil {
				return err
			}
			if kind == "" {
				return errors.New("--kind is required: block, contain-account or open-case")
			}
			k, err := respond.ParseKind(kind)
			if err != nil {
				return fmt.Errorf("--kind: %w", err)
			}
			vals, err := parseActValues(values)
			if err != nil {
				return err
			}
			if wait <= 0 {
				return fmt.Errorf("--wait %s: want a positive duration", wait)
			}
			a, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			f, err := a.store.Finding(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("finding %d: no such finding", id)
			}
			if err != nil {
				return fmt.Errorf("reading finding %d: %w", id, err)
			}
			d, err := a.dispatcher(ctx)
			if err != nil {
				return err
			}
			act := respond.Action{Kind: k, Finding: f, Values: vals, Webhook: webhook, Actor: "cli"}
			if dryRun {
				defer d.Close(context.WithoutCancel(ctx))
				p, err := d.Plan(act)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(e.stdout, map[string]any{"dry_run": true, "plan": p})
				}
				printPlan(e.stdout, p, true)
				return nil
			}
			p, err := d.Submit(ctx, act)
			if err != nil {
				_ = d.Close(context.WithoutCancel(ctx))
				return err
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
			closeErr := d.Close(wctx)
			cancel()
			dead := d.DeadLetters()
			note := actionNote(p, dead)
			if _, err := a.store.UpdateFinding(ctx, id, func(f *intel.Finding) error {
				f.Actions = append(f.Actions, note)
				return nil
			}); err != nil {
				a.log.Warn("recording the action on the finding", "finding", id, "err", err)
			}
			if asJSON {
				if err := printJSON(e.stdout, map[string]any{"plan": p, "dead_letters": nonNil(dead)}); err != nil {
					return err
				}
			} else {
				printPlan(e.stdout, p, false)
				fmt.Fprintln(e.stdout, note)
			}
			if closeErr != nil {
				fmt.Fprintf(e.stderr, "gave up waiting after %s: the remaining deliveries were dead-lettered\n", wait)
			}
			if len(dead) > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&kind, "kind", "", "block, contain-account or open-case")
	fl.StringVar(&webhook, "webhook", "", "send to this webhook only")
	fl.StringArrayVar(&values, "value", nil, "act on TYPE:VALUE (e.g. ipv4:203.0.113.7, account:jdoe) instead of the finding's value; repeatable")
	fl.BoolVar(&dryRun, "dry-run", false, "show the payloads without sending anything")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the deliveries (retries included)")
	fl.BoolVar(&deadLetters, "dead-letters", false, "list the dead-lettered deliveries from the audit log")
	fl.StringVar(&since, "since", "", "with --dead-letters: only those at or after this RFC 3339 time")
	fl.IntVar(&limit, "limit", 0, "with --dead-letters: at most this many (0: all)")
	return c
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// parseActValues parses --value TYPE:VALUE flags into canonical observables.
func parseActValues(raw []string) ([]intel.Observable, error) {
	var out []intel.Observable
	for i, r := range raw {
		t, v, ok := strings.Cut(r, ":")
		if !ok || !intel.Type(t).Valid() {
			return nil, fmt.Errorf("--value %d %q: want TYPE:VALUE with a type such as ipv4, domain, url, sha256, email or account", i+1, r)
		}
		o, err := intel.Normalize(intel.Type(t), v)
		if err != nil {
			return nil, fmt.Errorf("--value %d %q: %w", i+1, r, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// actionNote is the line appended to the finding's actions.
func actionNote(p respond.ActionPlan, dead []respond.DeadLetter) string {
	failed := map[string]bool{}
	for _, d := range dead {
		failed[d.Webhook] = true
	}
	var ok, bad []string
	for _, x := range p.Deliveries {
		if failed[x.Webhook] {
			bad = append(bad, x.Webhook)
		} else {
			ok = append(ok, x.Webhook)
		}
	}
	s := fmt.Sprintf("%s action %s %s by %s", time.Now().UTC().Format(time.RFC3339), p.Action.Kind, p.Action.ID, p.Action.Actor)
	if len(ok) > 0 {
		s += ": delivered to " + strings.Join(ok, ", ")
	}
	if len(bad) > 0 {
		if len(ok) > 0 {
			s += ";"
		} else {
			s += ":"
		}
		s += " dead-lettered at " + strings.Join(bad, ", ")
	}
	return s
}

func printPlan(w io.Writer, p respond.ActionPlan, payloads bool) {
	fmt.Fprintf(w, "action %s: %s on finding %d\n", p.Action.ID, p.Action.Kind, p.Action.Finding.ID)
	for _, v := range p.Values {
		fmt.Fprintf(w, "  value     %s\n", v)
	}
	for _, r := range p.Withheld {
		fmt.Fprintf(w, "  withheld  %s (%s: %s)\n", r.Observable, r.Reason, r.Detail)
	}
	for _, x := range p.Deliveries {
		fmt.Fprintf(w, "  webhook   %s (%s) delivery %s sha256 %s\n", x.Webhook, x.Template, x.Delivery, x.PayloadSHA256)
		if payloads {
			fmt.Fprintf(w, "%s\n", x.Payload)
		}
	}
}

func (e *env) listDeadLetters(ctx context.Context, since string, limit int, asJSON bool) error {
	var from time.Time
	if since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			return fmt.Errorf("--since %q: want an RFC 3339 time", since)
		}
		from = t
	}
	if limit < 0 {
		return fmt.Errorf("--limit %d: want 0 (all) or more", limit)
	}
	a, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	dl, err := respond.ReadDeadLetters(ctx, a.store, from, limit)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e.stdout, map[string]any{"dead_letters": nonNil(dl)})
	}
	if len(dl) == 0 {
		fmt.Fprintln(e.stdout, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tFINDING\tKIND\tWEBHOOK\tATTEMPTS\tACTION\tLAST ERROR")
	for _, d := range dl {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", d.Time.UTC().Format(time.RFC3339), d.FindingID, d.Kind, d.Webhook,
			d.Attempts, d.ActionID, clipText(d.LastError, 60))
	}
	return tw.Flush()
}

// dispatcher builds the action dispatcher from the configuration: its webhooks, the export guard
// (so a block never carries the organisation's own or warninglisted values) and the audit log.
func (a *app) dispatcher(ctx context.Context) (*respond.Dispatcher, error) {
	g, err := a.guard(ctx)
	if err != nil {
		return nil, err
	}
	return a.newDispatcher(a.log, respond.ActionGuard(g))
}

// newDispatcher builds the dispatcher of the configured webhooks, auditing to the store; guard
// keeps the organisation's own and warninglisted values out of block actions.
func (a *app) newDispatcher(log *slog.Logger, guard respond.GuardFunc) (*respond.Dispatcher, error) {
	hooks, err := webhooksFromConfig(a.cfg.Actions)
	if err != nil {
		return nil, err
	}
	return respond.NewDispatcher(respond.DispatcherOptions{Webhooks: hooks, Audit: a.store, Logger: log, Guard: guard})
}

// webhooksFromConfig converts the configured webhooks for [respond.NewDispatcher], reading
// secret_env secrets from the environment.
func webhooksFromConfig(c config.Actions) ([]respond.Webhook, error) {
	out := make([]respond.Webhook, 0, len(c.Webhooks))
	for _, w := range c.Webhooks {
		secret, err := w.SecretValue()
		if err != nil {
			return nil, err
		}
		tpl, err := respond.ParseTemplate(w.TemplateName())
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", w.Name, err)
		}
		rw := respond.Webhook{Name: w.Name, URL: w.URL, Template: tpl, Secret: secret, Headers: w.HeaderValues(),
			Timeout: w.TimeoutDuration(), MaxAttempts: w.Attempts()}
		for _, k := range w.Kinds {
			kk, err := respond.ParseKind(k)
			if err != nil {
				return nil, fmt.Errorf("webhook %s: %w", w.Name, err)
			}
			rw.Kinds = append(rw.Kinds, kk)
		}
		out = append(out, rw)
	}
	return out, nil
}

// autoPolicyFromConfig converts the configured automatic-response policy.
func autoPolicyFromConfig(c config.Actions) (respond.AutoPolicy, error) {
	p := respond.AutoPolicy{Enabled: c.Auto.Enabled, MinPriority: c.Auto.MinPriorityOrDefault(), MinLikelihood: c.Auto.MinLikelihood}
	for _, k := range c.Auto.Kinds {
		kk, err := respond.ParseKind(k)
		if err != nil {
			return respond.AutoPolicy{}, fmt.Errorf("actions.auto: %w", err)
		}
		p.Kinds = append(p.Kinds, kk)
	}
	return p, nil
}
