package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/pressly/goose/v3"
)

// migrationsFS holds the SQL migrations. Versions without a file are Go migrations, registered in
// [goMigrations].
//
//go:embed migrations/*.sql
var migrationsFS embed.FS

// goMigrations are the migrations that need Go: folding names the way the store does.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(3,
			&goose.GoFunc{RunTx: backfillEntityNames},
			&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "DELETE FROM entity_names")
				return err
			}},
		),
	}
}

// migrate applies the migrations up to version to (all of them when to < 0).
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger, to int64) error {
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(goMigrations()...),
	)
	if err != nil {
		return fmt.Errorf("loading migrations: %w", err)
	}
	var res []*goose.MigrationResult
	if to < 0 {
		res, err = p.Up(ctx)
	} else {
		res, err = p.UpTo(ctx, to)
	}
	if err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	for _, r := range res {
		logger.Info("applied database migration", "version", r.Source.Version,
			"path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// backfillEntityNames fills entity_names (migration 2) for the entities written before it existed.
func backfillEntityNames(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, name, aliases FROM entities")
	if err != nil {
		return fmt.Errorf("reading entities: %w", err)
	}
	type named struct {
		id    string
		names []string
	}
	var all []named
	for rows.Next() {
		var id, name, aliases string
		if err := rows.Scan(&id, &name, &aliases); err != nil {
			rows.Close()
			return fmt.Errorf("reading entities: %w", err)
		}
		as, err := decodeStrings(aliases)
		if err != nil {
			rows.Close()
			return fmt.Errorf("reading aliases of entity %s: %w", id, err)
		}
		all = append(all, named{id, append([]string{name}, as...)})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading entities: %w", err)
	}
	for _, e := range all {
		if err := putEntityNames(ctx, tx, e.id, e.names); err != nil {
			return err
		}
	}
	return nil
}

// foldName is the case folding used for entity names and aliases.
func foldName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// putEntityNames replaces the folded names of entity id.
func putEntityNames(ctx context.Context, tx *sql.Tx, id string, names []string) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM entity_names WHERE entity_id = ?", id); err != nil {
		return fmt.Errorf("clearing names of entity %s: %w", id, err)
	}
	for _, n := range names {
		f := foldName(n)
		if f == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT OR IGNORE INTO entity_names (name, entity_id) VALUES (?, ?)", f, id); err != nil {
			return fmt.Errorf("storing names of entity %s: %w", id, err)
		}
	}
	return nil
}
