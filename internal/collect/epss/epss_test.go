package epss_test

import (
	"os"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/collect/epss"
)

func TestParseGenuine(t *testing.T) {
	f, err := os.Open("testdata/epss_scores-current.head.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var scores []epss.Score
	rejects := 0
	meta, err := epss.Parse(f, func(s epss.Score) error { scores = append(scores, s); return nil }, func(int, error) { rejects++ })
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 39 || rejects != 0 || meta.ModelVersion != "v2026.06.15" || meta.ScoreDate != "2026-09-29T12:00:22Z" {
		t.Errorf("%d scores, %d rejects, meta %+v", len(scores), rejects, meta)
	}
	if s := scores[0]; s.CVE != "CVE-1999-0001" || s.EPSS != 0.03351 || s.Percentile != 0.88255 {
		t.Errorf("first score %+v", s)
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		name, in        string
		scores, rejects int
		wantErr         string
	}{
		{"empty", "", 0, 0, "empty"},
		{"html", "<html><body>error</body></html>\n", 0, 0, "header"},
		{"bad rows", "cve,epss,percentile\nCVE-1999-0001,0.1,0.2\nnot-a-cve,0.1,0.2\nCVE-1999-0002,2,0.5\nCVE-1999-0003,x,0.1\nCVE-1999-0004\n\"unclosed,0.1\n", 1, 5, ""},
		{"no meta line", "cve,epss,percentile\nCVE-2021-44228,0.94,0.99\n", 1, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, rej := 0, 0
			_, err := epss.Parse(strings.NewReader(tc.in), func(epss.Score) error { n++; return nil }, func(int, error) { rej++ })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || n != tc.scores || rej != tc.rejects {
				t.Errorf("%d scores, %d rejects, err %v; want %d, %d", n, rej, err, tc.scores, tc.rejects)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/epss_scores-current.head.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("cve,epss,percentile\nCVE-1999-0001,0.1,0.2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		epss.Parse(strings.NewReader(string(b)), func(s epss.Score) error {
			if s.EPSS < 0 || s.EPSS > 1 || s.Percentile < 0 || s.Percentile > 1 || !strings.HasPrefix(s.CVE, "CVE-") {
				t.Fatalf("bad score %+v", s)
			}
			return nil
		}, func(int, error) {})
	})
}
