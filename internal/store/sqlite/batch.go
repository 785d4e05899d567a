package sqlite

// Writing one ingest batch.
//
// Three costs dominate a bulk write through modernc.org/sqlite: binding parameters and reading
// columns (roughly 0.1 µs per value, paid per row and column), random-position inserts into the
// (type, value) key, and lookups of that key. The key insert is the price of deduplication and is
// paid once per new indicator; the rest is cut down:
//
//   - Rows that share every column but their key form a group, written by one statement that binds
//     the shared columns once and reads the keys from a JSON array (json_each) or, for the reports
//     of new indicators, from a range of IDs. A feed usually gives the same times, confidence, TLP
//     and tags to a whole download, so groups are large. Rows outside a group of at least minGroup
//     rows go through multi-row INSERT ... VALUES statements.
//   - When a sample of the batch finds no stored indicator (a first import, a feed of fresh
//     values), large groups are inserted without looking their keys up first (ON CONFLICT DO
//     NOTHING); only a chunk that inserted fewer rows than it holds is looked up afterwards.
//   - Existing indicators and reports are never read into Go: the lookup returns an ID and whether
//     the source's report exists (for the counts), and the merge with the stored row happens in
//     SQL, in the upsert (mergeReportSQL), which skips rows it would not change.
//
// Foreign keys are switched off on the writer connection for the batch transaction: the batch
// only writes reports for indicators it read or inserted in the same transaction, for a source it
// checks in that transaction, so the checks (two B-tree seeks per report) would only repeat what
// the code guarantees.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

const (
	jsonChunk    = 4096 // keys per statement that reads them from a JSON array
	listChunk    = 500  // keys per lookup of values JSON cannot carry
	rowsPerWrite = 200  // rows per multi-row INSERT ... VALUES
	probeSize    = 256  // keys sampled to choose the optimistic insert
)

// Tuning, variables so that tests can force every path.
var (
	// minGroup is the smallest group of rows written by a JSON statement; smaller groups are
	// cheaper as part of a multi-row VALUES statement.
	minGroup = 16
	// optimism chooses the insert without lookup: 0 when the probe finds nothing, 1 always, -1
	// never.
	optimism = 0
)

// The merge rules of [rep.merge] in SQL, for an upsert: the stored row's columns unqualified, the
// new row's in excluded. Zero times are unknown.
const (
	sqlStoredNewer = `(last_seen <> 0 AND (excluded.last_seen = 0 OR last_seen > excluded.last_seen))`
	sqlFirstGrows  = `(excluded.first_seen <> 0 AND (first_seen = 0 OR excluded.first_seen < first_seen))`
	sqlLastGrows   = `(excluded.last_seen <> 0 AND (last_seen = 0 OR excluded.last_seen > last_seen))`
	sqlFirst       = `CASE WHEN ` + sqlFirstGrows + ` THEN excluded.first_seen ELSE first_seen END`
	sqlLast        = `CASE WHEN ` + sqlLastGrows + ` THEN excluded.last_seen ELSE last_seen END`
	sqlNewTags     = `SELECT n.value FROM json_each(nullif(excluded.tags, '')) AS n
		WHERE n.value NOT IN (SELECT value FROM json_each(nullif(reports.tags, '')))`
	sqlTagsGrow = `(excluded.tags <> '' AND excluded.tags <> reports.tags AND
		(reports.tags = '' OR EXISTS (` + sqlNewTags + `)))`
	sqlTags = `CASE WHEN NOT ` + sqlTagsGrow + ` THEN reports.tags WHEN reports.tags = '' THEN excluded.tags
		ELSE (SELECT json_group_array(value) FROM (SELECT value FROM json_each(nullif(reports.tags, ''))
			UNION ALL ` + sqlNewTags + `)) END`
	sqlOthersDiffer = `(confidence <> excluded.confidence OR tlp <> excluded.tlp OR
		valid_until <> excluded.valid_until OR threat_type <> excluded.threat_type OR malware <> excluded.malware)`

	// mergeReportSQL ends an INSERT INTO reports: it merges a new report into the stored one and
	// leaves the row alone when that changes nothing.
	mergeReportSQL = ` ON CONFLICT (indicator_id, source_id) DO UPDATE SET
		first_seen = ` + sqlFirst + `, last_seen = ` + sqlLast + `, tags = ` + sqlTags + `,
		confidence = CASE WHEN ` + sqlStoredNewer + ` THEN confidence ELSE excluded.confidence END,
		tlp = CASE WHEN ` + sqlStoredNewer + ` THEN tlp ELSE excluded.tlp END,
		valid_until = CASE WHEN ` + sqlStoredNewer + ` THEN valid_until ELSE excluded.valid_until END,
		threat_type = CASE WHEN ` + sqlStoredNewer + ` THEN threat_type ELSE excluded.threat_type END,
		malware = CASE WHEN ` + sqlStoredNewer + ` THEN malware ELSE excluded.malware END
		WHERE ` + sqlFirstGrows + ` OR ` + sqlLastGrows + ` OR ` + sqlTagsGrow + ` OR
			(NOT ` + sqlStoredNewer + ` AND ` + sqlOthersDiffer + `)`
)

