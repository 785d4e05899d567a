package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/config"
)

const actionsYAML = `
sources: []
actions:
  webhooks:
    - name: soar
      url: https://shuffle.example.org/api/v1/hooks/webhook_0a1b2c?token=qtok
      kinds: [block, contain-account]
      template: shuffle
      secret: hmac-s3cret
      headers:
        Authorization: Bearer hdr-s3cret
      timeout: 3s
      max_attempts: 7
    - name: hive
      url: http://127.0.0.1:9000/api/v1/alert
      kinds: [open-case]
      template: thehive-alert
      secret_env: OMEN_TEST_HIVE_SECRET
  auto:
    enabled: true
    min_priority: 85
    kinds: [block]
`

func TestActionsLoad(t *testing.T) {
	t.Setenv("OMEN_TEST_HIVE_SECRET", "env-s3cret")
	c, err := config.Load([]byte(actionsYAML))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Actions
	if len(a.Webhooks) != 2 || !a.Auto.Enabled || a.Auto.MinPriorityOrDefault() != 85 || a.Auto.Kinds[0] != "block" {
		t.Fatalf("actions %+v", a)
	}
	soar, hive := a.Webhooks[0], a.Webhooks[1]
	if soar.TemplateName() != "shuffle" || soar.TimeoutDuration() != 3*time.Second || soar.Attempts() != 7 ||
		soar.HeaderValues()["Authorization"] != "Bearer hdr-s3cret" {
		t.Errorf("soar %+v", soar)
	}
	if s, err := soar.SecretValue(); err != nil || s != "hmac-s3cret" {
		t.Errorf("soar secret %q %v", s, err)
	}
	if s, err := hive.SecretValue(); err != nil || s != "env-s3cret" {
		t.Errorf("hive secret %q %v", s, err)
	}
	if hive.TimeoutDuration() != config.DefaultWebhookTimeout || hive.Attempts() != config.DefaultWebhookMaxAttempts {
		t.Errorf("hive defaults %+v", hive)
	}
	t.Setenv("OMEN_TEST_HIVE_SECRET", "")
	if _, err := hive.SecretValue(); err == nil || !strings.Contains(err.Error(), "OMEN_TEST_HIVE_SECRET") {
		t.Errorf("unset secret_env: %v", err)
	}

	// Secrets never show in logs, %v, %#v or JSON.
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "webhook", soar, "secret", soar.Secret, "headers", soar.Headers)
	j, _ := json.Marshal(a)
	out := b.String() + string(j) + fmt.Sprintf("%v %+v %#v", soar, soar, soar)
	for _, s := range []string{"hmac-s3cret", "hdr-s3cret"} {
		if strings.Contains(out, s) {
			t.Errorf("%q leaked: %s", s, out)
		}
	}
	if strings.Contains(b.String(), "qtok") {
		t.Errorf("the URL's query was logged: %s", b.String())
	}
}

func TestActionsDefaultsOff(t *testing.T) {
	c, err := config.Load([]byte("sources: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Actions.Auto.Enabled || len(c.Actions.Webhooks) != 0 || c.Actions.Auto.MinPriorityOrDefault() != 80 {
		t.Errorf("defaults %+v", c.Actions)
	}
}

func TestActionsValidate(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"bad name":        {"webhooks: [{name: 'Bad Name', url: 'https://x.example/'}]", "name"},
		"duplicate":       {"webhooks: [{name: a, url: 'https://x.example/'}, {name: a, url: 'https://y.example/'}]", "used twice"},
		"scheme":          {"webhooks: [{name: a, url: 'ftp://x.example/'}]", "http or https"},
		"no url":          {"webhooks: [{name: a}]", "url: missing"},
		"no host":         {"webhooks: [{name: a, url: 'https:///p'}]", "no host"},
		"userinfo":        {"webhooks: [{name: a, url: 'https://u:pw@x.example/'}]", "credentials"},
		"template":        {"webhooks: [{name: a, url: 'https://x.example/', template: xml}]", "template"},
		"kind":            {"webhooks: [{name: a, url: 'https://x.example/', kinds: [reboot]}]", "kind \"reboot\""},
		"both secrets":    {"webhooks: [{name: a, url: 'https://x.example/', secret: s, secret_env: S}]", "choose one"},
		"env name":        {"webhooks: [{name: a, url: 'https://x.example/', secret_env: 'A B'}]", "secret_env"},
		"reserved header": {"webhooks: [{name: a, url: 'https://x.example/', headers: {x-omen-signature: v}}]", "set by omen"},
		"bad header":      {"webhooks: [{name: a, url: 'https://x.example/', headers: {'a b': v}}]", "header name"},
		"timeout":         {"webhooks: [{name: a, url: 'https://x.example/', timeout: 1h}]", "timeout"},
		"attempts":        {"webhooks: [{name: a, url: 'https://x.example/', max_attempts: 50}]", "max_attempts"},
		"auto no kinds":   {"auto: {enabled: true}", "without kinds"},
		"auto kind":       {"auto: {kinds: [nuke]}", "auto.kinds"},
		"auto priority":   {"auto: {min_priority: 101}", "min_priority"},
		"auto L":          {"auto: {min_likelihood: 1.5}", "min_likelihood"},
		"unknown key":     {"webhooks: [{name: a, url: 'https://x.example/', retries: 3}]", "retries"},
	} {
		yaml := "sources: []\nactions:\n  " + strings.ReplaceAll(tc.yaml, "\n", "\n  ") + "\n"
		_, err := config.Load([]byte(yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: error shows the URL's password: %v", name, err)
		}
	}
}
