package respond_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// The organisation of the poisoned-feed test: its public network, its mail domain, a partner the
// analysts allowlisted.
const (
	ownNet     = "194.53.20.0/24"
	ownDomain  = "northwind-traders.com"
	allowedDom = "partner-portal.net"
	// redOnly is reported only at TLP:RED: it must never reach a consumer feed.
	redOnly = "185.215.113.66"
)

// poison are the values a poisoned feed lists next to real malicious ones, with the reason the
// guard must give.
var poison = []struct {
	o      intel.Observable
	reason string
}{
	{intel.Observable{Type: intel.IPv4, Value: "8.8.8.8"}, respond.ReasonWarninglist},
	{intel.Observable{Type: intel.CIDR, Value: "8.8.8.0/24"}, respond.ReasonWarninglist}, // would block 8.8.8.8
	{intel.Observable{Type: intel.IPv4, Value: "104.16.1.1"}, respond.ReasonWarninglist}, // Cloudflare
	{intel.Observable{Type: intel.Domain, Value: "google.com"}, respond.ReasonWarninglist},
	{intel.Observable{Type: intel.CIDR, Value: ownNet}, respond.ReasonOwnAsset},
	{intel.Observable{Type: intel.IPv4, Value: "194.53.20.25"}, respond.ReasonOwnAsset},  // the mail server
	{intel.Observable{Type: intel.CIDR, Value: "194.53.0.0/16"}, respond.ReasonOwnAsset}, // around the own network
	{intel.Observable{Type: intel.Domain, Value: ownDomain}, respond.ReasonOwnAsset},     // the mail domain
	{intel.Observable{Type: intel.Domain, Value: "mail." + ownDomain}, respond.ReasonOwnAsset},
	{intel.Observable{Type: intel.Email, Value: "ceo@" + ownDomain}, respond.ReasonOwnAsset},
	{intel.Observable{Type: intel.URL, Value: "https://mail." + ownDomain + "/owa/"}, respond.ReasonOwnAsset},
	{intel.Observable{Type: intel.Domain, Value: "login." + allowedDom}, respond.ReasonAllowlist},
	{intel.Observable{Type: intel.URL, Value: "http://194.53.20.25/webmail/"}, respond.ReasonOwnAsset},
}

