package enrich_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/enrich"
)

// TestDecodeCEFRaw checks the ECS object built from genuine CEF lines.
func TestDecodeCEFRaw(t *testing.T) {
	lines := corpusLines(t, "cef.log")
	tests := []struct {
		line int
		want map[string]any // dotted path -> value in Raw
	}{
		{1, map[string]any{
			"cef.version": "0", "observer.vendor": "Elastic", "observer.product": "Vaporware",
			"observer.version": "1.0.0-alpha", "rule.id": "18", "rule.name": "Web request", "event.code": "18",
			"cef.severity": "low", "http.request.method": "POST", "http.request.referrer": "https://www.google.com",
			"network.transport": "tcp", "source.ip": "1.128.3.4", "source.port": 33876.0,
			"destination.ip": "192.168.10.1", "destination.port": 443.0, "url.original": "https://www.example.com/cart",
			"cef.extensions.eventId": "3457", "cef.extensions.slat": "38.915", "cef.extensions.sourceServiceName": "httpd",
			"event.original": string(lines[0]),
		}},
		{2, map[string]any{
			"source.user.name": "bob", "destination.user.name": "alice", "destination.nat.ip": "10.10.10.10",
			"file.hash.md5": "bc8bbe52f041fd17318f08a0f73762ce", "cef.extensions.oldFileHash": "a9796280592f86b74b27e370662d41eb",
		}},
		{4, map[string]any{"message": "This event is padded with whitespace", "source.ip": "192.168.3.4", "destination.ip": "192.168.1.2"}},
		{6, map[string]any{
			"@timestamp": "2020-01-17T08:52:09Z", "event.action": "Allow", "host.name": "10.1.1.40", "observer.ip": "10.1.1.40",
			"network.transport": "icmp", "event.severity": 0.0, "cef.extensions.cs1": "2097157.1", "cef.extensions.cs1Label": "RuleID",
			"message":                         "Referred connection: 10.1.1.40 -> 10.37.133.35 frag=0x4000 TCP 47413->3020",
			"cef.extensions.deviceExternalId": "Master FW node 1", "cef.extensions.deviceReceiptTime": "Jan 17 2020 08:52:09",
		}},
		{8, map[string]any{"source.bytes": 32526.0, "destination.bytes": 27366.0, "source.user.name": "alice", "network.transport": "tcp"}},
		{9, map[string]any{
			"observer.vendor": "VMware Carbon Black", "observer.product": "App Control", "rule.name": "Execution block (unapproved file)",
			"event.severity": 5.0, "destination.ip": "10.0.0.1", "destination.user.name": `NTAUTHORITY\SYSTEM`,
			"message": "File 'itunessetup64.exe' has been blocked because it was unapproved.",
		}},
	}
	d := decoder(t, enrich.FormatCEF)
	for _, tc := range tests {
		var ev enrich.Event
		if err := d.Decode(lines[tc.line-1], &ev); err != nil {
			t.Fatalf("line %d: %v", tc.line, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(ev.Raw, &obj); err != nil {
			t.Fatalf("line %d: Raw: %v", tc.line, err)
		}
		flat := flatten(obj)
		for k, v := range tc.want {
			if flat[k] != v {
				t.Errorf("line %d: %s = %#v, want %#v", tc.line, k, flat[k], v)
			}
		}
	}
}

// flatten maps the dotted path of every non-object value of a decoded JSON object to the value.
// Nested objects and dotted keys give the same paths.
func flatten(obj map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if o, ok := v.(map[string]any); ok && (prefix == "" || len(o) > 0) {
			for k, x := range o {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x)
			}
			return
		}
		out[prefix] = v
	}
	walk("", obj)
	return out
}

