package natsjs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"
)

// Defaults applied by [Config] for fields left at their zero value.
const (
	DefaultStream    = "OMEN_EVENTS"
	DefaultOutStream = "OMEN_ENRICHED"
	DefaultDurable   = "omen-enrich"
	DefaultAckWait   = 30 * time.Second
	// DefaultMaxDeliver is the number of deliveries of one input message before it is terminated.
	DefaultMaxDeliver = 5
	// DefaultNakDelay is the redelivery delay after a failed Process or publish.
	DefaultNakDelay = 2 * time.Second
	// DefaultDupWindow is the smallest duplicate window given to an output stream created by Run.
	DefaultDupWindow = 2 * time.Minute
)

// Config configures [Run]. The zero value of every field but URL, From and To selects a default.
//
// # Exactly-once output and the duplicate window
//
// Each enriched event is published with the header Nats-Msg-Id set to "<input stream>:<input stream sequence>",
// the publish acknowledgement is awaited, and only then is the input message acknowledged (and that ack
// confirmed by the server). If a process dies between publish and ack, the input is redelivered after AckWait
// and republished with the same id; the output stream drops it as a duplicate, provided the republish happens
// inside the output stream's duplicate window. The latest possible republish of one input happens
// MaxDeliver*(AckWait+NakDelay) after its first delivery, so Run requires the window (DupWindow for a stream it
// creates, the stream's own Duplicates setting for an existing one) to be at least that long.
//
// The id relies on stream sequences being unique: deleting and recreating the input stream (sequences start over
// at 1) inside one duplicate window would make new events look like duplicates of old ones.
type Config struct {
	// URL is the NATS server URL, e.g. nats://127.0.0.1:4222; several may be given separated by commas.
	// Credentials in the URL (user:password@ or token@) are never logged.
	URL string
	// Stream is the JetStream stream holding From; created with subjects [From] when missing.
	// Default DefaultStream.
	Stream string
	// From is the subject consumed (wildcards allowed).
	From string
	// To is the subject enriched events are published to (no wildcards; must not match From).
	To string
	// OutStream is the stream capturing To; created with subjects [To] and DupWindow when missing.
	// Default DefaultOutStream.
	OutStream string
	// DupWindow is the duplicate window of an output stream created by Run.
	// Default max(DefaultDupWindow, MaxDeliver*(AckWait+NakDelay)).
	DupWindow time.Duration
	// Durable is the durable pull consumer shared by every omen process doing this work. Default DefaultDurable.
	Durable string
	// Workers is the number of concurrent Process calls in this process. Default GOMAXPROCS.
	Workers int
	// Batch is the number of messages this process asks the server for ahead of processing. Default Workers.
	Batch int
	// AckWait is how long the server waits for an ack before redelivering. Default DefaultAckWait.
	// It also bounds one Process call plus publish: the context passed to Process expires after AckWait.
	AckWait time.Duration
	// MaxDeliver is the number of deliveries of one input message; a message whose last delivery fails is
	// terminated and logged. Default DefaultMaxDeliver.
	MaxDeliver int
	// NakDelay is the delay before a message whose Process or publish failed is redelivered.
	// Default DefaultNakDelay.
	NakDelay time.Duration
	// MaxAckPending caps the unacknowledged messages of the durable consumer, summed over every process sharing
	// it. Default 8*(Workers+Batch), room for eight processes of this size.
	MaxAckPending int
	// Log receives connection, setup and failure messages. Default: discarded.
	Log *slog.Logger

	// afterPublish, when set (tests only), runs after an output publish is acknowledged and before the input
	// message is acked.
	afterPublish func(id string)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.OutStream == "" {
		c.OutStream = DefaultOutStream
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Batch == 0 {
		c.Batch = c.Workers
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.NakDelay == 0 {
		c.NakDelay = DefaultNakDelay
	}
	if c.DupWindow == 0 {
		c.DupWindow = max(DefaultDupWindow, c.redeliverySpan())
	}
	if c.MaxAckPending == 0 && c.Workers > 0 && c.Batch > 0 {
		c.MaxAckPending = 8 * (c.Workers + c.Batch)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// redeliverySpan is the longest time between the first and the last delivery of one input message.
func (c Config) redeliverySpan() time.Duration {
	if c.MaxDeliver <= 0 || c.AckWait <= 0 || c.NakDelay < 0 {
		return 0
	}
	return time.Duration(c.MaxDeliver) * (c.AckWait + c.NakDelay)
}

// Validate checks the configuration, with defaults applied, without any I/O.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if err := validateURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if err := validateSubject(c.From, true); err != nil {
		add("from: %w", err)
	}
	if err := validateSubject(c.To, false); err != nil {
		add("to: %w", err)
	}
	if c.From != "" && c.To != "" && subjectMatches(c.From, c.To) {
		add("to %q is matched by from %q: enriched events would be consumed again", c.To, c.From)
	}
	if err := validateName(c.Stream); err != nil {
		add("stream: %w", err)
	}
	if err := validateName(c.OutStream); err != nil {
		add("out stream: %w", err)
	}
	if c.Stream == c.OutStream {
		add("stream and out stream are both %q: they must differ", c.Stream)
	}
	if err := validateName(c.Durable); err != nil {
		add("durable: %w", err)
	}
	if c.Workers < 1 {
		add("workers %d: must be at least 1", c.Workers)
	}
	if c.Batch < 1 {
		add("batch %d: must be at least 1", c.Batch)
	}
	if c.AckWait < time.Second {
		add("ack wait %s: must be at least 1s", c.AckWait)
	}
	if c.MaxDeliver < 1 {
		add("max deliver %d: must be at least 1", c.MaxDeliver)
	}
	if c.NakDelay < 0 {
		add("nak delay %s: must not be negative", c.NakDelay)
	}
	if c.MaxAckPending < 1 {
		add("max ack pending %d: must be at least 1", c.MaxAckPending)
	} else if c.Workers >= 1 && c.MaxAckPending < c.Workers {
		add("max ack pending %d: must be at least workers (%d)", c.MaxAckPending, c.Workers)
	}
	if span := c.redeliverySpan(); span > 0 && c.DupWindow < span {
		add("dup window %s: shorter than max deliver x (ack wait + nak delay) = %s, a redelivered event could be published twice",
			c.DupWindow, span)
	}
	return errors.Join(errs...)
}

// validateURL checks every comma-separated server URL. Errors show redacted URLs only.
func validateURL(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("url: empty")
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		u, err := url.Parse(part)
		if err != nil {
			// url errors quote the input, which may hold credentials.
			return fmt.Errorf("url %d: not a valid URL", i+1)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("url %d %s: scheme %q is not nats, tls, ws or wss", i+1, redactOne(part), u.Scheme)
		}
		if u.Host == "" {
			return fmt.Errorf("url %d %s: no host", i+1, redactOne(part))
		}
	}
	return nil
}

// RedactURL returns s, a comma-separated list of server URLs, with passwords and tokens replaced.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid url>"
	}
	if u.User == nil {
		return u.String()
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else {
		u.User = url.User("xxxxx") // a lone user part is a token
	}
	return u.String()
}

