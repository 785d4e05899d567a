// Package natsjs runs omen as a NATS JetStream stream processor: it consumes SOC events from a subject through a
// durable pull consumer shared by every omen process doing the same work, enriches each with a [Process]
// function and publishes the result on another subject.
//
// An input message is acknowledged only after its enriched event is stored on the output stream. Output
// messages carry a deterministic Nats-Msg-Id derived from the input message, so a redelivery after a crash
// (published, not yet acked) is dropped by the output stream's duplicate window: a restart or a killed
// process loses nothing and produces no duplicate output. See [Config] for the window assumption.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Process enriches one event. It returns the bytes to publish (as they are, on [Config.To], with the input's
// headers other than Nats-*), or drop=true to publish nothing (the input is then acknowledged), or an error: the
// input is then nak'd with [Config.NakDelay] and, once its delivery count reaches [Config.MaxDeliver], terminated
// and logged. ctx expires after [Config.AckWait] and is not cancelled by the shutdown of [Run], which lets
// in-flight events finish. Process is called concurrently by [Config.Workers] goroutines and may see the same
// event more than once (redeliveries); a panic in Process is treated as an error.
type Process func(ctx context.Context, event []byte) (out []byte, drop bool, err error)

// Stats counts what one [Run] did.
type Stats struct {
	// Received counts messages delivered to this process, redeliveries included.
	Received int64
	// Published counts enriched events newly stored on the output stream.
	Published int64
	// Duplicates counts publishes the output stream dropped as already stored (a redelivered input whose
	// output had been published before the crash or timeout that prevented its ack).
	Duplicates int64
	// Dropped counts events Process asked to drop; they were acknowledged without output.
	Dropped int64
	// Failed counts deliveries whose Process call or publish failed.
	Failed int64
	// Terminated counts inputs given up on after MaxDeliver failed deliveries (a subset of Failed).
	Terminated int64
}

type counters struct {
	received, published, duplicates, dropped, failed, terminated atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Received:   c.received.Load(),
		Published:  c.published.Load(),
		Duplicates: c.duplicates.Load(),
		Dropped:    c.dropped.Load(),
		Failed:     c.failed.Load(),
		Terminated: c.terminated.Load(),
	}
}

// MsgID returns the Nats-Msg-Id given to the output of the input message at sequence seq of stream.
func MsgID(stream string, seq uint64) string {
	return stream + ":" + strconv.FormatUint(seq, 10)
}

// Run consumes cfg.From until ctx is done, then stops fetching, finishes the messages already received (each
// acked after its output is published) and returns the counts. It returns a nil error after a shutdown asked for
// by ctx, and an error for an invalid configuration, a failed connection or setup, or a consumer that went away
// (deleted, or the connection closed for good). Lost connections are retried forever; messages in flight then
// are redelivered after AckWait and deduplicated on output.
func Run(ctx context.Context, cfg Config, p Process) (Stats, error) {
	var st counters
	if p == nil {
		return st.snapshot(), errors.New("natsjs: nil process")
	}
	if err := cfg.Validate(); err != nil {
		return st.snapshot(), fmt.Errorf("natsjs: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	log := cfg.Log.With("component", "natsjs", "from", cfg.From, "to", cfg.To, "durable", cfg.Durable)
	safeURL := RedactURL(cfg.URL)

	nc, err := nats.Connect(cfg.URL,
		nats.Name("omen-enrich"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "server", RedactURL(c.ConnectedUrl()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats async error", "err", err)
		}),
	)
	if err != nil {
		return st.snapshot(), fmt.Errorf("natsjs: connecting to %s: %w", safeURL, err)
	}
	defer func() {
		if err := nc.FlushTimeout(5 * time.Second); err != nil && !nc.IsClosed() {
			log.Warn("flushing before close", "err", err)
		}
		nc.Close()
	}()
	log.Info("connected", "url", safeURL)

	js, err := jetstream.New(nc)
	if err != nil {
		return st.snapshot(), fmt.Errorf("natsjs: jetstream: %w", err)
	}
	cons, err := setup(ctx, js, cfg)
	if err != nil {
		return st.snapshot(), fmt.Errorf("natsjs: %w", err)
	}

	it, err := cons.Messages(jetstream.PullMaxMessages(cfg.Batch))
	if err != nil {
		return st.snapshot(), fmt.Errorf("natsjs: consuming %s/%s: %w", cfg.Stream, cfg.Durable, err)
	}
	defer it.Stop()

	w := &worker{cfg: cfg, js: js, p: p, st: &st, log: log, base: context.WithoutCancel(ctx)}
	jobs := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for m := range jobs {
				w.handle(m)
			}
		})
	}

	runErr := w.dispatch(ctx, it, jobs)
	close(jobs)
	wg.Wait()
	s := st.snapshot()
	log.Info("stopped", "received", s.Received, "published", s.Published, "duplicates", s.Duplicates,
		"dropped", s.Dropped, "failed", s.Failed, "terminated", s.Terminated)
	return s, runErr
}