// mergeIndicatorSQL ends an INSERT INTO indicators: it widens the stored indicator's times and,
// when replaceWL, replaces its warninglists, leaving the row alone when that changes nothing.
func mergeIndicatorSQL(replaceWL bool) string {
	set := `first_seen = ` + sqlFirst + `, last_seen = ` + sqlLast
	where := sqlFirstGrows + ` OR ` + sqlLastGrows
	if replaceWL {
		set += `, warninglists = excluded.warninglists`
		where += ` OR warninglists <> excluded.warninglists`
	}
	return ` ON CONFLICT (id) DO UPDATE SET ` + set + ` WHERE ` + where
}

// batchWriter holds the buffers reused from batch to batch. It is used by one goroutine at a time.
type batchWriter struct {
	args []any
	buf  []byte
	pos  []int32 // position in items of each key in the JSON array being built
}

// repPayload is what a report row holds besides its key.
type repPayload struct {
	conf, tlp, first, last, valid int64
	tags, threat, malware         string
}

func payloadOf(r *rep) repPayload {
	return repPayload{conf: r.conf, tlp: r.tlp, first: r.first, last: r.last, valid: r.valid,
		tags: encodeStrings(r.tags), threat: r.threat, malware: r.malware}
}

// writeBatch merges items (sorted by key, distinct) with what is stored and writes the result in
// one transaction, or, for an atomic ingest, in the ingest's transaction without committing it.
func (in *ingester) writeBatch(ctx context.Context, items []ingestItem) (st store.IngestStats, err error) {
	if in.atomic {
		if in.atx == nil {
			if in.atx, err = in.db.beginIngest(ctx); err != nil {
				return st, err
			}
		}
		return in.writeTx(ctx, in.atx.tx, items)
	}
	t, err := in.db.beginIngest(ctx)
	if err != nil {
		return st, err
	}
	st, err = in.writeTx(ctx, t.tx, items)
	return st, t.end(ctx, err == nil, err)
}

// ingestTx is a write transaction on a connection with foreign keys off (the ingester keeps them
// consistent itself, and checking each row costs a third of the time).
type ingestTx struct {
	conn *sql.Conn
	tx   *sql.Tx
}

// beginIngest takes the writer connection and begins a transaction on it. The transaction lives
// until end, whatever happens to ctx, so that an atomic ingest spans the contexts of its batches.
func (db *DB) beginIngest(ctx context.Context) (*ingestTx, error) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("disabling foreign keys: %w", err)
	}
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		t := &ingestTx{conn: conn}
		return nil, errors.Join(err, t.release(ctx))
	}
	return &ingestTx{conn: conn, tx: tx}, nil
}

// end commits (or rolls back) the transaction and hands the connection back; err is the error so
// far, returned joined with any error of ending.
func (t *ingestTx) end(ctx context.Context, commit bool, err error) error {
	if commit {
		if e := t.tx.Commit(); e != nil {
			err = errors.Join(err, fmt.Errorf("committing: %w", e))
		}
	} else {
		t.tx.Rollback()
	}
	return errors.Join(err, t.release(ctx))
}

