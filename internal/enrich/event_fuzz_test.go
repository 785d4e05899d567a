package enrich_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
)

// FuzzDecodeECS: Decode never panics, fails exactly on what encoding/json rejects (or on a line
// that is not an object), and extracts only canonical observables.
func FuzzDecodeECS(f *testing.F) {
	for _, name := range corpusFiles(f) {
		if fm, _ := corpusFormat(name); fm != enrich.FormatCEF {
			for _, l := range corpusLines(f, name) {
				f.Add(l)
			}
		}
	}
	for _, s := range []string{`{"a":"\ud800"}`, `{"source.ip":"::ffff:1.2.3.4"}`, `{"dns":{"answers":[{"data":"a.example.com"},[]]}}`, `{"@timestamp":1e400}`} {
		f.Add([]byte(s))
	}
	d, err := enrich.NewDecoder(enrich.FormatECS, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev enrich.Event
		err := d.Decode(line, &ev)
		trimmed := bytes.TrimSpace(line)
		valid := json.Valid(line) && len(trimmed) > 0 && trimmed[0] == '{' && depthOK(line)
		if (err == nil) != valid {
			t.Fatalf("Decode error %v, but json.Valid=%v for %q", err, json.Valid(line), line)
		}
		if err != nil {
			return
		}
		checkFields(t, ev.Fields)
	})
}

// checkFields checks that every extracted observable is canonical.
func checkFields(t *testing.T, fields []enrich.Field) {
	t.Helper()
	for _, fl := range fields {
		o, err := intel.Normalize(fl.Observable.Type, fl.Observable.Value)
		if err != nil || o != fl.Observable {
			t.Fatalf("field %s: observable %v is not canonical (%v, %v)", fl.Path, fl.Observable, o, err)
		}
		if fl.Path == "" || fl.ECS == "" {
			t.Fatalf("field without path: %+v", fl)
		}
	}
}
