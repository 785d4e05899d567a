package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// The raw insert baseline of docs/performance-baselines.md B7, row 2.
const (
	baselineRowsPerStmt = 100
	baselineRowsPerTx   = 10000
	baselineScore       = 50
)

// RawInsertBaseline measures the raw multi-row SQLite insert rate that the ingest target is
// expressed against: it creates a fresh database at path (which must not exist), with one heap table
// (value TEXT, type TEXT, score INT), no index, WAL and synchronous=NORMAL, and inserts rows
// (value, type, a constant score) with a prepared 100-row INSERT, 10,000 rows per transaction. It
// returns the time from the first insert to the last commit. The file is left for the caller to
// remove.
func RawInsertBaseline(ctx context.Context, path string, rows []intel.Observable) (time.Duration, error) {
	if _, err := os.Stat(path); err == nil {
		return 0, fmt.Errorf("creating baseline database %s: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("creating baseline database %s: %w", path, err)
	}
	db, err := openPool(ctx, path, []string{"journal_mode(WAL)", "synchronous(NORMAL)"}, 1)
	if err != nil {
		return 0, fmt.Errorf("opening baseline database %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (value TEXT, type TEXT, score INT)"); err != nil {
		return 0, fmt.Errorf("creating baseline table: %w", err)
	}
	start := time.Now()
	if err := baselineInsert(ctx, db, rows); err != nil {
		return 0, fmt.Errorf("running insert baseline: %w", err)
	}
	return time.Since(start), nil
}

func baselineInsert(ctx context.Context, db *sql.DB, rows []intel.Observable) error {
	args := make([]any, 0, 3*baselineRowsPerStmt)
	for lo := 0; lo < len(rows); lo += baselineRowsPerTx {
		txRows := rows[lo:min(lo+baselineRowsPerTx, len(rows))]
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO t (value, type, score) VALUES "+
			tuples(baselineRowsPerStmt, 3))
		if err != nil {
			tx.Rollback()
			return err
		}
		for i := 0; i < len(txRows); i += baselineRowsPerStmt {
			part := txRows[i:min(i+baselineRowsPerStmt, len(txRows))]
			args = args[:0]
			for _, o := range part {
				args = append(args, o.Value, string(o.Type), baselineScore)
			}
			if len(part) == baselineRowsPerStmt {
				_, err = stmt.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, "INSERT INTO t (value, type, score) VALUES "+
					tuples(len(part), 3), args...)
			}
			if err != nil {
				stmt.Close()
				tx.Rollback()
				return err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