// validateName checks a stream or consumer name.
func validateName(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	if len(s) > 255 {
		return fmt.Errorf("name of %d bytes: longer than 255", len(s))
	}
	for i, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(".*>/\\", r) {
			return fmt.Errorf("name %q: character %q at byte %d is not allowed", s, r, i)
		}
	}
	return nil
}

// validateSubject checks a NATS subject; wildcards are allowed only when wild is true.
func validateSubject(s string, wild bool) error {
	if s == "" {
		return errors.New("empty subject")
	}
	tokens := strings.Split(s, ".")
	for i, tok := range tokens {
		if tok == "" {
			return fmt.Errorf("subject %q: empty token %d", s, i+1)
		}
		if j := strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }); j >= 0 {
			return fmt.Errorf("subject %q: whitespace or control character in token %d", s, i+1)
		}
		switch {
		case tok == "*" || tok == ">":
			if !wild {
				return fmt.Errorf("subject %q: wildcard %q in token %d not allowed", s, tok, i+1)
			}
			if tok == ">" && i != len(tokens)-1 {
				return fmt.Errorf("subject %q: '>' must be the last token", s)
			}
		case strings.ContainsAny(tok, "*>"):
			return fmt.Errorf("subject %q: wildcard inside token %d", s, i+1)
		}
	}
	return nil
}

// subjectMatches reports whether the literal subject matches pattern (which may hold * and > wildcards).
func subjectMatches(pattern, subject string) bool {
	pt := strings.Split(pattern, ".")
	st := strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) {
			return false
		}
		if p != "*" && p != st[i] {
			return false
		}
	}
	return len(pt) == len(st)
}
