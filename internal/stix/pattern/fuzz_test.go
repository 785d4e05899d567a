package pattern_test

import (
	"reflect"
	"testing"

	"github.com/omen-tip/omen/internal/stix/pattern"
)

// FuzzParse checks that Parse never panics and that the canonical form of whatever it accepts
// parses back to the same pattern. Seeds: every pattern of the tests and of testdata; what the
// fuzzer found is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.in)
	}
	for _, tc := range parseErrorTests {
		f.Add(tc.in)
	}
	for _, tc := range reduceTests {
		f.Add(tc.in)
	}
	for _, fp := range fixturePatterns(f) {
		f.Add(fp.pattern)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := pattern.Parse(in)
		if err != nil {
			return
		}
		p.Reduce()
		s := p.String()
		q, err := pattern.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String() %q: %v", in, s, err)
		}
		if s2 := q.String(); s2 != s {
			t.Fatalf("String() not stable: %q, then %q", s, s2)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("Parse(%q) and Parse(%q) differ", in, s)
		}
	})
}
