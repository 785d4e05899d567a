package natsjs

import (
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{URL: "nats://127.0.0.1:4222", From: "soc.events", To: "soc.enriched"}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"wildcard from", func(c *Config) { c.From = "soc.events.>" }, ""},
		{"star from", func(c *Config) { c.From = "soc.*.events" }, ""},
		{"several urls", func(c *Config) { c.URL = "nats://a:4222, tls://u:p@b:4222" }, ""},
		{"token url", func(c *Config) { c.URL = "nats://s3cret@127.0.0.1:4222" }, ""},
		{"explicit everything", func(c *Config) {
			c.Stream, c.OutStream, c.Durable = "IN", "OUT", "d"
			c.Workers, c.Batch, c.MaxAckPending = 4, 8, 64
			c.AckWait, c.MaxDeliver, c.NakDelay, c.DupWindow = 2*time.Second, 3, 100*time.Millisecond, 10*time.Second
		}, ""},
		{"empty url", func(c *Config) { c.URL = "" }, "url: empty"},
		{"bad scheme", func(c *Config) { c.URL = "http://127.0.0.1:4222" }, `scheme "http"`},
		{"no host", func(c *Config) { c.URL = "nats://" }, "no host"},
		{"second url bad", func(c *Config) { c.URL = "nats://a:1,nats://" }, "url 2"},
		{"empty from", func(c *Config) { c.From = "" }, "from: empty subject"},
		{"empty to", func(c *Config) { c.To = "" }, "to: empty subject"},
		{"wildcard to", func(c *Config) { c.To = "soc.*" }, "to: subject \"soc.*\": wildcard"},
		{"empty token", func(c *Config) { c.From = "soc..events" }, "empty token 2"},
		{"space in subject", func(c *Config) { c.From = "soc events" }, "whitespace"},
		{"gt not last", func(c *Config) { c.From = "soc.>.x" }, "must be the last token"},
		{"wildcard inside token", func(c *Config) { c.From = "soc.ev*" }, "wildcard inside token 2"},
		{"to equals from", func(c *Config) { c.To = c.From }, "would be consumed again"},
		{"from matches to", func(c *Config) { c.From = "soc.>" }, "would be consumed again"},
		{"same streams", func(c *Config) { c.Stream, c.OutStream = "S", "S" }, "must differ"},
		{"dot in stream", func(c *Config) { c.Stream = "a.b" }, "stream: name \"a.b\": character '.'"},
		{"slash in out stream", func(c *Config) { c.OutStream = "a/b" }, "out stream: name"},
		{"space in durable", func(c *Config) { c.Durable = "omen enrich" }, "durable: name"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "workers -1"},
		{"negative batch", func(c *Config) { c.Batch = -2 }, "batch -2"},
		{"short ack wait", func(c *Config) { c.AckWait = 10 * time.Millisecond }, "ack wait 10ms"},
		{"negative max deliver", func(c *Config) { c.MaxDeliver = -1 }, "max deliver -1"},
		{"negative nak delay", func(c *Config) { c.NakDelay = -time.Second }, "nak delay -1s"},
		{"max ack pending below workers", func(c *Config) { c.Workers, c.MaxAckPending = 8, 4 }, "max ack pending 4"},
		{"dup window too short", func(c *Config) {
			c.AckWait, c.MaxDeliver, c.NakDelay, c.DupWindow = 30*time.Second, 5, time.Second, time.Minute
		}, "dup window 1m0s: shorter than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Workers: 3, AckWait: 40 * time.Second}.withDefaults()
	if c.Stream != DefaultStream || c.OutStream != DefaultOutStream || c.Durable != DefaultDurable {
		t.Errorf("names = %q %q %q", c.Stream, c.OutStream, c.Durable)
	}
	if c.Batch != 3 || c.MaxDeliver != DefaultMaxDeliver || c.NakDelay != DefaultNakDelay {
		t.Errorf("batch %d, max deliver %d, nak delay %s", c.Batch, c.MaxDeliver, c.NakDelay)
	}
	if c.MaxAckPending != 48 {
		t.Errorf("max ack pending = %d, want 48", c.MaxAckPending)
	}
	// 5 x (40s + 2s) = 3m30s exceeds the 2m floor.
	if c.DupWindow != 210*time.Second {
		t.Errorf("dup window = %s, want 3m30s", c.DupWindow)
	}
	if c.Log == nil {
		t.Error("nil logger after defaults")
	}
}

func TestValidateDoesNotLeakCredentials(t *testing.T) {
	c := validConfig()
	c.URL = "http://alice:hunter2@127.0.0.1:4222,nats://t0ken@x:1"
	err := c.Validate()
	if err == nil {
		t.Fatal("want error for http scheme")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks password: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://alice:hunter2@127.0.0.1:4222", "nats://alice:xxxxx@127.0.0.1:4222"},
		{"nats://s3cr3tt0ken@127.0.0.1:4222", "nats://xxxxx@127.0.0.1:4222"},
		{"nats://a:1, tls://bob:pw@b:2", "nats://a:1,tls://bob:xxxxx@b:2"},
		{"nats://a:%zz@h", "<invalid url>"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSubjectMatches(t *testing.T) {
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{">", "a", true},
		{"*.b.*", "x.b.y", true},
		{"a.b.c", "a.b", false},
	}
	for _, tt := range tests {
		if got := subjectMatches(tt.pattern, tt.subject); got != tt.want {
			t.Errorf("subjectMatches(%q, %q) = %v, want %v", tt.pattern, tt.subject, got, tt.want)
		}
	}
}

// FuzzConfigValidate checks that Validate never panics and never echoes a URL password.
func FuzzConfigValidate(f *testing.F) {
	f.Add("nats://127.0.0.1:4222", "soc.events", "soc.enriched", "OMEN_EVENTS")
	f.Add("nats://alice:hunter2@h:1,nats://", "soc.>", "soc.x", "a.b")
	f.Add("tls://tok@h:1", "a..b", "*", "")
	f.Add("::", ">.a", "a b", "x/y")
	f.Fuzz(func(t *testing.T, rawURL, from, to, stream string) {
		c := Config{URL: rawURL, From: from, To: to, Stream: stream}
		err := c.Validate()
		if err != nil && strings.Contains(rawURL, ":hunter2@") && strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error leaks password: %v", err)
		}
		if validateSubject(to, false) == nil && !subjectMatches(to, to) {
			t.Fatalf("literal subject %q does not match itself", to)
		}
		_ = RedactURL(rawURL)
	})
}