// release turns foreign keys back on and hands the connection back to the pool.
func (t *ingestTx) release(ctx context.Context) error {
	defer t.conn.Close()
	if _, e := t.conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); e != nil {
		// Never hand a connection without foreign keys back to the pool.
		t.conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("enabling foreign keys: %w", e)
	}
	return nil
}

// writeTx writes one batch in tx.
func (in *ingester) writeTx(ctx context.Context, tx *sql.Tx, items []ingestItem) (st store.IngestStats, err error) {
	var one int
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM sources WHERE id = ?", in.sourceID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return st, notFound("source", in.source)
	}
	if err != nil {
		return st, fmt.Errorf("checking source: %w", err)
	}
	var maxID int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM indicators").Scan(&maxID); err != nil {
		return st, fmt.Errorf("reading last indicator id: %w", err)
	}

	w := &in.w
	optimistic := optimism > 0 || maxID == 0 && optimism == 0
	if !optimistic && optimism == 0 {
		hits, err := w.probe(ctx, tx, items)
		if err != nil {
			return st, err
		}
		optimistic = hits == 0
	}
	if optimistic {
		if maxID, err = w.insertNew(ctx, tx, in.sourceID, items, maxID, true); err != nil {
			return st, err
		}
	}
	if err := w.lookup(ctx, tx, in.sourceID, items); err != nil {
		return st, err
	}
	found := 0
	for i := range items {
		it := &items[i]
		switch {
		case !it.indFound:
			st.Indicators++
			st.New++
		case it.repFound:
			found++
			st.Updated++
		default:
			found++
			st.New++
		}
	}
	if _, err := w.insertNew(ctx, tx, in.sourceID, items, maxID, false); err != nil {
		return st, err
	}
	if found > 0 {
		if err := w.updateIndicators(ctx, tx, items, in.classify != nil); err != nil {
			return st, err
		}
		if err := w.upsertReports(ctx, tx, in.sourceID, items); err != nil {
			return st, err
		}
	}
	return st, nil
}

// probe looks up a sample of the batch's keys and returns how many exist.
func (w *batchWriter) probe(ctx context.Context, tx *sql.Tx, items []ingestItem) (int, error) {
	step := max(1, len(items)/probeSize)
	b := append(w.buf[:0], '[')
	n := 0
	for i := 0; i < len(items); i += step {
		if !items[i].json {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendJSONString(b, string(items[i].obs.Type))
		b = append(b, ',')
		b = items[i].appendValue(b)
		b = append(b, ']')
		n++
	}
	b = append(b, ']')
	w.buf = b
	var hits int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM json_each(?) AS j CROSS JOIN indicators AS i
		ON i.type = j.value ->> 0 AND i.value = j.value ->> 1`, string(b)).Scan(&hits)
	if err != nil {
		return 0, fmt.Errorf("probing indicators: %w", err)
	}
	return hits, nil
}

// lookupJSONSQL returns, for the keys (?1 type, ?2 JSON array of values), the stored indicator's ID,
// the key's position in the array, and whether the source ?3 has a report on it.
const lookupJSONSQL = `SELECT i.id, j.key, r.indicator_id IS NOT NULL
	FROM json_each(?2) AS j CROSS JOIN indicators AS i ON i.type = ?1 AND i.value = j.value
	LEFT JOIN reports AS r ON r.indicator_id = i.id AND r.source_id = ?3`

// lookupListSQL is lookupJSONSQL for n keys bound one by one, after the type and the source.
func lookupListSQL(n int) string {
	var b strings.Builder
	b.WriteString(`WITH k(pos, value) AS (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d, ?%d)", i, i+3)
	}
	b.WriteString(`) SELECT i.id, k.pos, r.indicator_id IS NOT NULL
		FROM k CROSS JOIN indicators AS i ON i.type = ?1 AND i.value = k.value
		LEFT JOIN reports AS r ON r.indicator_id = i.id AND r.source_id = ?2`)
	return b.String()
}

