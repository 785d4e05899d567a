package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

func putTestObject(coll string, i, version int) store.STIXObject {
	id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
	m := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(version) * time.Hour)
	return store.STIXObject{Collection: coll, ID: id, Type: "indicator", SpecVersion: "2.1", Modified: m,
		Confidence: -1, Raw: fmt.Appendf(nil, `{"id":%q,"v":%d}`, id, version)}
}

// TestPutSTIXBulk checks the multi-row writer against the contract on batches that span several
// statements and hold versions stored before, versions repeated within the call, or both: only
// the new versions are counted, and they get consecutive DateAdded in their order (the clock is
// fixed in the past, so DateAdded is last+1 each time).
func TestPutSTIXBulk(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return epoch })

	var want []store.STIXObject // every version stored, in DateAdded order
	put := func(objs []store.STIXObject, fresh []store.STIXObject) {
		t.Helper()
		n, err := db.PutSTIXObjects(ctx, objs)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(fresh) {
			t.Fatalf("added %d, want %d", n, len(fresh))
		}
		want = append(want, fresh...)
		got, err := db.STIXObjects(ctx, store.STIXQuery{Collection: "c", Versions: []string{"all"}, MaxTLP: intel.TLPRed})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Objects) != len(want) {
			t.Fatalf("%d versions stored, want %d", len(got.Objects), len(want))
		}
		for i, o := range got.Objects {
			w := want[i]
			if o.ID != w.ID || !o.Modified.Equal(w.Modified) || string(o.Raw) != string(w.Raw) {
				t.Fatalf("version %d: got %s@%v %s, want %s@%v %s", i, o.ID, o.Modified, o.Raw, w.ID, w.Modified, w.Raw)
			}
			if da := epoch.Add(time.Duration(i) * time.Microsecond); !o.DateAdded.Equal(da) {
				t.Fatalf("version %d: DateAdded %v, want %v", i, o.DateAdded, da)
			}
		}
	}

	// A first import: several full statements and a partial one.
	var objs []store.STIXObject
	const first = 2*stixRowsPerPut + 37
	for i := range first {
		objs = append(objs, putTestObject("c", i, 1))
	}
	put(objs, objs)

	// New versions mixed with held ones (placed where the probe does not look) and with copies
	// within the call; a copy changed in its JSON must not replace the first.
	objs, fresh := nil, []store.STIXObject(nil)
	for i := range 3*stixRowsPerFind + 11 {
		o := putTestObject("c", i, 2)
		switch {
		case i%97 == 5:
			objs = append(objs, putTestObject("c", i%first, 1)) // held
		case i%89 == 3:
			c := o
			c.Raw = []byte(`{"copy":true}`)
			objs = append(objs, o, c)
			fresh = append(fresh, o)
		default:
			objs = append(objs, o)
			fresh = append(fresh, o)
		}
	}
	put(objs, fresh)

	// Only held versions: nothing added, the clock does not move.
	put(objs[:50], nil)
	// Another collection does not share keys (but shares the clock, so it is not in want).
	if n, err := db.PutSTIXObjects(ctx, []store.STIXObject{putTestObject("d", 0, 1)}); n != 1 || err != nil {
		t.Fatalf("other collection: %d, %v", n, err)
	}
	got, err := db.STIXObjects(ctx, store.STIXQuery{Collection: "d", Versions: []string{"all"}, MaxTLP: intel.TLPRed})
	if err != nil || len(got.Objects) != 1 || !got.Objects[0].DateAdded.Equal(epoch.Add(time.Duration(len(want))*time.Microsecond)) {
		t.Fatalf("other collection: %+v, %v", got.Objects, err)
	}
}

// TestPutSTIXOptimisticMiss checks that the optimistic insert notices a held version the probe
// did not sample, so that PutSTIXObjects retries the careful way.
func TestPutSTIXOptimisticMiss(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	held := putTestObject("c", 1, 1) // index 1: between the probe's samples
	if _, err := db.PutSTIXObjects(ctx, []store.STIXObject{held}); err != nil {
		t.Fatal(err)
	}
	var objs []store.STIXObject
	for i := range 100 {
		objs = append(objs, putTestObject("c", i, 1))
	}
	vs := distinctSTIXVersions(objs)
	for _, optimistic := range []bool{true, false} {
		var n int
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = putSTIXVersions(ctx, tx, vs, 0, optimistic)
			if err == nil {
				err = errRollback
			}
			return err
		})
		switch {
		case optimistic && !errors.Is(err, errSTIXHeld):
			t.Errorf("optimistic: %d, %v; want errSTIXHeld", n, err)
		case !optimistic && (!errors.Is(err, errRollback) || n != 99):
			t.Errorf("careful: %d, %v; want 99 added", n, err)
		}
	}
	if n, err := db.PutSTIXObjects(ctx, objs); n != 99 || err != nil {
		t.Errorf("PutSTIXObjects = %d, %v; want 99", n, err)
	}
}

var errRollback = errors.New("roll back")
