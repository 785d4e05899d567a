package pattern_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/omen-tip/omen/internal/stix/pattern"
)

// fixturePattern is one STIX pattern found in a testdata file.
type fixturePattern struct {
	file    string
	pattern string
}

// fixturePatterns returns every "pattern" of every object in testdata/*.json whose pattern_type
// is "stix" or absent.
func fixturePatterns(tb testing.TB) []fixturePattern {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []fixturePattern
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			tb.Fatalf("decoding %s: %v", f, err)
		}
		walkPatterns(v, func(p string) {
			out = append(out, fixturePattern{file: filepath.Base(f), pattern: p})
		})
	}
	return out
}

// walkPatterns calls fn with the pattern of every STIX-pattern object nested in v.
func walkPatterns(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		if p, ok := v["pattern"].(string); ok {
			if pt, has := v["pattern_type"]; !has || pt == "stix" {
				fn(p)
			}
		}
		for _, e := range v {
			walkPatterns(e, fn)
		}
	case []any:
		for _, e := range v {
			walkPatterns(e, fn)
		}
	}
}

func TestParseFixtures(t *testing.T) {
	pats := fixturePatterns(t)
	if len(pats) < 12 {
		t.Fatalf("found %d patterns in testdata, want at least 12", len(pats))
	}
	for _, fp := range pats {
		t.Run(fp.file+"/"+fp.pattern, func(t *testing.T) {
			checkRoundTrip(t, fp.pattern)
		})
	}
}

// checkRoundTrip parses in, which must be valid, and checks that its canonical form parses back
// to an equal AST and prints the same.
func checkRoundTrip(t *testing.T, in string) *pattern.Pattern {
	t.Helper()
	p, err := pattern.Parse(in)
	if err != nil {
		t.Fatalf("Parse(%q): %v", in, err)
	}
	s := p.String()
	q, err := pattern.Parse(s)
	if err != nil {
		t.Fatalf("Parse(String()) = Parse(%q): %v", s, err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("Parse(%q) and Parse(%q) differ", in, s)
	}
	if s2 := q.String(); s2 != s {
		t.Fatalf("String() not stable: %q, then %q", s, s2)
	}
	return p
}

// fixtureReductions are the expected reductions of the testdata patterns, keyed by pattern.
var fixtureReductions = map[string]struct {
	reducible bool
	atoms     []string
	reason    string
}{
	"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']":   {true, []string{"md5:d41d8cd98f00b204e9800998ecf8427e"}, ""},
	"[ file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' ]": {true, []string{"md5:d41d8cd98f00b204e9800998ecf8427e"}, ""},
	"[ ipv4-addr:value = '10.0.0.0' ]":                         {true, []string{"ipv4:10.0.0.0"}, ""},
	"[ipv4-addr:value = '10.0.0.0']":                           {true, []string{"ipv4:10.0.0.0"}, ""},
	"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']": {
		true, []string{"sha256:ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"}, ""},
	"[url:value = 'http://x4z9arb.cn/4712']":                                               {true, []string{"url:http://x4z9arb.cn/4712"}, ""},
	"[url:value = 'http://z4z10farb.cn/4712']":                                             {true, []string{"url:http://z4z10farb.cn/4712"}, ""},
	"[email-message:subject MATCHES '^[IMPORTANT] Please Review Before']":                  {false, nil, "operator MATCHES"},
	`[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']`: {false, nil, "operator MATCHES"},
}

func TestReduceFixtures(t *testing.T) {
	for _, fp := range fixturePatterns(t) {
		t.Run(fp.file+"/"+fp.pattern, func(t *testing.T) {
			want, ok := fixtureReductions[fp.pattern]
			if !ok {
				t.Fatalf("no expected reduction for %q", fp.pattern)
			}
			p, err := pattern.Parse(fp.pattern)
			if err != nil {
				t.Fatal(err)
			}
			checkReduction(t, p.Reduce(), want.reducible, want.atoms, want.reason, 0)
		})
	}
}
