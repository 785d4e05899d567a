package respond

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/config"
)

// Template is the payload shape a webhook receives.
type Template string

// Payload templates.
const (
	// TemplateGeneric is omen's own JSON: action, finding, values, priority, evidence and
	// recommendations (see [GenericPayload]).
	TemplateGeneric Template = "generic"
	// TemplateShuffle is a flat JSON object for a Shuffle webhook trigger (fields as $exec.name).
	TemplateShuffle Template = "shuffle"
	// TemplateN8N is a flat JSON object for an n8n Webhook node (fields as $json.body.name).
	TemplateN8N Template = "n8n"
	// TemplateTheHiveAlert is the body of TheHive 5's POST /api/v1/alert.
	TemplateTheHiveAlert Template = "thehive-alert"
)

// Templates lists the payload templates.
var Templates = []Template{TemplateGeneric, TemplateShuffle, TemplateN8N, TemplateTheHiveAlert}

// ParseTemplate parses a template name.
func ParseTemplate(s string) (Template, error) {
	t := Template(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Templates, t) {
		return t, nil
	}
	return "", fmt.Errorf("invalid webhook template %q: want generic, shuffle, n8n or thehive-alert", s)
}

// Webhook defaults and limits.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultMaxAttempts    = 5
	MaxMaxAttempts        = 20
)

// Headers omen sets on every delivery.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of timestamp "." body (see [Sign]).
	HeaderSignature = "X-Omen-Signature"
	// HeaderTimestamp is the delivery attempt's Unix time in seconds.
	HeaderTimestamp = "X-Omen-Timestamp"
	// HeaderDelivery is the delivery's idempotency key: the same on every attempt of one action to
	// one webhook, so a receiver can drop a repeat.
	HeaderDelivery = "X-Omen-Delivery"
	// HeaderKind is the action kind.
	HeaderKind = "X-Omen-Action"
)

// Webhook is one receiver of actions.
type Webhook struct {
	Name     string
	URL      string
	Kinds    []Kind // kinds it receives; none: every kind
	Template Template
	// Secret signs bodies (HMAC-SHA256); empty sends no signature. Never logged.
	Secret string
	// Headers are extra request headers (e.g. Authorization for TheHive). Their values are never
	// logged.
	Headers     map[string]string
	Timeout     time.Duration // per attempt (default 10s)
	MaxAttempts int           // default 5
}

var webhookName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// Validate checks the webhook.
func (w Webhook) Validate() error {
	if !webhookName.MatchString(w.Name) {
		return fmt.Errorf("webhook name %q: want 1-63 of a-z 0-9 . _ -, starting with a letter or digit", w.Name)
	}
	if err := ValidateWebhookURL(w.URL); err != nil {
		return fmt.Errorf("webhook %s: %w", w.Name, err)
	}
	if _, err := ParseTemplate(string(w.Template)); err != nil {
		return fmt.Errorf("webhook %s: %w", w.Name, err)
	}
	for _, k := range w.Kinds {
		if _, err := ParseKind(string(k)); err != nil {
			return fmt.Errorf("webhook %s: %w", w.Name, err)
		}
	}
	for h, v := range w.Headers {
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("webhook %s: header %s: value has a line break or NUL", w.Name, h)
		}
		if !headerName.MatchString(h) {
			return fmt.Errorf("webhook %s: invalid header name %q", w.Name, h)
		}
		if c := http.CanonicalHeaderKey(h); strings.HasPrefix(c, "X-Omen-") || c == "Content-Type" || c == "Content-Length" || c == "Host" {
			return fmt.Errorf("webhook %s: header %s is set by omen", w.Name, h)
		}
	}
	if w.Timeout < 0 {
		return fmt.Errorf("webhook %s: negative timeout", w.Name)
	}
	if w.MaxAttempts < 0 || w.MaxAttempts > MaxMaxAttempts {
		return fmt.Errorf("webhook %s: max attempts %d: want 1..%d", w.Name, w.MaxAttempts, MaxMaxAttempts)
	}
	return nil
}

// ValidateWebhookURL accepts an absolute http or https URL with a host and no user information
// (credentials go in a header, never in a URL that ends up in logs).
func ValidateWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: want an http or https URL", u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("URL %q: no host", u.Redacted())
	}
	if u.User != nil {
		return fmt.Errorf("URL %q: credentials belong in a header or the secret, not the URL", u.Redacted())
	}
	return nil
}

// Receives reports whether the webhook receives actions of kind k.
func (w Webhook) Receives(k Kind) bool { return len(w.Kinds) == 0 || slices.Contains(w.Kinds, k) }

// LogValue logs the webhook without its secret or header values.
func (w Webhook) LogValue() slog.Value {
	names := make([]string, 0, len(w.Headers))
	for h := range w.Headers {
		names = append(names, h)
	}
	slices.Sort(names)
	return slog.GroupValue(slog.String("name", w.Name), slog.String("url", config.RedactURL(w.URL)),
		slog.String("template", string(w.Template)), slog.Bool("signed", w.Secret != ""),
		slog.Any("headers", names))
}

// String describes the webhook without its secret or header values.
func (w Webhook) String() string {
	return fmt.Sprintf("webhook %s (%s, %s)", w.Name, config.RedactURL(w.URL), w.Template)
}

// GoString is String, so %#v does not print the secret either.
func (w Webhook) GoString() string { return w.String() }

func (w Webhook) timeout() time.Duration {
	if w.Timeout > 0 {
		return w.Timeout
	}
	return DefaultWebhookTimeout
}

func (w Webhook) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}

// Sign returns the X-Omen-Signature value of body sent at timestamp ts (the X-Omen-Timestamp
// value): "sha256=" and the hex HMAC-SHA256, keyed with secret, of ts "." body. The timestamp is
// signed so a receiver can refuse old replays.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of body at ts under secret, in constant time.
func Verify(secret []byte, ts string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}

// DeliveryKey is the idempotency key of the delivery of action id to webhook name: stable across
// retries, distinct per webhook.
func DeliveryKey(actionID, webhook string) string {
	h := sha256.Sum256([]byte(actionID + "\x00" + webhook))
	return "dlv-" + hex.EncodeToString(h[:12])
}

// PayloadSHA256 is the hex SHA-256 of a payload, as the audit log records it.
func PayloadSHA256(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}