// setup makes sure both streams and the durable consumer exist and fit the configuration.
func setup(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Consumer, error) {
	in, err := ensureStream(ctx, js, jetstream.StreamConfig{
		Name:     cfg.Stream,
		Subjects: []string{cfg.From},
	})
	if err != nil {
		return nil, err
	}
	for _, s := range in.Subjects {
		if subjectMatches(s, cfg.To) {
			return nil, fmt.Errorf("stream %s captures subject %q of to %q: enriched events would be consumed again",
				cfg.Stream, s, cfg.To)
		}
	}
	out, err := ensureStream(ctx, js, jetstream.StreamConfig{
		Name:       cfg.OutStream,
		Subjects:   []string{cfg.To},
		Duplicates: cfg.DupWindow,
	})
	if err != nil {
		return nil, err
	}
	captured := false
	for _, s := range out.Subjects {
		captured = captured || subjectMatches(s, cfg.To)
	}
	if !captured {
		return nil, fmt.Errorf("stream %s (subjects %q) does not capture to %q", cfg.OutStream, out.Subjects, cfg.To)
	}
	if span := cfg.redeliverySpan(); out.Duplicates < span {
		return nil, fmt.Errorf("stream %s: duplicate window %s shorter than max deliver x (ack wait + nak delay) = %s",
			cfg.OutStream, out.Duplicates, span)
	}

	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		Description:   "omen enrichment workers",
		FilterSubject: cfg.From,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		MaxAckPending: cfg.MaxAckPending,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on stream %s: %w", cfg.Durable, cfg.Stream, err)
	}
	return cons, nil
}

// ensureStream returns the configuration of stream want.Name, creating it from want when missing.
// An existing stream is used as it is.
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) (jetstream.StreamConfig, error) {
	for range 2 {
		s, err := js.Stream(ctx, want.Name)
		if err == nil {
			return s.CachedInfo().Config, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return want, fmt.Errorf("stream %s: %w", want.Name, err)
		}
		s, err = js.CreateStream(ctx, want)
		if err == nil {
			return s.CachedInfo().Config, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return want, fmt.Errorf("creating stream %s for %q: %w", want.Name, want.Subjects, err)
		}
		// Another process created it meanwhile: look it up again.
	}
	return want, fmt.Errorf("stream %s: created and deleted concurrently", want.Name)
}

type worker struct {
	cfg  Config
	js   jetstream.JetStream
	p    Process
	st   *counters
	log  *slog.Logger
	base context.Context // never cancelled: in-flight messages finish after shutdown
}