// TestDecodeCEFSyntax covers the CEF escaping rules and the accepted forms.
func TestDecodeCEFSyntax(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]any
	}{
		{"header escapes", `CEF:0|Ven\|dor|Pro\\duct|1|sig|Name \| with pipe|High|act=blocked`,
			map[string]any{"observer.vendor": "Ven|dor", "observer.product": `Pro\duct`, "rule.name": "Name | with pipe", "cef.severity": "High", "event.action": "blocked"}},
		{"extension escapes", `CEF:1|V|P|1|s|n|3|msg=a\=b c\\d\nline2\rx request=http://evil.example.com/a?b\=c cs1=x=y`,
			map[string]any{"message": "a=b c\\d\nline2\rx", "url.original": "http://evil.example.com/a?b=c", "cef.extensions.cs1": "x=y", "cef.version": "1"}},
		{"spaces in values", `CEF:0|V|P|1|s|n|3|suser=John Smith  dhost=files.example.com fname=my report.pdf`,
			map[string]any{"source.user.name": "John Smith", "destination.domain": "files.example.com", "file.name": "my report.pdf"}},
		{"host as address", `CEF:0|V|P|1|s|n|3|shost=10.1.2.3 src=not-an-ip`,
			map[string]any{"source.address": "10.1.2.3"}},
		{"full key names and time", `CEF:0|V|P|1|s|n|3|sourceAddress=1.2.3.4 deviceReceiptTime=1579251129000 fileHash=` + strings.Repeat("a", 64),
			map[string]any{"source.ip": "1.2.3.4", "@timestamp": "2020-01-17T08:52:09Z", "file.hash.sha256": strings.Repeat("a", 64)}},
		{"end when no rt", `CEF:0|V|P|1|s|n|3|end=Jan 17 2020 08:52:09.123 UTC outcome=failure`,
			map[string]any{"@timestamp": "2020-01-17T08:52:09.123Z", "event.end": "2020-01-17T08:52:09.123Z", "event.outcome": "failure"}},
		{"syslog prefix", `<134>1 2020-01-17T08:52:09Z fw01 - - - CEF:0|V|P|1|s|n|3|dst=2001:db8::1`,
			map[string]any{"destination.ip": "2001:db8::1"}},
		{"empty extension", `CEF:0|V|P|1|s|n|3|`, map[string]any{"rule.name": "n", "event.severity": 3.0}},
		{"invalid utf-8", "CEF:0|V|P|1|s|n|3|msg=caf\xe9", map[string]any{"message": "caf\ufffd"}},
	}
	d := decoder(t, enrich.FormatCEF)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev enrich.Event
			if err := d.Decode([]byte(tc.in), &ev); err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			if err := json.Unmarshal(ev.Raw, &obj); err != nil {
				t.Fatalf("Raw %s: %v", ev.Raw, err)
			}
			flat := flatten(obj)
			for k, v := range tc.want {
				if flat[k] != v {
					t.Errorf("%s = %#v, want %#v (Raw %s)", k, flat[k], v, ev.Raw)
				}
			}
		})
	}
}

func TestDecodeCEFErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{`Sep 19 08:26:10 host not cef at all`, 0, `no "CEF:" header`},
		{`CEF:0|Vendor|Product|1.0`, 24, "CEF header has 3 of its 7 fields"},
		{`CEF:x|V|P|1|s|n|3|a=b`, 4, "CEF version"},
		{`CEF:0|V|P|1|s|n|3|junk before dst=1.2.3.4`, 18, "does not start with key=value"},
		{`CEF:0|V|P|1|s|n|3|no pairs here`, 18, "does not start with key=value"},
	}
	d := decoder(t, enrich.FormatCEF)
	for _, tc := range tests {
		var ev enrich.Event
		err := d.Decode([]byte(tc.in), &ev)
		var se *enrich.SyntaxError
		if !errors.As(err, &se) || se.Offset != tc.offset || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "invalid CEF event: ") {
			t.Errorf("%q: error %v, want %q at %d", tc.in, err, tc.msg, tc.offset)
		}
	}
}

// FuzzDecodeCEF: Decode never panics; on success Raw is a JSON object and observables are canonical.
func FuzzDecodeCEF(f *testing.F) {
	for _, l := range corpusLines(f, "cef.log") {
		f.Add(l)
	}
	f.Add([]byte(`CEF:0|V\|x|P|1|s|n|3|msg=a\=b\\ c\n request=http://x.example.com/?a\=1 rt=Jan 17 2020 08:52:09.123 UTC`))
	f.Add([]byte("CEF:0|V|P|1|s|n|3|a=\\"))
	d, err := enrich.NewDecoder(enrich.FormatCEF, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev enrich.Event
		if err := d.Decode(line, &ev); err != nil {
			var se *enrich.SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(line) {
				t.Fatalf("error %v without a valid offset", err)
			}
			return
		}
		if !json.Valid(ev.Raw) || ev.Raw[0] != '{' {
			t.Fatalf("Raw is not a JSON object: %s", ev.Raw)
		}
		checkFields(t, ev.Fields)
	})
}