// lookup marks the items not yet inserted or found whose indicator exists: indFound, id, and
// repFound when the source has a report on it.
func (w *batchWriter) lookup(ctx context.Context, tx *sql.Tx, sourceID int64, items []ingestItem) error {
	var unsafe []int32
	for lo := 0; lo < len(items); {
		t := items[lo].obs.Type
		hi := lo + 1
		for hi < len(items) && items[hi].obs.Type == t {
			hi++
		}
		unsafe = unsafe[:0]
		b, pos := append(w.buf[:0], '['), w.pos[:0]
		flush := func() error {
			if len(pos) == 0 {
				return nil
			}
			b = append(b, ']')
			rows, err := tx.QueryContext(ctx, lookupJSONSQL, string(t), string(b), sourceID)
			if err != nil {
				return err
			}
			err = markFound(items, pos, rows, -1)
			b, pos = append(b[:0], '['), pos[:0]
			return err
		}
		for i := lo; i < hi; i++ {
			it := &items[i]
			if it.inserted || it.indFound {
				continue
			}
			if !it.json {
				unsafe = append(unsafe, int32(i))
				continue
			}
			if len(pos) > 0 {
				b = append(b, ',')
			}
			b = it.appendValue(b)
			if pos = append(pos, int32(i)); len(pos) == jsonChunk {
				if err := flush(); err != nil {
					return fmt.Errorf("looking up indicators: %w", err)
				}
			}
		}
		if err := flush(); err != nil {
			return fmt.Errorf("looking up indicators: %w", err)
		}
		w.buf, w.pos = b, pos
		for c := 0; c < len(unsafe); c += listChunk {
			chunk := unsafe[c:min(c+listChunk, len(unsafe))]
			args := append(w.args[:0], string(t), sourceID)
			for _, i := range chunk {
				args = append(args, items[i].obs.Value)
			}
			w.args = args
			rows, err := tx.QueryContext(ctx, lookupListSQL(len(chunk)), args...)
			if err != nil {
				return fmt.Errorf("looking up indicators: %w", err)
			}
			if err := markFound(items, chunk, rows, -1); err != nil {
				return fmt.Errorf("looking up indicators: %w", err)
			}
		}
		lo = hi
	}
	return nil
}

// markFound reads rows of (id, key position, has report), where pos maps key positions to items,
// and closes rows. It marks the items found. Rows with an ID of at least newFrom (when not
// negative) are indicators the caller has just inserted: their items stay inserted and get the ID.
func markFound(items []ingestItem, pos []int32, rows *sql.Rows, newFrom int64) error {
	defer rows.Close()
	var id, p int64
	var hasReport bool
	for rows.Next() {
		if err := rows.Scan(&id, &p, &hasReport); err != nil {
			return err
		}
		if p < 0 || int(p) >= len(pos) {
			return fmt.Errorf("lookup returned key position %d of %d", p, len(pos))
		}
		it := &items[pos[p]]
		it.id = id
		if newFrom >= 0 && id >= newFrom {
			continue
		}
		it.indFound, it.inserted, it.repFound = true, false, hasReport
	}
	return rows.Err()
}

// newGroup is the key of a group of new indicators written together.
type newGroup struct {
	t   intel.Type
	wl  string
	rep repPayload
}

