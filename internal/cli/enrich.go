package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"os"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/stream/natsjs"
)

// enrichOptions are the flags of omen enrich.
type enrichOptions struct {
	in, out, format, mapping string
	output                   string
	workers, minPriority     int
	findingPriority          int
	noFindings, asJSON       bool
	clearance                string
	nats                     natsjs.Config
}

func (e *env) enrichCmd() *cobra.Command {
	var o enrichOptions
	c := &cobra.Command{
		Use:   "enrich [--in FILE] [--out FILE] [--workers N] [--min-priority N]",
		Short: "Enrich SOC events (NDJSON in, NDJSON out) with matched indicators, asset context and a business-risk priority",
		Long: `Enrich SOC events: one JSON event a line in (ECS by default; Zeek JSON logs, Suricata EVE with
--format and the shipped mappings, any other JSON shape with --mapping FILE, or CEF lines), the same
events out, each that matched a known indicator with threat.enrichments[] (one element per indicator
and matched field, as Elastic's indicator-match rule writes them), event.risk_score(_norm),
omen.priority (score, level, action, factors, gates, evidence), omen.asset and omen.recommendations.

Reads standard input and writes standard output unless --in/--out say otherwise; events keep their
order. Events that match nothing pass through unchanged (--min-priority N drops those below N). A
line that does not decode is reported on standard error with its number and passed through. Every
match is recorded as an internal sighting, and events at or above --finding-priority open or
update a finding (omen findings list).

With --nats URL --from SUBJECT --to SUBJECT, omen consumes events from NATS JetStream instead, as
one of any number of processes sharing a durable consumer: each event is acknowledged only after
its enriched copy is published, and a restart neither loses nor duplicates output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return e.runEnrich(cmd.Context(), o) },
	}
	f := c.Flags()
	f.StringVar(&o.in, "in", "-", "input file (- for standard input)")
	f.StringVar(&o.out, "out", "-", "output file (- for standard output)")
	f.StringVar(&o.format, "format", "ecs", "input format: ecs, zeek, suricata or cef")
	f.StringVar(&o.output, "output", "ecs", "output shape: ecs (the events, enriched) or ocsf (an OCSF Detection Finding per matched event)")
	f.StringVar(&o.mapping, "mapping", "", "YAML field mapping for other JSON shapes (overrides the format's shipped one)")
	f.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "events enriched in parallel")
	f.IntVar(&o.minPriority, "min-priority", 0, "write only events with at least this priority (0: every event)")
	f.IntVar(&o.findingPriority, "finding-priority", 0, "priority from which an event opens or updates a finding (default: the config's priority.finding_at, 60)")
	f.BoolVar(&o.noFindings, "no-findings", false, "record no sightings or findings (a dry run)")
	f.StringVar(&o.clearance, "clearance", "amber+strict", "most restrictive TLP the output may carry")
	f.BoolVar(&o.asJSON, "json", false, "print the closing summary as JSON (on standard error)")
	f.StringVar(&o.nats.URL, "nats", "", "NATS server URL: consume events from JetStream instead of a file")
	f.StringVar(&o.nats.From, "from", "", "subject to consume events from (with --nats)")
	f.StringVar(&o.nats.To, "to", "", "subject to publish enriched events to (with --nats)")
	f.StringVar(&o.nats.Stream, "stream", "", "JetStream stream holding --from (default "+natsjs.DefaultStream+", created when missing)")
	f.StringVar(&o.nats.Durable, "durable", "", "durable consumer shared by the omen processes (default "+natsjs.DefaultDurable+")")
	f.StringVar(&o.nats.OutStream, "out-stream", "", "JetStream stream capturing --to (default "+natsjs.DefaultOutStream+", created when missing)")
	f.DurationVar(&o.nats.AckWait, "ack-wait", natsjs.DefaultAckWait, "how long an event may take before the server redelivers it to another process")
	return c
}

func (e *env) runEnrich(ctx context.Context, o enrichOptions) error {
	// Everything is validated before any I/O.
	format, err := enrich.ParseFormat(o.format)
	if err != nil {
		return err
	}
	var mapping *enrich.Mapping
	if o.mapping != "" {
		if mapping, err = enrich.LoadMapping(o.mapping); err != nil {
			return err
		}
	}
	dec, err := enrich.NewDecoder(format, mapping)
	if err != nil {
		return err
	}
	output, err := enrich.ParseOutput(o.output)
	if err != nil {
		return err
	}
	clearance, err := intel.ParseTLP(o.clearance)
	if err != nil {
		return err
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers %d: want at least 1", o.workers)
	}
	if o.minPriority < 0 || o.minPriority > 100 {
		return fmt.Errorf("--min-priority %d: want 0..100", o.minPriority)
	}
	streaming := o.nats.URL != ""
	if streaming {
		o.nats.Workers = o.workers
		if err := o.nats.Validate(); err != nil {
			return err
		}
	} else if o.nats.From != "" || o.nats.To != "" {
		return errors.New("--from and --to need --nats")
	}

	a, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.serveFromMemory(ctx); err != nil {
		return err
	}
	var fs *findings.Service
	flushed := make(chan struct{})
	fctx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	if !o.noFindings {
		at := o.findingPriority
		if at == 0 {
			at = a.cfg.FindingPriority()
		}
		fs = findings.New(a.store, a.log.With("component", "findings"), findings.Options{MinPriority: at})
		go func() { defer close(flushed); fs.Run(fctx) }()
	} else {
		close(flushed)
	}
	defer func() { stopFlush(); <-flushed }() // the last sightings are written before exit
	resp, err := a.openResponse()
	if err != nil {
		return err
	}
	defer resp.close(15 * time.Second)
	en, err := enrich.New(ctx, resp.enrichOptions(a, enrich.Options{KB: a.kb, Model: a.priorityModel(), Findings: fs,
		Clearance: &clearance, Logger: a.log.With("component", "enrich")}))
	if err != nil {
		return err
	}
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go a.kb.Run(bg, rebuildEvery)
	go en.Run(bg, 30*time.Second)

	start := time.Now()
	if streaming {
		err = e.enrichStream(ctx, a, en, dec, output, o)
	} else {
		err = e.enrichFile(ctx, en, dec, output, o)
	}
	st := en.Stats()
	took := time.Since(start)
	if o.asJSON {
		b, _ := json.Marshal(map[string]any{"stats": st, "seconds": took.Seconds()})
		fmt.Fprintln(e.stderr, string(b))
	} else {
		fmt.Fprintf(e.stderr, "enriched %d events in %s: %d matched, %d findings opened, %d errors\n",
			st.Events, took.Round(time.Millisecond), st.Matched, st.Findings, st.Errors)
	}
	return err
}

// enrichBatch is the number of lines read before they are shared among the workers.
const enrichBatch = 1024

// enrichFile runs the NDJSON filter: batches of lines are enriched by the workers side by side,
// then written in input order.
func (e *env) enrichFile(ctx context.Context, en *enrich.Enricher, dec *enrich.Decoder, output enrich.Output, o enrichOptions) error {
	in := e.stdin
	if o.in != "-" {
		f, err := os.Open(o.in)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	out := e.stdout
	var outFile *os.File
	if o.out != "-" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		outFile, out = f, f
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	workers := make([]*enrich.Worker, o.workers)
	for i := range workers {
		workers[i] = en.NewWorker(dec)
		workers[i].SetOutput(output)
	}
	type slot struct {
		no   int // line number in the input
		line []byte
		out  []byte
		keep bool
		err  error
	}
	batch := make([]slot, 0, enrichBatch)
	lineNo := 0
	flush := func() {
		var wg sync.WaitGroup
		per := (len(batch) + len(workers) - 1) / len(workers)
		for wi, w := range workers {
			lo, hi := wi*per, min((wi+1)*per, len(batch))
			if lo >= hi {
				break
			}
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					s := &batch[i]
					r, err := w.Enrich(ctx, s.line)
					switch {
					case err != nil:
						s.err, s.out, s.keep = err, s.line, o.minPriority == 0 && output == enrich.OutputECS
					default:
						s.out = append(s.out[:0], r.Out...)
						s.keep = len(r.Out) > 0 && r.Priority >= o.minPriority && (o.minPriority == 0 || r.Matched)
					}
				}
			})
		}
		wg.Wait()
		for i := range batch {
			s := &batch[i]
			if s.err != nil {
				fmt.Fprintf(e.stderr, "line %d: %v\n", s.no, s.err)
			}
			if s.keep {
				bw.Write(s.out)
				bw.WriteByte('\n')
			}
		}
		batch = batch[:0]
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		lineNo++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		batch = append(batch, slot{no: lineNo, line: append([]byte(nil), b...)})
		if len(batch) == enrichBatch {
			flush()
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s after line %d: %w", o.in, lineNo, err)
	}
	flush()
	if err := bw.Flush(); err != nil {
		return err
	}
	if outFile != nil {
		return outFile.Close()
	}
	return nil
}

// enrichStream runs omen as a JetStream worker until ctx is done.
func (e *env) enrichStream(ctx context.Context, a *app, en *enrich.Enricher, dec *enrich.Decoder, output enrich.Output, o enrichOptions) error {
	pool := sync.Pool{New: func() any {
		w := en.NewWorker(dec)
		w.SetOutput(output)
		return w
	}}
	cfg := o.nats
	cfg.Log = a.log.With("component", "nats")
	st, err := natsjs.Run(ctx, cfg, func(ctx context.Context, event []byte) ([]byte, bool, error) {
		w := pool.Get().(*enrich.Worker)
		defer pool.Put(w)
		r, err := w.Enrich(ctx, event)
		var syn *enrich.SyntaxError
		if errors.As(err, &syn) {
			// A bad event will not get better on redelivery: pass it on unchanged, as the filter does.
			a.log.Warn("event does not decode; passed on unchanged", "err", err)
			return append([]byte(nil), event...), o.minPriority > 0 || output != enrich.OutputECS, nil
		}
		if err != nil {
			return nil, false, err
		}
		if len(r.Out) == 0 || o.minPriority > 0 && (!r.Matched || r.Priority < o.minPriority) {
			return nil, true, nil
		}
		return append([]byte(nil), r.Out...), false, nil
	})
	a.log.Info("stream stopped", "received", st.Received, "published", st.Published, "dropped", st.Dropped, "failed", st.Failed)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// priorityModel is omen-prio-1 with the configured weights (validated when the configuration
// was loaded).
func (a *app) priorityModel() risk.PriorityModel {
	m, err := a.cfg.PriorityModel()
	if err != nil {
		a.log.Error("priority weights: using the defaults", "err", err)
		return risk.DefaultPriorityModel()
	}
	return m
}
