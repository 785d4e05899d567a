package match_test

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
)

// FuzzParseWarninglist checks that no input makes the parser or the matcher panic, that every
// list the parser returns builds a set, and that the set's hits name the list and its entries.
// The seed corpus is the genuine MISP lists and the broken test files.
func FuzzParseWarninglist(f *testing.F) {
	for _, pattern := range []string{"warninglists/*.json", "testdata/warninglists-mixed/*.json"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"name":"n","version":1,"description":"d","type":"regex","list":["/^a(b|c)+$/xi","#x#A","{a}U"]}`))
	f.Add([]byte(`{"name":"n","version":"2","description":"d","type":["substring"],"list":{"Ab":"c"},"category":"known"}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		wl, err := match.ParseWarninglist(bytes.NewReader(data), "fuzz.json")
		if wl == nil {
			if err == nil {
				t.Fatal("nil list and nil error")
			}
			return
		}
		s, err := match.NewWarninglistSet(wl)
		if err != nil {
			t.Fatalf("a parsed list does not build: %v", err)
		}
		if s.Len() != len(wl.Entries) {
			t.Fatalf("Len() = %d, want %d", s.Len(), len(wl.Entries))
		}
		anyIP := len(wl.MatchingAttributes) == 0
		for _, a := range wl.MatchingAttributes {
			anyIP = anyIP || strings.EqualFold(a, "ip-dst")
		}
		for i, e := range wl.Entries {
			if i == 64 {
				break
			}
			for _, o := range []intel.Observable{
				{Type: intel.Domain, Value: e}, {Type: intel.Domain, Value: "x." + e}, {Type: intel.URL, Value: "http://" + e + "/p"},
				{Type: intel.Email, Value: "a@" + e}, {Type: intel.IPv4, Value: e}, {Type: intel.IPv6, Value: e},
				{Type: intel.CIDR, Value: e}, {Type: intel.MD5, Value: e}, {Type: intel.Account, Value: e},
			} {
				for _, h := range s.Match(o) {
					if h.List != wl.Name {
						t.Fatalf("Match(%v) names list %q, want %q", o, h.List, wl.Name)
					}
					if !slices.Contains(wl.Entries, h.Entry) {
						t.Fatalf("Match(%v) names entry %q, not on the list", o, h.Entry)
					}
				}
			}
			// Every network of a cidr list that applies to IPs holds its own first address.
			if wl.Type == "cidr" && anyIP {
				p, err := netip.ParsePrefix(strings.TrimSpace(e))
				if err != nil {
					a, _ := netip.ParseAddr(strings.TrimSpace(e))
					p = netip.PrefixFrom(a, a.BitLen())
				}
				a := p.Masked().Addr()
				if !a.IsValid() || a.Is4In6() {
					continue
				}
				typ := intel.IPv4
				if a.Is6() {
					typ = intel.IPv6
				}
				if len(s.Match(intel.Observable{Type: typ, Value: a.String()})) != 1 {
					t.Fatalf("%s is not on its own list", a)
				}
			}
		}
	})
}