// insertNew inserts the indicators not found or inserted yet, with their reports, giving them IDs
// after maxID, and returns the last ID given. In optimistic mode it only writes large groups, has
// SQLite skip stored keys, and marks the items whose key turned out to exist as found.
func (w *batchWriter) insertNew(ctx context.Context, tx *sql.Tx, sourceID int64, items []ingestItem,
	maxID int64, optimistic bool) (int64, error) {
	// Group the candidates. Neighbours (sorted by key) usually share a group, so compare with the
	// previous candidate before hashing the key.
	index := make(map[newGroup]int)
	var groups [][]int32
	var loose []int32
	prev, prevGroup := -1, -1
	for i := range items {
		it := &items[i]
		if it.inserted || it.indFound {
			continue
		}
		if !it.json {
			if !optimistic {
				loose = append(loose, int32(i))
			}
			continue
		}
		if prev >= 0 && items[prev].obs.Type == it.obs.Type && items[prev].wl == it.wl && items[prev].r.equal(&it.r) {
			groups[prevGroup] = append(groups[prevGroup], int32(i))
			prev = i
			continue
		}
		g := newGroup{it.obs.Type, it.wl, payloadOf(&it.r)}
		k, ok := index[g]
		if !ok {
			k = len(groups)
			index[g] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], int32(i))
		prev, prevGroup = i, k
	}
	for _, rows := range groups {
		if len(rows) < minGroup {
			if !optimistic {
				loose = append(loose, rows...)
			}
			continue
		}
		first := &items[rows[0]]
		g := newGroup{first.obs.Type, first.wl, payloadOf(&first.r)}
		for c := 0; c < len(rows); c += jsonChunk {
			var err error
			if maxID, err = w.insertChunk(ctx, tx, sourceID, items, rows[c:min(c+jsonChunk, len(rows))], g, maxID, optimistic); err != nil {
				return 0, err
			}
		}
	}
	if len(loose) == 0 {
		return maxID, nil
	}
	slices.Sort(loose)
	for _, i := range loose {
		maxID++
		items[i].id = maxID
	}
	if err := w.writeIndicatorRows(ctx, tx, items, loose, false); err != nil {
		return 0, err
	}
	return maxID, w.writeReportRows(ctx, tx, sourceID, items, loose)
}

// insertChunk inserts the indicators of one chunk of a group, and their reports. SQLite gives the
// rows their IDs: max(id) + 1 onwards, in the order of the JSON array, which saves the seek that an
// explicit rowid costs. When the statement did not insert exactly the expected rows (in optimistic
// mode, some keys existed), the chunk's keys are looked up to learn which row got which ID.
func (w *batchWriter) insertChunk(ctx context.Context, tx *sql.Tx, sourceID int64, items []ingestItem,
	rows []int32, g newGroup, maxID int64, optimistic bool) (int64, error) {
	base := maxID + 1
	b := append(w.buf[:0], '[')
	for j, i := range rows {
		it := &items[i]
		it.id, it.inserted = base+int64(j), true
		if j > 0 {
			b = append(b, ',')
		}
		b = it.appendValue(b)
	}
	b = append(b, ']')
	w.buf = b
	values := string(b)
	q := `INSERT INTO indicators (type, value, first_seen, last_seen, warninglists)
		SELECT ?1, j.value, ?2, ?3, ?4 FROM json_each(?5) AS j WHERE true`
	if optimistic {
		q += " ON CONFLICT (type, value) DO NOTHING"
	}
	res, err := tx.ExecContext(ctx, q, string(g.t), g.rep.first, g.rep.last, g.wl, values)
	if err != nil {
		return 0, fmt.Errorf("inserting indicators: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("inserting indicators: %w", err)
	}
	last, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("inserting indicators: %w", err)
	}
	if n == 0 {
		last = maxID
	}
	if int(n) != len(rows) || last != maxID+n {
		// Learn the IDs from the table: below base, the key existed.
		q, err := tx.QueryContext(ctx, lookupJSONSQL, string(g.t), values, sourceID)
		if err != nil {
			return 0, fmt.Errorf("looking up indicators: %w", err)
		}
		if err := markFound(items, rows, q, base); err != nil {
			return 0, fmt.Errorf("looking up indicators: %w", err)
		}
		ids := make([]int64, 0, len(rows))
		for _, i := range rows {
			if items[i].inserted {
				ids = append(ids, items[i].id)
			}
		}
		return max(maxID, last), w.insertReportsJSON(ctx, tx, sourceID, g.rep, ids, "")
	}
	maxID = last
	r := g.rep
	if _, err := tx.ExecContext(ctx, `INSERT INTO reports (indicator_id, source_id, confidence, tlp,
			first_seen, last_seen, valid_until, tags, threat_type, malware)
		SELECT ?1 + j.key, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM json_each(?11) AS j`,
		base, sourceID, r.conf, r.tlp, r.first, r.last, r.valid, r.tags, r.threat, r.malware,
		counter(len(rows))); err != nil {
		return 0, fmt.Errorf("inserting reports: %w", err)
	}
	return maxID, nil
}

