package assets_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/omen-tip/omen/internal/assets"
)

// FuzzParse feeds every format the same bytes, seeded with the test files: parsing never panics,
// every record read is accepted or rejected, and every accepted asset is stable under Normalize.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []assets.Format{assets.CSV, assets.YAML, assets.JSON} {
			res, err := assets.Parse(bytes.NewReader(b), format)
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if len(res.Entries) > res.Read {
				t.Fatalf("%s: %d entries from %d records", format, len(res.Entries), res.Read)
			}
			for _, e := range res.Entries {
				again, err := assets.Normalize(recordOf(e.Asset))
				if err != nil || !assets.Same(e.Asset, again) {
					t.Fatalf("%s: asset %+v not stable: %+v, %v", format, e.Asset, again, err)
				}
			}
		}
	})
}

// FuzzParseCSV fuzzes the CSV reader alone, seeded with the CSV test files.
func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{"good.csv", "broken.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := assets.Parse(bytes.NewReader(b), assets.CSV)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Entries {
			if e.Line < 2 {
				t.Fatalf("accepted record on line %d: the header comes first", e.Line)
			}
		}
	})
}
