package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Actions configures response actions: webhooks and the automatic-response policy (see
// internal/respond).
//
//	actions:
//	  webhooks:
//	    - name: soar
//	      url: https://shuffle.example.org/api/v1/hooks/webhook_0a1b2c
//	      kinds: [block, contain-account]
//	      template: shuffle            # generic (default), shuffle, n8n, thehive-alert
//	      secret_env: OMEN_SOAR_SECRET # or secret: "..." (HMAC-SHA256 of the body)
//	      headers: {Authorization: "Bearer ..."}
//	      timeout: 10s
//	      max_attempts: 5
//	  auto:
//	    enabled: false
//	    min_priority: 80
//	    kinds: [block]
type Actions struct {
	Webhooks []Webhook `yaml:"webhooks"`
	Auto     Auto      `yaml:"auto"`
}

// Webhook is one receiver of response actions.
type Webhook struct {
	// Name identifies the webhook (a-z, 0-9, '.', '_', '-'), as in `omen findings act --webhook`.
	Name string `yaml:"name"`
	// URL is the http or https endpoint; credentials belong in Headers or the secret, not here.
	URL string `yaml:"url"`
	// Kinds are the action kinds it receives (block, contain-account, open-case); none: all.
	Kinds []string `yaml:"kinds"`
	// Template is the payload shape: generic (default), shuffle, n8n or thehive-alert.
	Template string `yaml:"template"`
	// Secret signs bodies with HMAC-SHA256 (X-Omen-Signature); SecretEnv names an environment
	// variable holding it instead. At most one of them.
	Secret    Secret `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
	// Headers are extra request headers; their values are treated as secrets.
	Headers map[string]Secret `yaml:"headers"`
	// Timeout of one attempt (default 10s, at most 5m).
	Timeout string `yaml:"timeout"`
	// MaxAttempts before the delivery is dead-lettered (default 5, at most 20).
	MaxAttempts int `yaml:"max_attempts"`
}

// Auto is the automatic-response policy: which actions omen takes on its own for findings in the
// Act band. Off by default.
type Auto struct {
	Enabled bool `yaml:"enabled"`
	// MinPriority is the lowest priority acted on (default 80).
	MinPriority int `yaml:"min_priority"`
	// Kinds are the action kinds allowed; enabling the policy needs at least one.
	Kinds []string `yaml:"kinds"`
	// MinLikelihood raises the model's own auto-response likelihood threshold (0.8); 0..1.
	MinLikelihood float64 `yaml:"min_likelihood"`
}

// Webhook defaults and limits.
const (
	DefaultWebhookTimeout     = 10 * time.Second
	maxWebhookTimeout         = 5 * time.Minute
	DefaultWebhookMaxAttempts = 5
	maxWebhookAttempts        = 20
	DefaultAutoMinPriority    = 80
)

// Secret is a configuration value that must never be printed or logged.
type Secret string

const redacted = "[redacted]"

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the value.
func (s Secret) GoString() string { return s.String() }

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// Reveal returns the value, for the code that signs or sends it.
func (s Secret) Reveal() string { return string(s) }

var (
	actionKinds       = []string{"block", "contain-account", "open-case"}
	webhookTemplates  = []string{"generic", "shuffle", "n8n", "thehive-alert"}
	webhookNameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	headerNameRE      = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	envNameRE         = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	reservedHeaderSet = []string{"Content-Type", "Content-Length", "Host"}
)

// TemplateName returns the template, "generic" when unset.
func (w Webhook) TemplateName() string {
	if w.Template == "" {
		return "generic"
	}
	return strings.ToLower(w.Template)
}

// TimeoutDuration returns the timeout of one attempt (default 10s).
func (w Webhook) TimeoutDuration() time.Duration {
	d, err := ParseDuration(w.Timeout)
	if w.Timeout == "" || err != nil || d <= 0 {
		return DefaultWebhookTimeout
	}
	return d
}

// Attempts returns the maximum number of attempts (default 5).
func (w Webhook) Attempts() int {
	if w.MaxAttempts <= 0 {
		return DefaultWebhookMaxAttempts
	}
	return w.MaxAttempts
}

// SecretValue returns the signing secret: Secret, or the value of the environment variable
// SecretEnv ("" when neither is set). An unset or empty variable is an error.
func (w Webhook) SecretValue() (string, error) {
	if w.SecretEnv == "" {
		return w.Secret.Reveal(), nil
	}
	v := os.Getenv(w.SecretEnv)
	if v == "" {
		return "", fmt.Errorf("webhook %s: secret_env %s is not set", w.Name, w.SecretEnv)
	}
	return v, nil
}

// HeaderValues returns the extra headers with their values revealed.
func (w Webhook) HeaderValues() map[string]string {
	if len(w.Headers) == 0 {
		return nil
	}
	out := make(map[string]string, len(w.Headers))
	for k, v := range w.Headers {
		out[k] = v.Reveal()
	}
	return out
}

// LogValue logs the webhook without its secret, header values or URL query.
func (w Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", w.Name), slog.String("url", RedactURL(w.URL)),
		slog.String("template", w.TemplateName()), slog.Bool("signed", w.Secret != "" || w.SecretEnv != ""))
}

// RedactURL drops the user information, query (tokens often ride in it) and fragment of a URL
// for display and logs.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	u.Fragment = ""
	return u.String()
}

// MinPriorityOrDefault returns the policy's minimum priority (default 80).
func (a Auto) MinPriorityOrDefault() int {
	if a.MinPriority <= 0 {
		return DefaultAutoMinPriority
	}
	return a.MinPriority
}

// validate checks the actions and returns every problem.
func (a Actions) validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range a.Webhooks {
		at := fmt.Sprintf("actions.webhooks[%d]", i)
		if w.Name != "" {
			at = fmt.Sprintf("actions.webhooks[%d] (%s)", i, w.Name)
		}
		bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(at+": "+format, args...)) }
		switch {
		case !webhookNameRE.MatchString(w.Name):
			bad("name %q: want 1-63 of a-z 0-9 . _ -, starting with a letter or digit", w.Name)
		case seen[w.Name]:
			bad("name %q used twice", w.Name)
		}
		seen[w.Name] = true
		if err := checkWebhookURL(w.URL); err != nil {
			bad("url: %v", err)
		}
		for _, k := range w.Kinds {
			if !slices.Contains(actionKinds, strings.ToLower(k)) {
				bad("kind %q: want block, contain-account or open-case", k)
			}
		}
		if !slices.Contains(webhookTemplates, w.TemplateName()) {
			bad("template %q: want generic, shuffle, n8n or thehive-alert", w.Template)
		}
		if w.Secret != "" && w.SecretEnv != "" {
			bad("secret and secret_env both set: choose one")
		}
		if w.SecretEnv != "" && !envNameRE.MatchString(w.SecretEnv) {
			bad("secret_env %q: want an environment variable name", w.SecretEnv)
		}
		for h := range w.Headers {
			c := http.CanonicalHeaderKey(h)
			switch {
			case !headerNameRE.MatchString(h):
				bad("header name %q is invalid", h)
			case strings.HasPrefix(c, "X-Omen-") || slices.Contains(reservedHeaderSet, c):
				bad("header %s is set by omen", c)
			}
		}
		if w.Timeout != "" {
			d, err := ParseDuration(w.Timeout)
			if err != nil || d <= 0 || d > maxWebhookTimeout {
				bad("timeout %q: want a duration from 1ms to 5m, such as 10s", w.Timeout)
			}
		}
		if w.MaxAttempts < 0 || w.MaxAttempts > maxWebhookAttempts {
			bad("max_attempts %d: want 1..%d (0: default %d)", w.MaxAttempts, maxWebhookAttempts, DefaultWebhookMaxAttempts)
		}
	}
	au := a.Auto
	if au.MinPriority < 0 || au.MinPriority > 100 {
		errs = append(errs, fmt.Errorf("actions.auto.min_priority %d: want 0..100", au.MinPriority))
	}
	if au.MinLikelihood < 0 || au.MinLikelihood > 1 {
		errs = append(errs, fmt.Errorf("actions.auto.min_likelihood %g: want 0..1", au.MinLikelihood))
	}
	for _, k := range au.Kinds {
		if !slices.Contains(actionKinds, strings.ToLower(k)) {
			errs = append(errs, fmt.Errorf("actions.auto.kinds: %q: want block, contain-account or open-case", k))
		}
	}
	if au.Enabled && len(au.Kinds) == 0 {
		errs = append(errs, errors.New("actions.auto: enabled without kinds: list the kinds omen may take on its own"))
	}
	return errors.Join(errs...)
}

// checkWebhookURL accepts an absolute http or https URL with a host and no user information.
func checkWebhookURL(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an http or https URL", RedactURL(s))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q: no host", RedactURL(s))
	}
	if u.User != nil {
		return fmt.Errorf("%q: credentials belong in headers or the secret, not the URL", RedactURL(s))
	}
	return nil
}
