package ingest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

func TestReader(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	im := &ingest.Importer{Store: st, Warninglists: lists, Now: func() time.Time { return now }}
	csv := "first_seen_utc,dst_ip,malware\n2024-02-08 19:20:49,85.239.243.155,Pikabot\n2024-02-08 19:20:49,104.16.1.1,x\nbad,999.1.1.1,y\n"

	// A new source takes the options' defaults; the list's dates are raised to now unless KeepDates.
	red := intel.TLPRed
	s, err := im.Reader(ctx, strings.NewReader(csv), ingest.Options{Source: "s", Reliability: 'B', TLP: &red, Parse: list.Options{Format: list.CSV}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Read != 3 || s.New != 2 || s.Rejected != 1 || s.Flagged != 1 || len(s.Rejects) != 1 || s.Rejects[0].Line != 4 {
		t.Errorf("summary %+v", s)
	}
	src, err := st.Source(ctx, "s")
	if err != nil || src.Reliability != 'B' || src.Confidence != ingest.DefaultConfidence || src.TLP != intel.TLPRed {
		t.Errorf("source %+v %v", src, err)
	}
	ins, err := st.Indicators(ctx, []intel.Observable{{Type: intel.IPv4, Value: "85.239.243.155"}, {Type: intel.IPv4, Value: "104.16.1.1"}})
	if err != nil || len(ins) != 2 {
		t.Fatalf("indicators %+v %v", ins, err)
	}
	r := ins[0].Reports[0]
	if !r.LastSeen.Equal(now) || r.FirstSeen.Year() != 2024 || r.Confidence != 50 || r.TLP != intel.TLPRed || r.Malware != "Pikabot" {
		t.Errorf("report %+v", r)
	}
	if len(ins[1].Warninglists) == 0 {
		t.Errorf("Cloudflare address not flagged: %+v", ins[1])
	}

	// The same source again: its defaults hold unless the options say otherwise, and KeepDates keeps
	// the file's dates.
	s, err = im.Reader(ctx, strings.NewReader(csv), ingest.Options{Source: "s", KeepDates: true, Confidence: 70, Parse: list.Options{Format: list.CSV}})
	if err != nil || s.Updated != 2 || s.New != 0 {
		t.Fatalf("second import %+v %v", s, err)
	}
	ins, _ = st.Indicators(ctx, []intel.Observable{{Type: intel.IPv4, Value: "85.239.243.155"}})
	if r := ins[0].Reports[0]; r.TLP != intel.TLPRed || r.Confidence != 70 || !r.LastSeen.Equal(now) {
		t.Errorf("report after second import %+v (last seen stays the later one)", r)
	}
	if _, err := im.Reader(ctx, strings.NewReader("1.2.3.4\n"), ingest.Options{}); err == nil {
		t.Error("no error without a source")
	}
	if _, err := im.Reader(ctx, strings.NewReader("1.2.3.4\n"), ingest.Options{Source: "x", Confidence: 101}); err == nil {
		t.Error("no error for confidence 101")
	}
}

// TestReaderAtomicCheck checks that a check failing after several batches were written leaves
// nothing of an atomic import, and that a passing check commits it all.
func TestReaderAtomicCheck(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	im := &ingest.Importer{Store: st}
	text := "198.51.100.1\n198.51.100.2\n198.51.100.3\n198.51.100.4\n198.51.100.5\nnot-a-value!\n"
	var got ingest.Parsed
	o := ingest.Options{Source: "s", BatchSize: 2, Atomic: true, Parse: list.Options{Format: list.Text},
		Check: func(p ingest.Parsed) error {
			got = p
			return errors.New("too many rejects")
		}}
	if _, err := im.Reader(ctx, strings.NewReader(text), o); err == nil || err.Error() != "too many rejects" {
		t.Fatalf("Reader = %v, want the check's error", err)
	}
	if got.Records != 5 || got.Rejected != 1 || got.Syntax != nil {
		t.Errorf("check saw %+v, want 5 records and 1 reject", got)
	}
	stats, err := st.Stats(ctx)
	if err != nil || stats.Indicators != 0 || stats.Reports != 0 {
		t.Fatalf("after a rejected atomic import: %+v %v, want nothing stored", stats, err)
	}
	o.Check = func(ingest.Parsed) error { return nil }
	s, err := im.Reader(ctx, strings.NewReader(text), o)
	if err != nil || s.New != 5 {
		t.Fatalf("Reader = %+v %v, want 5 new", s, err)
	}
}
