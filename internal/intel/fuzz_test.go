package intel_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
)

// fuzzTypes maps a fuzzed index to a type: every valid type, and one invalid.
func fuzzType(i uint8) intel.Type {
	if int(i)%(len(intel.Types)+1) == len(intel.Types) {
		return intel.Type("bogus")
	}
	return intel.Types[int(i)%(len(intel.Types)+1)]
}

func typeIndex(t intel.Type) uint8 {
	for i, v := range intel.Types {
		if v == t {
			return uint8(i)
		}
	}
	return uint8(len(intel.Types))
}

// testdataSeeds returns the test documents, whole and line by line.
func testdataSeeds(f *testing.F) (docs, lines []string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		docs = append(docs, string(b))
		for l := range strings.Lines(string(b)) {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return docs, lines
}

// checkCanonical fails unless o is a canonical observable: Normalize returns it unchanged.
func checkCanonical(t *testing.T, o intel.Observable, from string) {
	t.Helper()
	if !o.Type.Valid() || o.Value == "" || !utf8.ValidString(o.Value) {
		t.Fatalf("%s: invalid observable %v", from, o)
	}
	n, err := intel.Normalize(o.Type, o.Value)
	if err != nil || n != o {
		t.Fatalf("%s gave %v; Normalize(%s, %q) = %v, %v", from, o, o.Type, o.Value, n, err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, tc := range normalizeTests {
		f.Add(typeIndex(tc.t), tc.in)
	}
	for _, tc := range detectTests {
		if o, err := intel.Detect(tc.in); err == nil {
			f.Add(typeIndex(o.Type), tc.in)
		}
	}
	_, lines := testdataSeeds(f)
	for i, l := range lines {
		f.Add(uint8(i), l)
	}
	f.Fuzz(func(t *testing.T, ti uint8, in string) {
		typ := fuzzType(ti)
		o, err := intel.Normalize(typ, in)
		if err != nil {
			if o != (intel.Observable{}) {
				t.Fatalf("Normalize(%s, %q) = %v with error %v", typ, in, o, err)
			}
			if msg := err.Error(); !utf8.ValidString(msg) || len(msg) > 512 {
				t.Fatalf("Normalize(%s, %q): bad error message %q", typ, in, msg)
			}
			return
		}
		if o.Type != typ && !(typ.IsIP() && o.Type.IsIP()) {
			t.Fatalf("Normalize(%s, %q) = %v: type changed", typ, in, o)
		}
		checkCanonical(t, o, "Normalize")
	})
}

func FuzzDetect(f *testing.F) {
	for _, tc := range detectTests {
		f.Add(tc.in)
	}
	for _, tc := range normalizeTests {
		f.Add(tc.in)
	}
	_, lines := testdataSeeds(f)
	for _, l := range lines {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, in string) {
		o, err := intel.Detect(in)
		if err != nil {
			if msg := err.Error(); !utf8.ValidString(msg) || len(msg) > 512 {
				t.Fatalf("Detect(%q): bad error message %q", in, msg)
			}
			return
		}
		if o.Type == intel.JA3 || o.Type == intel.Account {
			t.Fatalf("Detect(%q) = %v", in, o)
		}
		checkCanonical(t, o, "Detect")
	})
}

func FuzzExtract(f *testing.F) {
	for _, tc := range extractTests {
		f.Add(tc.in)
	}
	for _, tc := range refangTests {
		f.Add(tc.in)
	}
	docs, _ := testdataSeeds(f)
	for _, d := range docs {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if r := intel.Refang(in); intel.Refang(r) != r {
			t.Fatalf("Refang(%q) = %q, not a fixed point", in, r)
		}
		seen := map[intel.Observable]bool{}
		for _, o := range intel.Extract(in) {
			if seen[o] {
				t.Fatalf("Extract(%q): %v twice", in, o)
			}
			seen[o] = true
			if o.Type == intel.JA3 || o.Type == intel.Account {
				t.Fatalf("Extract(%q) gave %v", in, o)
			}
			checkCanonical(t, o, "Extract")
		}
	})
}
