package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateDomainFeeds(t *testing.T) {
	tests := []struct {
		name    string
		in      []DomainFeed
		wantErr []string
	}{
		{"none", nil, nil},
		{"ok", []DomainFeed{{Name: "nrd", URL: "https://example.org/nrd-7.txt"},
			{URL: "http://127.0.0.1:8080/new.jsonl", Format: "NDJSON", Field: "host", Every: "1d"}}, nil},
		{"bad url", []DomainFeed{{URL: "ftp://x/y"}}, []string{"brand.domain_feeds[0].url \"ftp://x/y\""}},
		{"no host", []DomainFeed{{URL: "https:///x"}}, []string{"domain_feeds[0].url"}},
		{"url secret redacted", []DomainFeed{{URL: "file://u:pw@h/x?key=s"}}, []string{"\"file://h/x\""}},
		{"bad format", []DomainFeed{{URL: "https://h/x", Format: "csv"}}, []string{"domain_feeds[0].format \"csv\""}},
		{"field without ndjson", []DomainFeed{{URL: "https://h/x", Field: "d"}}, []string{"domain_feeds[0].field"}},
		{"bad every", []DomainFeed{{URL: "https://h/x", Every: "soon"}}, []string{"domain_feeds[0].every \"soon\""}},
		{"too often", []DomainFeed{{URL: "https://h/x", Every: "5s"}}, []string{"at least 1m"}},
		{"twice", []DomainFeed{{Name: "a", URL: "https://h/x"}, {Name: "a", URL: "https://h/y"}},
			[]string{"domain_feeds[1]: feed \"a\" listed twice"}},
		{"several", []DomainFeed{{URL: "x", Format: "y"}}, []string{"url", "format"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validateDomainFeeds(tc.in)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "key=") {
				t.Errorf("error %v shows a secret", err)
			}
		})
	}
}

func TestDomainFeedDefaults(t *testing.T) {
	for in, want := range map[string]time.Duration{"": time.Hour, "2h": 2 * time.Hour, "1d": 24 * time.Hour,
		"soon": time.Hour, "1s": time.Hour} {
		if got := (DomainFeed{Every: in}).Interval(); got != want {
			t.Errorf("Interval(%q) = %v, want %v", in, got, want)
		}
	}
	if f := (DomainFeed{}).FieldOrDefault(); f != "domain" {
		t.Errorf("FieldOrDefault = %q", f)
	}
	if f := (DomainFeed{Field: "host"}).FieldOrDefault(); f != "host" {
		t.Errorf("FieldOrDefault = %q", f)
	}
}
