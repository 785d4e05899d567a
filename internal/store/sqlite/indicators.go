package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// scanPage is the number of indicators ScanIndicators reads per query.
const scanPage = 2000

// lookupChunk is the number of values per "IN (...)" lookup, for values JSON cannot carry.
const lookupChunk = 500

// Reading indicators: the columns of the indicator (the type only where the query does not fix
// it), then those of one report, zeros and empty strings for an indicator without reports. Rows of
// one indicator come out together. Source names come from [DB.sourceNames], not from a join.
const (
	indicatorColumns = `i.id, i.value, i.first_seen, i.last_seen, i.warninglists`
	reportColumns    = `coalesce(r.source_id, 0), coalesce(r.confidence, 0), coalesce(r.tlp, 0),
	coalesce(r.first_seen, 0), coalesce(r.last_seen, 0), coalesce(r.valid_until, 0), coalesce(r.tags, ''),
	coalesce(r.threat_type, ''), coalesce(r.malware, '')`
	reportJoin = `LEFT JOIN reports AS r ON r.indicator_id = i.id`
)

// errUnknownSource is returned by readIndicators for a report of a source missing from the name
// cache; the caller reloads the cache and reads again.
var errUnknownSource = errors.New("report of a source not in the cache")

// sourceNames returns the names of the sources by ID, loading them with q when the cache is empty
// or reload is set. Sources are never renamed or deleted, so a cached name stays right.
func (db *DB) sourceNames(ctx context.Context, q queryer, reload bool) (map[int64]string, error) {
	if m := db.names.Load(); m != nil && !reload {
		return *m, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT id, name FROM sources")
	if err != nil {
		return nil, fmt.Errorf("reading source names: %w", err)
	}
	defer rows.Close()
	m := make(map[int64]string)
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("reading source names: %w", err)
		}
		m[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading source names: %w", err)
	}
	db.names.Store(&m)
	return m, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readWithNames runs query on q and reads it with readIndicators, reloading the source names and
// running it again when a report's source is not in the cache.
func (db *DB) readWithNames(ctx context.Context, q queryer, typ intel.Type, emit func(*intel.Indicator) error,
	query string, args ...any) error {
	for reload := false; ; reload = true {
		names, err := db.sourceNames(ctx, q, reload)
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		err = readIndicators(rows, typ, names, emit)
		if !errors.Is(err, errUnknownSource) || reload {
			return err
		}
	}
}

// Indicators returns the indicators of obs in argument order, one per element that has one (an
// observable given twice comes back twice). The distinct keys are looked up by type, sorted, 4096
// at a time from a JSON array (500 at a time in an IN list for values JSON cannot carry), all in
// one read transaction.
func (db *DB) Indicators(ctx context.Context, obs []intel.Observable) ([]intel.Indicator, error) {
	if len(obs) == 0 {
		return nil, nil
	}
	keys := make([]obsKey, 0, len(obs))
	for _, o := range obs {
		if o.Type.Valid() && o.Value != "" {
			keys = append(keys, obsKey{o.Type, o.Value})
		}
	}
	slices.SortFunc(keys, cmpKey)
	keys = slices.Compact(keys)

	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("looking up indicators: %w", err)
	}
	defer tx.Rollback()
	found := make(map[obsKey]*intel.Indicator, min(len(keys), 1024))
	keep := func(in *intel.Indicator) error {
		found[obsKey{in.Observable.Type, in.Observable.Value}] = in
		return nil
	}
	var b []byte
	var unsafe []any
	for lo := 0; lo < len(keys); {
		t := keys[lo].t
		hi := lo + 1
		for hi < len(keys) && keys[hi].t == t {
			hi++
		}
		unsafe = append(unsafe[:0], string(t))
		for c := lo; c < hi; c += jsonChunk {
			b = append(b[:0], '[')
			for _, k := range keys[c:min(c+jsonChunk, hi)] {
				if !jsonSafe(k.v) {
					unsafe = append(unsafe, k.v)
					continue
				}
				if len(b) > 1 {
					b = append(b, ',')
				}
				b = appendJSONString(b, k.v)
			}
			if len(b) == 1 {
				continue
			}
			b = append(b, ']')
			err := db.readWithNames(ctx, tx, t, keep, `SELECT `+indicatorColumns+`, `+reportColumns+`
				FROM json_each(?2) AS j CROSS JOIN indicators AS i ON i.type = ?1 AND i.value = j.value
				`+reportJoin, string(t), string(b))
			if err != nil {
				return nil, fmt.Errorf("looking up indicators: %w", err)
			}
		}
		for c := 1; c < len(unsafe); c += lookupChunk {
			chunk := unsafe[c:min(c+lookupChunk, len(unsafe))]
			err := db.readWithNames(ctx, tx, t, keep, `SELECT `+indicatorColumns+`, `+reportColumns+`
				FROM indicators AS i `+reportJoin+` WHERE i.type = ? AND i.value IN (`+placeholders(len(chunk))+`)
				ORDER BY i.id`, append([]any{unsafe[0]}, chunk...)...)
			if err != nil {
				return nil, fmt.Errorf("looking up indicators: %w", err)
			}
		}
		lo = hi
	}
	out := make([]intel.Indicator, 0, len(found))
	for _, o := range obs {
		if in, ok := found[obsKey{o.Type, o.Value}]; ok {
			out = append(out, *in)
		}
	}
	return out, nil
}

