package list_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/intel"
)

// fuzzFormats are the explicit formats a fuzz input is also parsed with, by its format byte.
var fuzzFormats = []list.Format{list.Text, list.CSV, list.JSON, list.NDJSON, list.Freetext}

// FuzzParse parses arbitrary input with auto-detection and with one explicit format and checks that
// it never panics, that the counts add up and that every record holds a valid, canonical observable.
func FuzzParse(f *testing.F) {
	seeds := map[string]list.Format{
		"feodo-ipblocklist.csv":                     list.CSV,
		"tor-exit-nodes.lst":                        list.Text,
		"ipsum.head.txt":                            list.Text,
		"drop_v4.json":                              list.NDJSON,
		"asn_drop.json":                             list.NDJSON,
		"known_exploited_vulnerabilities.head.json": list.JSON,
		"known_exploited_vulnerabilities.head.csv":  list.CSV,
		"epss_scores-current.head.csv":              list.CSV,
	}
	for name, format := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 8<<10 { // the head of each file: enough to seed, small enough to mutate
			b = b[:bytes.LastIndexByte(b[:8<<10], '\n')+1]
		}
		for i, ff := range fuzzFormats {
			if ff == format {
				f.Add(b, uint8(i))
			}
		}
		f.Add(b, uint8(len(fuzzFormats)-1)) // also as free text
	}
	f.Add([]byte(threatFoxCSV), uint8(1))
	f.Add([]byte(urlhausCSV), uint8(1))
	f.Add([]byte("1.2.3.0/24 ; SBL1\r\n0.0.0.0 evil.com\n\xef\xbb\xbfhxxp://a[.]b/c 10\n"), uint8(0))
	f.Add([]byte("ip,c\n1.2.3.4,\"a\nb\"\n\"x"), uint8(1))
	f.Add([]byte(`{"a":{"b":[{"ip":"1.2.3.4","tags":["x"]}]},"c":[1,"2",null,[true]]}`), uint8(2))
	f.Add([]byte("{\"ip\":\"1.2.3.4\"}\n{\"type\":\"metadata\"}\n[1]\n"), uint8(3))

	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		format := fuzzFormats[int(which)%len(fuzzFormats)]
		for _, opts := range []list.Options{{}, {Format: format, MaxLine: 512}} {
			var recs, rejects int
			st, err := list.Parse(context.Background(), bytes.NewReader(data), opts,
				func(r list.Record) error {
					recs++
					checkRecord(t, r)
					return nil
				},
				func(r list.Reject) {
					rejects++
					if r.Line < 0 || r.Err == nil || len(r.Input) > 200 || !utf8.ValidString(r.Input) {
						t.Fatalf("bad reject %+v", r)
					}
				})
			if err != nil {
				// Only the UTF-16 byte-order mark fails a whole input read from memory.
				if !bytes.HasPrefix(data, []byte{0xff, 0xfe}) && !bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
					t.Fatalf("Parse(%s): %v", opts.Format, err)
				}
				continue
			}
			if st.Records != recs || st.Rejected != rejects {
				t.Fatalf("stats %+v, but %d records and %d rejects seen", st, recs, rejects)
			}
			switch st.Format {
			case list.Text, list.NDJSON:
				if n := st.Records + st.Rejected + st.Skipped; n != st.Lines {
					t.Fatalf("%s: records+rejected+skipped = %d, lines = %d", st.Format, n, st.Lines)
				}
			case list.CSV:
				if n := st.Records + st.Rejected + st.Skipped; n > st.Lines {
					t.Fatalf("csv: records+rejected+skipped = %d > lines = %d", n, st.Lines)
				}
			case list.Freetext:
				if st.Rejected != 0 || st.Skipped > st.Lines {
					t.Fatalf("freetext: %+v", st)
				}
			}
			if st.Lines > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("%d lines in %d newlines", st.Lines, bytes.Count(data, []byte{'\n'}))
			}
		}
	})
}

// checkRecord fails t unless r holds a valid observable in canonical form.
func checkRecord(t *testing.T, r list.Record) {
	t.Helper()
	o := r.Observable
	if !o.Type.Valid() || o.Value == "" || !utf8.ValidString(o.Value) || r.Line < 1 {
		t.Fatalf("bad record %+v", r)
	}
	if c, err := intel.Normalize(o.Type, o.Value); err != nil || c != o {
		t.Fatalf("record %s is not canonical: Normalize gives %s, %v", o, c, err)
	}
	if r.Confidence < 0 || r.Confidence > 100 || len(r.Tags) > 32 {
		t.Fatalf("bad record %+v", r)
	}
	for _, tag := range r.Tags {
		if tag == "" || len(tag) > 64 || !utf8.ValidString(tag) {
			t.Fatalf("bad tag %q", tag)
		}
	}
}