// zeros is a JSON array of jsonChunk zeros without its closing bracket: counter slices it.
var zeros = "[" + strings.Repeat("0,", jsonChunk-1) + "0"

// counter returns a JSON array of n elements (1 ≤ n ≤ jsonChunk), for json_each to count with.
func counter(n int) string { return zeros[:2*n] + "]" }

// insertReportsJSON writes reports with payload r on the indicators ids, followed by tail.
func (w *batchWriter) insertReportsJSON(ctx context.Context, tx *sql.Tx, sourceID int64, r repPayload, ids []int64, tail string) error {
	for c := 0; c < len(ids); c += jsonChunk {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reports (indicator_id, source_id, confidence,
				tlp, first_seen, last_seen, valid_until, tags, threat_type, malware)
			SELECT j.value, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM json_each(?10) AS j WHERE true`+tail,
			sourceID, r.conf, r.tlp, r.first, r.last, r.valid, r.tags, r.threat, r.malware,
			w.jsonIDs(ids[c:min(c+jsonChunk, len(ids))])); err != nil {
			return fmt.Errorf("writing reports: %w", err)
		}
	}
	return nil
}

// updateIndicators widens the times of the existing indicators by their batch report's, and
// replaces their warninglists when replaceWL.
func (w *batchWriter) updateIndicators(ctx context.Context, tx *sql.Tx, items []ingestItem, replaceWL bool) error {
	type payload struct {
		first, last int64
		wl          string
	}
	groups := make(map[payload][]int32)
	var order []payload
	for i := range items {
		it := &items[i]
		if !it.indFound {
			continue
		}
		g := payload{it.r.first, it.r.last, it.wl}
		pos, ok := groups[g]
		if !ok {
			order = append(order, g)
		}
		groups[g] = append(pos, int32(i))
	}
	// The upsert's merge as an UPDATE of rows listed in a JSON array.
	merge := mergeIndicatorSQL(replaceWL)
	set, where, _ := strings.Cut(merge[strings.Index(merge, " SET ")+5:], " WHERE ")
	update := `UPDATE indicators SET ` + set + ` FROM json_each(?4) AS j WHERE indicators.id = j.value AND (` + where + `)`
	update = strings.NewReplacer("excluded.first_seen", "?1", "excluded.last_seen", "?2",
		"excluded.warninglists", "?3").Replace(update)
	var loose []int32
	for _, g := range order {
		pos := groups[g]
		if len(pos) < minGroup {
			loose = append(loose, pos...)
			continue
		}
		ids := idsOf(items, pos)
		for c := 0; c < len(ids); c += jsonChunk {
			if _, err := tx.ExecContext(ctx, update, g.first, g.last, g.wl,
				w.jsonIDs(ids[c:min(c+jsonChunk, len(ids))])); err != nil {
				return fmt.Errorf("updating indicators: %w", err)
			}
		}
	}
	return w.writeIndicatorRows(ctx, tx, items, loose, replaceWL)
}

// upsertReports merges the batch's reports into the source's reports on existing indicators.
func (w *batchWriter) upsertReports(ctx context.Context, tx *sql.Tx, sourceID int64, items []ingestItem) error {
	groups := make(map[repPayload][]int32)
	var order []repPayload
	var prev *ingestItem
	var prevGroup repPayload
	for i := range items {
		it := &items[i]
		if !it.indFound {
			continue
		}
		g := prevGroup
		if prev == nil || !prev.r.equal(&it.r) {
			g = payloadOf(&it.r)
		}
		prev, prevGroup = it, g
		pos, ok := groups[g]
		if !ok {
			order = append(order, g)
		}
		groups[g] = append(pos, int32(i))
	}
	var loose []int32
	for _, g := range order {
		pos := groups[g]
		if len(pos) < minGroup {
			loose = append(loose, pos...)
			continue
		}
		if err := w.insertReportsJSON(ctx, tx, sourceID, g, idsOf(items, pos), mergeReportSQL); err != nil {
			return err
		}
	}
	return w.writeReportRows(ctx, tx, sourceID, items, loose)
}

// idsOf returns the sorted IDs of the items at positions pos.
func idsOf(items []ingestItem, pos []int32) []int64 {
	ids := make([]int64, len(pos))
	for j, i := range pos {
		ids[j] = items[i].id
	}
	slices.Sort(ids)
	return ids
}

// writeIndicatorRows writes the indicator rows of items at positions rows, row by row: new ones
// are inserted, stored ones merged (see mergeIndicatorSQL).
func (w *batchWriter) writeIndicatorRows(ctx context.Context, tx *sql.Tx, items []ingestItem, rows []int32, replaceWL bool) error {
	sortByID(items, rows)
	return w.writeRows(ctx, tx, len(rows), 6,
		"INSERT INTO indicators (id, type, value, first_seen, last_seen, warninglists) VALUES ",
		mergeIndicatorSQL(replaceWL),
		func(args []any, j int) []any {
			it := &items[rows[j]]
			return append(args, it.id, string(it.obs.Type), it.obs.Value, it.r.first, it.r.last, it.wl)
		})
}

// writeReportRows writes the source's report rows of items at positions rows, row by row: new
// ones are inserted, stored ones merged (see mergeReportSQL).
func (w *batchWriter) writeReportRows(ctx context.Context, tx *sql.Tx, sourceID int64, items []ingestItem, rows []int32) error {
	sortByID(items, rows)
	return w.writeRows(ctx, tx, len(rows), 10,
		`INSERT INTO reports (indicator_id, source_id, confidence, tlp, first_seen, last_seen,
			valid_until, tags, threat_type, malware) VALUES `, mergeReportSQL,
		func(args []any, j int) []any {
			it := &items[rows[j]]
			r := &it.r
			return append(args, it.id, sourceID, r.conf, r.tlp, r.first, r.last, r.valid,
				encodeStrings(r.tags), r.threat, r.malware)
		})
}

func sortByID(items []ingestItem, rows []int32) {
	slices.SortFunc(rows, func(a, b int32) int {
		switch x, y := items[a].id, items[b].id; {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
}

// writeRows executes head + n value tuples of cols parameters + tail, rowsPerWrite tuples per
// statement, appending the arguments of row j with add.
func (w *batchWriter) writeRows(ctx context.Context, tx *sql.Tx, n, cols int, head, tail string,
	add func(args []any, j int) []any) error {
	if n == 0 {
		return nil
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for lo := 0; lo < n; lo += rowsPerWrite {
		hi := min(lo+rowsPerWrite, n)
		args := w.args[:0]
		for j := lo; j < hi; j++ {
			args = add(args, j)
		}
		w.args = args
		var err error
		if hi-lo == rowsPerWrite {
			if full == nil {
				full, err = tx.PrepareContext(ctx, head+tuples(rowsPerWrite, cols)+tail)
				if err != nil {
					return fmt.Errorf("preparing write: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, head+tuples(hi-lo, cols)+tail, args...)
		}
		if err != nil {
			return fmt.Errorf("writing rows: %w", err)
		}
	}
	return nil
}

// jsonIDs encodes ids as a JSON array.
func (w *batchWriter) jsonIDs(ids []int64) string {
	b := append(w.buf[:0], '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, ']')
	w.buf = b
	return string(b)
}

// appendValue appends the item's value as a JSON string.
func (it *ingestItem) appendValue(b []byte) []byte {
	if it.plain {
		b = append(b, '"')
		b = append(b, it.obs.Value...)
		return append(b, '"')
	}
	return appendJSONString(b, it.obs.Value)
}

// jsonSafe reports whether s survives a trip through a JSON string and SQLite's json_each: valid
// UTF-8 without NUL.
func jsonSafe(s string) bool {
	return plainJSON(s) || utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// appendJSONString appends s (see [jsonSafe]) to b as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	if plainJSON(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