// realEntries reads the genuine malicious entries of the fixtures: Feodo Tracker C2 addresses
// and URLhaus domains.
func realEntries(t testing.TB) (feodo, urlhaus []intel.Report) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "poison", "feodo-ipblocklist.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var body strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "#") {
			body.WriteString(sc.Text() + "\n")
		}
	}
	rows, err := csv.NewReader(strings.NewReader(body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows[1:] { // the header first
		o, err := intel.Normalize(intel.IPv4, row[1])
		if err != nil {
			t.Fatalf("feodo row %d: %v", i+2, err)
		}
		first, err := time.Parse("2006-01-02 15:04:05", row[0])
		if err != nil {
			t.Fatalf("feodo row %d: %v", i+2, err)
		}
		feodo = append(feodo, intel.Report{Observable: o, Confidence: 90, FirstSeen: first, ThreatType: "c2", Malware: row[5]})
	}
	data, err := os.ReadFile(filepath.Join("testdata", "poison", "urlhaus-filter-domains-online.subset.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		o, err := intel.Normalize(intel.Domain, line)
		if err != nil {
			t.Fatalf("urlhaus %q: %v", line, err)
		}
		urlhaus = append(urlhaus, intel.Report{Observable: o, Confidence: 80, ThreatType: "malware-download"})
	}
	if len(feodo) != 28 || len(urlhaus) != 30 {
		t.Fatalf("fixtures: %d feodo, %d urlhaus entries", len(feodo), len(urlhaus))
	}
	return feodo, urlhaus
}

// ingestReports stores reports from one source.
func ingestReports(t testing.TB, st store.Store, lists *match.WarninglistSet, src intel.Source, reports []intel.Report, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if src.Confidence == 0 {
		src.Confidence = 80
	}
	src.Kind, src.Enabled = "import", true
	if _, err := st.PutSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	in, err := st.NewIngester(ctx, store.IngestOptions{Source: src.Name, Classify: lists.Classifier()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		r.Source, r.TLP = src.Name, src.TLP
		if r.LastSeen.IsZero() {
			r.LastSeen = now.Add(-time.Hour)
		}
		if r.FirstSeen.IsZero() {
			r.FirstSeen = r.LastSeen
		}
		if r.Confidence == 0 {
			r.Confidence = src.Confidence
		}
		if err := in.Add(ctx, r); err != nil {
			t.Fatalf("ingest %s: %v", r.Observable, err)
		}
	}
	if _, err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// poisonedStore is a store with the poisoned feed, the genuine feeds, TLP:RED intelligence, the
// organisation's assets and an allowlist, and the guard built from them.
func poisonedStore(t testing.TB, now time.Time) (store.Store, *respond.Guard, []intel.Report) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	feodo, urlhaus := realEntries(t)
	ingestReports(t, st, lists, intel.Source{Name: "feodo", Reliability: intel.ReliabilityA, TLP: intel.TLPClear}, feodo, now)
	ingestReports(t, st, lists, intel.Source{Name: "urlhaus", Reliability: intel.ReliabilityB, TLP: intel.TLPClear}, urlhaus, now)
	var bad []intel.Report
	for _, p := range poison {
		bad = append(bad, intel.Report{Observable: p.o, ThreatType: "c2", Tags: []string{"poisoned"}})
	}
	ingestReports(t, st, lists, intel.Source{Name: "poisoned", Reliability: intel.ReliabilityC, TLP: intel.TLPGreen}, bad, now)
	ingestReports(t, st, lists, intel.Source{Name: "secret", Reliability: intel.ReliabilityA, TLP: intel.TLPRed},
		[]intel.Report{{Observable: intel.Observable{Type: intel.IPv4, Value: redOnly}, ThreatType: "c2"}}, now)
	for _, a := range []intel.Asset{
		{Kind: "network", Name: "HQ egress", Values: []string{ownNet}},
		{Kind: "domain", Name: "Corporate mail", Values: []string{ownDomain}},
	} {
		if _, err := st.PutAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.PutAllow(ctx, intel.AllowEntry{Observable: intel.Observable{Type: intel.Domain, Value: allowedDom},
		Reason: "partner SSO", Actor: "cli"}); err != nil {
		t.Fatal(err)
	}
	assets, err := st.ListAssets(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	allow, err := st.Allowlist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st, respond.NewGuard(assets, lists, allow), append(feodo, urlhaus...)
}

// testFormats stand in for the plain formats beside the registered ones, without registering
// (other tests may walk the registry): one value a line, aggregated, and base64 lines.
var testFormats = []respond.Format{
	{Name: "test-lines", Description: "one value a line", Aggregate: true, Write: func(w io.Writer, es []respond.Entry, _ respond.WriteOptions) error {
		for _, e := range es {
			if _, err := io.WriteString(w, e.Observable.Value+"\n"); err != nil {
				return err
			}
		}
		return nil
	}},
	{Name: "test-base64-domains", Types: []intel.Type{intel.Domain}, Write: func(w io.Writer, es []respond.Entry, _ respond.WriteOptions) error {
		for _, e := range es {
			if _, err := io.WriteString(w, base64.StdEncoding.EncodeToString([]byte(e.Observable.Value))+"\n"); err != nil {
				return err
			}
		}
		return nil
	}},
}

// forms returns the ways a format may write a value: as it is, base64-encoded (Suricata string
// datasets, with or without the dotprefix dot), as an RPZ IP trigger, without a URL scheme.
func forms(o intel.Observable) []string {
	v := o.Value
	out := []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte("." + v))}
	if p, err := netip.ParsePrefix(v); err == nil {
		out = append(out, rpzIP(p))
	} else if a, err := netip.ParseAddr(v); err == nil {
		out = append(out, rpzIP(netip.PrefixFrom(a, a.BitLen())))
	}
	if _, rest, ok := strings.Cut(v, "://"); ok {
		out = append(out, rest)
	}
	return out
}

// rpzIP is the RPZ owner label of an IPv4 prefix ("32.7.100.51.198.rpz-ip").
func rpzIP(p netip.Prefix) string {
	if !p.Addr().Is4() {
		return "\x00" // IPv6 triggers do not occur in the fixtures
	}
	b := p.Addr().As4()
	return strings.Join([]string{strconv.Itoa(p.Bits()), strconv.Itoa(int(b[3])), strconv.Itoa(int(b[2])), strconv.Itoa(int(b[1])), strconv.Itoa(int(b[0]))}, ".") + ".rpz-ip"
}

// written runs format f over entries and returns every byte written (all files of a directory
// format).
func written(t *testing.T, f respond.Format, entries []respond.Entry, now time.Time) string {
	t.Helper()
	o := respond.WriteOptions{Name: "omen", Generated: now}
	if f.Write != nil {
		var b strings.Builder
		if err := respond.Write(f, &b, entries, o); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		return b.String()
	}
	dir := t.TempDir()
	if err := respond.WriteFile(f, dir, entries, o); err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		b.Write(data)
		b.WriteByte('\n')
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A poisoned feed lists 8.8.8.8, a Cloudflare address, google.com, the organisation's own network
// and mail domain next to genuine malicious entries. Through every format: none of the poison
// reaches the output, each removal is explained, every genuine entry the format can carry is
// there, and TLP:RED intelligence never appears in an amber feed.
func TestPoisonedFeed(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st, g, real := poisonedStore(t, now)
	formats := append(respond.Formats(), testFormats...)
	// Without the guard, the poison is there: the checks below can see it.
	entries, _, err := respond.Collect(context.Background(), st, nil, risk.DefaultModel(), respond.Selection{TLP: intel.TLPAmber}, testFormats[0], now)
	if err != nil {
		t.Fatal(err)
	}
	if out := written(t, testFormats[0], entries, now); !strings.Contains(out, "8.8.8.0/24\n") || !strings.Contains(out, "mail."+ownDomain) {
		t.Fatalf("unguarded output lacks the poison:\n%s", out)
	}
	sel := respond.Selection{TLP: intel.TLPAmber}
	for _, f := range formats {
		t.Run(f.Name, func(t *testing.T) {
			entries, rep, err := respond.Collect(context.Background(), st, g, risk.DefaultModel(), sel, f, now)
			if err != nil {
				t.Fatal(err)
			}
			out := written(t, f, entries, now)
			if f.Aggregate {
				// 158.220.95.214 and .215 are both Feodo C2s: one /31.
				if _, ok := covering(entries, intel.Observable{Type: intel.CIDR, Value: "158.220.95.214/31"}); !ok {
					t.Errorf("adjacent C2 addresses not aggregated")
				}
			}
			removed := map[intel.Observable]respond.Removal{}
			for _, r := range rep.Removals {
				removed[r.Observable] = r
			}
			for _, p := range poison {
				for _, form := range forms(p.o) {
					if strings.Contains(out, form) {
						t.Errorf("poison %s reached the output as %q", p.o, form)
					}
				}
				if !f.Accepts(p.o.Type) {
					continue
				}
				r, ok := removed[p.o]
				if !ok {
					t.Errorf("poison %s: no removal listed", p.o)
					continue
				}
				if r.Reason != p.reason || r.Detail == "" {
					t.Errorf("poison %s removed as %q (%q), want %s with a detail", p.o, r.Reason, r.Detail, p.reason)
				}
			}
			for _, form := range forms(intel.Observable{Type: intel.IPv4, Value: redOnly}) {
				if strings.Contains(out, form) {
					t.Errorf("TLP:RED %s reached an amber feed as %q", redOnly, form)
				}
			}
			if rep.Removed[respond.ReasonTLP] != 1 && f.Accepts(intel.IPv4) {
				t.Errorf("removed for TLP: %d, want 1", rep.Removed[respond.ReasonTLP])
			}
			for _, r := range real {
				if !f.Accepts(r.Observable.Type) {
					continue
				}
				e, ok := covering(entries, r.Observable)
				if !ok {
					t.Errorf("real entry %s missing from the entries", r.Observable)
					continue
				}
				if !containsAny(out, forms(r.Observable)) && !containsAny(out, forms(e.Observable)) {
					t.Errorf("real entry %s (as %s) missing from the output", r.Observable, e.Observable)
				}
			}
		})
	}
}

// covering finds the entry that is o or, for an address, the network that covers it.
func covering(es []respond.Entry, o intel.Observable) (respond.Entry, bool) {
	a, err := netip.ParseAddr(o.Value)
	for _, e := range es {
		if e.Observable == o {
			return e, true
		}
		if err == nil && e.Observable.Type == intel.CIDR {
			if p, perr := netip.ParsePrefix(e.Observable.Value); perr == nil && p.Contains(a) {
				return e, true
			}
		}
	}
	return respond.Entry{}, false
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
