package stix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/stix/pattern"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// now is the test clock of the importer and of lookups.
var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// env is a fresh SQLite store with a source "test" and an importer over it.
type env struct {
	st  *sqlite.DB
	im  *stix.Importer
	svc *lookup.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.PutSource(ctx, intel.Source{Name: "test", Kind: "import", Reliability: 'B', Confidence: 70, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	svc := lookup.New(st, lists, risk.DefaultModel())
	svc.SetClock(func() time.Time { return now })
	return &env{st: st, im: &stix.Importer{Store: st, Warninglists: lists, Now: func() time.Time { return now }}, svc: svc}
}

func (e *env) importFile(t testing.TB, path string, o stix.Options) stix.Counts {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return e.importBytes(t, b, o)
}

func (e *env) importBytes(t testing.TB, b []byte, o stix.Options) stix.Counts {
	t.Helper()
	if o.Source == "" {
		o.Source = "test"
	}
	c, err := e.im.Bundle(context.Background(), bytes.NewReader(b), o)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return c
}

// attackData is where the ATT&CK subsets are kept, with the attack collector's tests.
const attackData = "../collect/attack/testdata"

// fixtures lists the STIX inputs under testdata (the schemas aside) and the ATT&CK subsets.
func fixtures(t testing.TB) []string {
	t.Helper()
	var out []string
	walk := func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "schemas" || d.Name() == "fuzz" || d.Name() == "golden") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json") {
			out = append(out, p)
		}
		return nil
	}
	for _, dir := range []string{"testdata", attackData} {
		if err := filepath.WalkDir(dir, walk); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 40 {
		t.Fatalf("only %d fixtures under testdata", len(out))
	}
	return out
}

// rawObjects returns the top-level objects of a bundle, or the file's one object.
func rawObjects(t testing.TB, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	objs, ok := top["objects"].([]any)
	if !ok {
		return []map[string]any{top}
	}
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = o.(map[string]any)
	}
	return out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func TestImportFixtures(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(strings.TrimPrefix(strings.TrimPrefix(path, attackData+"/"), "testdata/"), func(t *testing.T) {
			ctx := t.Context()
			e := newEnv(t)
			objs := rawObjects(t, path)
			want := map[string]int{}
			versions := map[string]map[string]bool{} // type -> distinct id|modified
			for _, o := range objs {
				typ := str(o, "type")
				want[typ]++
				if versions[typ] == nil {
					versions[typ] = map[string]bool{}
				}
				versions[typ][str(o, "id")+"|"+str(o, "modified")] = true
			}
			c := e.importFile(t, path, stix.Options{TLP: intel.TLPGreen})
			if c.Rejected != 0 || len(c.Errors) != 0 {
				t.Fatalf("rejected %d: %v", c.Rejected, c.Errors)
			}
			if c.Objects != len(objs) {
				t.Errorf("Objects = %d, the file holds %d", c.Objects, len(objs))
			}
			if !mapsEqual(c.ByType, want) {
				t.Errorf("ByType = %v, the file holds %v", c.ByType, want)
			}
			if c.Objects != c.Stored+c.Unchanged+c.Rejected {
				t.Errorf("Objects %d != Stored %d + Unchanged %d + Rejected %d", c.Objects, c.Stored, c.Unchanged, c.Rejected)
			}
			held := storedByType(t, e.st)
			for typ, vs := range versions {
				if held[typ] != len(vs) {
					t.Errorf("the store holds %d versions of %s, the file %d", held[typ], typ, len(vs))
				}
			}
			checkIndicators(t, ctx, e, objs)
			checkEntities(t, ctx, e, objs)
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// storedByType counts the versions the store holds in the pool, by type.
func storedByType(t testing.TB, st store.Store) map[string]int {
	t.Helper()
	page, err := st.STIXObjects(context.Background(), store.STIXQuery{Collection: store.STIXPool, Versions: []string{"all"}, MaxTLP: intel.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, o := range page.Objects {
		out[o.Type]++
	}
	return out
}

// checkIndicators looks up every observable of every reducible indicator: it must match, with
// the test source, or be listed as expired when the indicator's validity has ended.
func checkIndicators(t *testing.T, ctx context.Context, e *env, objs []map[string]any) {
	t.Helper()
	for _, o := range objs {
		if str(o, "type") != "indicator" || (str(o, "pattern_type") != "" && str(o, "pattern_type") != "stix") {
			continue
		}
		p, err := pattern.Parse(str(o, "pattern"))
		if err != nil {
			continue
		}
		red := p.Reduce()
		if !red.Reducible {
			continue
		}
		expired := false
		if vu := str(o, "valid_until"); vu != "" {
			tu, _ := time.Parse(time.RFC3339Nano, vu)
			expired = !now.Before(tu)
		}
		for _, a := range red.Atoms {
			res, err := e.svc.Lookup(ctx, []string{a.Observable.Value}, intel.TLPRed)
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			got := r.Matches
			if expired {
				got = r.Expired
			}
			if !slices.ContainsFunc(got, func(m lookup.Match) bool {
				return m.Match == lookup.Exact && slices.ContainsFunc(m.Indicator.Sources, func(s lookup.Source) bool { return s.Name == "test" })
			}) {
				t.Errorf("lookup %s (%s): no exact match from the import (expired %v): %+v", a.Observable, str(o, "id"), expired, r)
			}
		}
	}
}

// checkEntities checks that every SDO became an entity of its type.
func checkEntities(t *testing.T, ctx context.Context, e *env, objs []map[string]any) {
	t.Helper()
	for _, o := range objs {
		typ := str(o, "type")
		switch typ {
		case "indicator", "relationship", "sighting", "observed-data", "marking-definition":
			continue
		}
		if str(o, "created") == "" {
			continue
		}
		en, err := e.st.Entity(ctx, str(o, "id"))
		if err != nil {
			t.Errorf("entity %s: %v", str(o, "id"), err)
			continue
		}
		if string(en.Type) != typ {
			t.Errorf("entity %s has type %s", en.ID, en.Type)
		}
		if n := str(o, "name"); n != "" && en.Name != n {
			t.Errorf("entity %s has name %q, want %q", en.ID, en.Name, n)
		}
	}
}