// dispatch hands messages to the workers until ctx is done, then drains the messages already buffered, giving up
// on them after AckWait (they are redelivered). It returns an error only for a consumer that went away.
func (w *worker) dispatch(ctx context.Context, it jetstream.MessagesContext, jobs chan<- jetstream.Msg) error {
	next := ctx
	drainCtx, cancelDrain := context.WithCancel(w.base)
	defer cancelDrain()
	for {
		m, err := it.Next(jetstream.NextContext(next))
		if err == nil {
			w.st.received.Add(1)
			jobs <- m
			continue
		}
		switch {
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("natsjs: consumer %s on stream %s closed: %w", w.cfg.Durable, w.cfg.Stream, err)
		case next == ctx && ctx.Err() != nil:
			// Shutdown: stop pulling, keep what is buffered.
			it.Drain()
			next = drainCtx
			t := time.AfterFunc(w.cfg.AckWait, cancelDrain)
			defer t.Stop()
		case next != ctx && next.Err() != nil:
			return nil // drain timed out; leftovers are redelivered after AckWait
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrBadRequest):
			return fmt.Errorf("natsjs: consumer %s on stream %s: %w", w.cfg.Durable, w.cfg.Stream, err)
		default:
			w.log.Warn("fetching messages", "err", err)
			select { // do not spin on a repeating error
			case <-time.After(time.Second):
			case <-next.Done():
			}
		}
	}
}

// handle processes one message: Process, publish with a deterministic id, await the PubAck, then ack.
func (w *worker) handle(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		// Not a JetStream delivery: nothing to ack or redeliver.
		w.st.failed.Add(1)
		w.log.Warn("message without jetstream metadata", "subject", m.Subject(), "err", err)
		return
	}
	id := MsgID(md.Stream, md.Sequence.Stream)
	ctx, cancel := context.WithTimeout(w.base, w.cfg.AckWait)
	defer cancel()

	out, drop, err := w.call(ctx, m.Data())
	if err != nil {
		w.fail(m, md, id, fmt.Errorf("processing: %w", err))
		return
	}
	if drop {
		if err := m.DoubleAck(ctx); err != nil {
			w.log.Warn("acking dropped event; it will be redelivered", "id", id, "err", err)
			return
		}
		w.st.dropped.Add(1)
		return
	}

	pub := &nats.Msg{Subject: w.cfg.To, Data: out, Header: nats.Header{}}
	for k, v := range m.Headers() {
		if !strings.HasPrefix(k, "Nats-") {
			pub.Header[k] = v
		}
	}
	ack, err := w.js.PublishMsg(ctx, pub, jetstream.WithMsgID(id), jetstream.WithExpectStream(w.cfg.OutStream))
	if err != nil {
		w.fail(m, md, id, fmt.Errorf("publishing to %s: %w", w.cfg.To, err))
		return
	}
	if ack.Duplicate {
		w.st.duplicates.Add(1)
	} else {
		w.st.published.Add(1)
	}
	if w.cfg.afterPublish != nil {
		w.cfg.afterPublish(id)
	}
	if err := m.DoubleAck(ctx); err != nil {
		// The output is stored; a redelivery republishes it with the same id and is deduplicated.
		w.log.Warn("acking published event; it will be redelivered and deduplicated", "id", id, "err", err)
	}
}

// call runs Process, turning a panic into an error.
func (w *worker) call(ctx context.Context, data []byte) (out []byte, drop bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, drop, err = nil, false, fmt.Errorf("panic: %v", r)
		}
	}()
	return w.p(ctx, data)
}

// fail naks m with a delay, or terminates it on its last allowed delivery.
func (w *worker) fail(m jetstream.Msg, md *jetstream.MsgMetadata, id string, err error) {
	w.st.failed.Add(1)
	if md.NumDelivered >= uint64(w.cfg.MaxDeliver) {
		w.st.terminated.Add(1)
		w.log.Error("giving up on event after max deliveries", "id", id, "deliveries", md.NumDelivered, "err", err)
		if err := m.Term(); err != nil {
			w.log.Warn("terminating event", "id", id, "err", err)
		}
		return
	}
	w.log.Warn("event failed; redelivering", "id", id, "delivery", md.NumDelivered, "err", err)
	if err := m.NakWithDelay(w.cfg.NakDelay); err != nil {
		w.log.Warn("nak", "id", id, "err", err)
	}
}
