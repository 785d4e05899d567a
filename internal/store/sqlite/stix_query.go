package sqlite

import (
	"fmt"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/store"
)

// stixColumns are the columns [scanSTIXObjects] reads, on alias o.
const stixColumns = `o.collection, o.id, o.modified, o.type, o.spec_version, o.created, o.revoked,
	o.tlp, o.confidence, o.date_added, o.raw`

// stixQuery is the SQL of one [store.STIXQuery] without its paging: a WHERE clause over the
// version o, with the version filters written as NOT EXISTS subqueries over the other versions p
// of the same object, which SQLite answers from the primary key (collection, id, modified).
type stixQuery struct {
	where string
	args  []any
	added string // the date_added column as the outer query uses it (see newSTIXQuery)
}

// newSTIXQuery builds the filter of q. Version timestamps must be RFC 3339.
func newSTIXQuery(q store.STIXQuery) (stixQuery, error) {
	var b sqlBuilder
	// Filters on o that any other version p must pass too, to count for first/last.
	peer := func(a string) {
		b.add(a+".tlp <= ?", int64(q.MaxTLP))
		if q.MinConfidence > 0 {
			b.add(a+".confidence >= ?", q.MinConfidence)
		}
	}
	b.add("o.collection = ?", q.Collection)
	peer("o")
	b.in("o.type", q.Types)
	b.in("o.id", q.IDs)
	added := "o.date_added"
	if len(q.IDs) > 0 {
		// The unary + keeps SQLite from walking the date_added index of the whole collection: a
		// few ids are cheaper to look up through the primary key and sort.
		added = "+o.date_added"
	}
	if !q.AddedAfter.IsZero() {
		b.add(added+" > ?", q.AddedAfter.UnixMicro())
	}
	if len(q.SpecVersions) > 0 {
		b.in("o.spec_version", q.SpecVersions)
	} else {
		// The TAXII default: only the latest spec version of the object that the caller may see.
		b.open("NOT EXISTS (SELECT 1 FROM stix_objects s WHERE s.collection = o.collection AND s.id = o.id AND s.spec_version > o.spec_version")
		peer("s")
		b.close(")")
	}
	if err := versionFilter(&b, q, peer); err != nil {
		return stixQuery{}, err
	}
	return stixQuery{where: b.String(), args: b.args, added: added}, nil
}

// versionFilter adds the match[version] condition: the union of the given timestamps, the first
// and the last version among those passing the other filters; nothing for "all".
func versionFilter(b *sqlBuilder, q store.STIXQuery, peer func(alias string)) error {
	versions := q.Versions
	if len(versions) == 0 {
		versions = []string{"last"}
	}
	var stamps []any
	first, last := false, false
	for _, v := range versions {
		switch v = strings.TrimSpace(v); v {
		case "all":
			return nil
		case "first":
			first = true
		case "last":
			last = true
		default:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return fmt.Errorf("invalid STIX version %q: want first, last, all or an RFC 3339 timestamp", v)
			}
			stamps = append(stamps, toNS(t.UTC()))
		}
	}
	b.open("(")
	sep := ""
	if len(stamps) > 0 {
		b.raw("o.modified IN ("+placeholders(len(stamps))+")", stamps...)
		sep = " OR "
	}
	for _, e := range []struct {
		on bool
		op string
	}{{first, "<"}, {last, ">"}} {
		if !e.on {
			continue
		}
		b.raw(sep + "NOT EXISTS (SELECT 1 FROM stix_objects p WHERE p.collection = o.collection AND p.id = o.id AND p.modified " + e.op + " o.modified")
		sep = " OR "
		peer("p")
		if !q.AddedAfter.IsZero() {
			b.add("p.date_added > ?", q.AddedAfter.UnixMicro())
		}
		if len(q.SpecVersions) > 0 {
			b.in("p.spec_version", q.SpecVersions)
		} else {
			// o has the latest visible spec version of the object, so p passes the default iff
			// it has the same.
			b.add("p.spec_version = o.spec_version")
		}
		b.raw(")")
	}
	b.close(")")
	return nil
}

// page returns the query of one page: the versions after the cursor (when set) in date_added
// order, one more than limit to tell whether more follow.
func (s stixQuery) page(after int64, hasCursor bool, limit int) (string, []any) {
	var sb strings.Builder
	args := append([]any(nil), s.args...)
	sb.WriteString("SELECT " + stixColumns + " FROM stix_objects o WHERE " + s.where)
	if hasCursor {
		sb.WriteString(" AND " + s.added + " > ?")
		args = append(args, after)
	}
	sb.WriteString(" ORDER BY " + s.added)
	if limit > 0 {
		sb.WriteString(" LIMIT ?")
		args = append(args, limit+1)
	}
	return sb.String(), args
}

// rowids returns the query of the rowids of every matching version.
func (s stixQuery) rowids() (string, []any) {
	return "SELECT o.rowid FROM stix_objects o WHERE " + s.where, s.args
}

// sqlBuilder writes a conjunction of conditions with their arguments.
type sqlBuilder struct {
	strings.Builder
	args  []any
	fresh bool // no condition yet at the current nesting level
}

// add appends "AND cond" (or cond when it is the first at its level).
func (b *sqlBuilder) add(cond string, args ...any) {
	if b.Len() > 0 && !b.fresh {
		b.WriteString(" AND ")
	}
	b.raw(cond, args...)
}

// open starts a nested group with text s, as a condition of the current level; the group's own
// conditions are joined with AND after s.
func (b *sqlBuilder) open(s string) {
	b.add(s)
	b.fresh = strings.HasSuffix(s, "(")
}

// close ends a group.
func (b *sqlBuilder) close(s string) {
	b.WriteString(s)
	b.fresh = false
}

// raw appends text without a conjunction.
func (b *sqlBuilder) raw(s string, args ...any) {
	b.WriteString(s)
	b.args = append(b.args, args...)
	b.fresh = false
}

// in adds "col IN (...)" for a non-empty list.
func (b *sqlBuilder) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	b.add(col+" IN ("+placeholders(len(vals))+")", args...)
}