// ScanIndicators calls fn for every indicator in ID order. It reads pages of 2000 indicators, each
// in one query, and calls fn between queries, so fn may take its time or use the store; an ingest
// committing during the scan may or may not be seen.
func (db *DB) ScanIndicators(ctx context.Context, fn func(intel.Indicator) error) error {
	return db.ScanIndicatorsAfter(ctx, 0, fn)
}

// ScanIndicatorsAfter is ScanIndicators for the indicators with an ID above after: those created
// since a scan that ended at after (IDs only grow). Finding none costs one indexed query.
func (db *DB) ScanIndicatorsAfter(ctx context.Context, after int64, fn func(intel.Indicator) error) error {
	const q = `SELECT ` + indicatorColumns + `, ` + reportColumns + `, i.type
		FROM (SELECT * FROM indicators WHERE id > ? ORDER BY id LIMIT ?) AS i ` + reportJoin + `
		ORDER BY i.id`
	page := make([]*intel.Indicator, 0, scanPage)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page = page[:0]
		err := db.readWithNames(ctx, db.r, "", func(in *intel.Indicator) error {
			page = append(page, in)
			return nil
		}, q, after, scanPage)
		if err != nil {
			return fmt.Errorf("scanning indicators: %w", err)
		}
		for _, in := range page {
			if err := fn(*in); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// readIndicators reads rows of [indicatorColumns] and [reportColumns] (followed by the type when
// typ is empty), calls emit for each complete indicator, and closes rows. A report's source name
// comes from names; a missing one is [errUnknownSource].
func readIndicators(rows *sql.Rows, typ intel.Type, names map[int64]string, emit func(*intel.Indicator) error) error {
	defer rows.Close()
	var cur *intel.Indicator
	flush := func() error {
		if cur == nil {
			return nil
		}
		sortReports(cur.Reports)
		err := emit(cur)
		cur = nil
		return err
	}
	var (
		id, first, last, src        int64
		conf, tlp                   int64
		rFirst, rLast, rValid       int64
		v, wl, tags, threat, malwre string
		t                           string
	)
	dest := []any{&id, &v, &first, &last, &wl, &src, &conf, &tlp, &rFirst, &rLast, &rValid, &tags, &threat, &malwre}
	if typ == "" {
		dest = append(dest, &t)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if cur == nil || cur.ID != id {
			if err := flush(); err != nil {
				return err
			}
			wls, err := decodeStrings(wl)
			if err != nil {
				return fmt.Errorf("reading indicator %d: %w", id, err)
			}
			ty := typ
			if ty == "" {
				ty = intel.Type(t).Canonical()
			}
			cur = &intel.Indicator{
				ID:           id,
				Observable:   intel.Observable{Type: ty, Value: v},
				FirstSeen:    fromNS(first),
				LastSeen:     fromNS(last),
				Warninglists: wls,
			}
		}
		if src == 0 {
			continue // no reports
		}
		name, ok := names[src]
		if !ok {
			return errUnknownSource
		}
		tg, err := decodeStrings(tags)
		if err != nil {
			return fmt.Errorf("reading report on indicator %d: %w", id, err)
		}
		cur.Reports = append(cur.Reports, intel.Report{
			Observable: cur.Observable,
			Source:     name,
			Confidence: int(conf),
			TLP:        intel.TLP(tlp),
			FirstSeen:  fromNS(rFirst),
			LastSeen:   fromNS(rLast),
			ValidUntil: fromNS(rValid),
			Tags:       tg,
			ThreatType: threat,
			Malware:    malwre,
		})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// sortReports orders an indicator's reports by first seen, then source name.
func sortReports(rs []intel.Report) {
	if len(rs) < 2 {
		return
	}
	slices.SortFunc(rs, func(a, b intel.Report) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return strings.Compare(a.Source, b.Source)
	})
}
