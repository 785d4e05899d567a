package findings

import (
	"slices"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
)

// FuzzParseStatus checks that any input gives a workflow status or an error, never a panic, and
// that a parsed status parses to itself.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"new", "Triaged", "in progress", "in_progress", "false-positive", "FP", "resolved", "", "closed", "in--progress", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStatus(s)
		if err != nil {
			return
		}
		if !slices.Contains(intel.FindingStatuses, st) {
			t.Fatalf("ParseStatus(%q) = %q, not a status", s, st)
		}
		if again, err := ParseStatus(st); err != nil || again != st {
			t.Fatalf("ParseStatus(%q) = %q, %v", st, again, err)
		}
	})
}

// FuzzParseObservable checks that allowlist values give a valid observable or an error.
func FuzzParseObservable(f *testing.F) {
	for _, s := range [][2]string{{"192.0.2.1", ""}, {"hxxps://cdn.example[.]com/app.js", ""}, {"SVC-Backup", "account"},
		{"10.0.0.0/8", ""}, {"d41d8cd98f00b204e9800998ecf8427e", "ja3"}, {"x", "bogus"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, value, typ string) {
		o, err := ParseObservable(value, typ)
		if err != nil {
			return
		}
		if !o.Type.Valid() || o.Value == "" {
			t.Fatalf("ParseObservable(%q, %q) = %v", value, typ, o)
		}
	})
}
