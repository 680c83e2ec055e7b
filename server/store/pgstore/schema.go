package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-gw/tollgate/server/store"
)

// schemaMigration is one versioned change of the SQL schema.
type schemaMigration struct {
	version int
	name    string
	sql     string
}

// schemaMigrations is the SQL schema's history. Append new steps with the
// next version; never edit or renumber a step that has shipped, because
// databases in the field have recorded it as applied.
var schemaMigrations = []schemaMigration{
	{1, "records and change feed", `
CREATE TABLE tollgate_records (
	kind  text  NOT NULL,
	key   bytea NOT NULL,
	value bytea NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE TABLE tollgate_changes (
	version     bigint      PRIMARY KEY,
	kinds       text[]      NOT NULL,
	committed_at timestamptz NOT NULL DEFAULT now()
);`},
}

// migrateSchema applies the missing schema migrations, each in its own
// transaction with its version recorded, while holding a session advisory
// lock, so that processes opening the database together migrate it once.
// It uses a connection of its own, closed afterwards, so the session lock
// can never leak into the pool.
func (s *Store) migrateSchema(ctx context.Context) (int, error) {
	conn, err := pgx.ConnectConfig(ctx, s.connCfg.Copy())
	if err != nil {
		return 0, fmt.Errorf("pgstore: open: %w", classify(err))
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return 0, fmt.Errorf("pgstore: migrate schema: take the migration lock: %w", classify(err))
	}
	// Closing the connection releases the lock too; unlocking first lets
	// the next process go on without waiting for the close.
	defer func() {
		// An error here is harmless: closing the connection releases it.
		_, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrateLockKey)
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS tollgate_schema_migrations (
	version    integer     PRIMARY KEY,
	name       text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return 0, fmt.Errorf("pgstore: migrate schema: %w", classify(err))
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM tollgate_schema_migrations").Scan(&current); err != nil {
		return 0, fmt.Errorf("pgstore: migrate schema: read the version: %w", classify(err))
	}
	newest := schemaMigrations[len(schemaMigrations)-1].version
	if current > newest {
		return 0, fmt.Errorf("pgstore: %w: the database's schema version is %d but this Tollgate only knows versions up to %d; upgrade Tollgate",
			store.ErrSchemaTooNew, current, newest)
	}
	applied := 0
	for _, m := range schemaMigrations {
		if m.version <= current {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(ptx pgx.Tx) error {
			if _, err := ptx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := ptx.Exec(ctx, "INSERT INTO tollgate_schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("pgstore: schema migration %d (%s): %w", m.version, m.name, classify(err))
		}
		applied++
		s.log.Info("store schema migrated", "store", "postgres", "version", m.version, "name", m.name)
	}
	return applied, nil
}

// changesKept is how many rows of tollgate_changes are kept: enough for a
// watcher that lost its connection for minutes to learn exactly which
// kinds changed. One that fell further behind still catches up, without
// knowing the kinds.
const changesKept = 1000

// pruneEvery is how often (in versions) old change rows are deleted.
const pruneEvery = 100

// changeChannel is the NOTIFY channel of the change feed.
const changeChannel = "tollgate_changes"

// recordChange appends the change made by the transaction holding the write
// lock, and notifies the watchers when it commits (NOTIFY is delivered at
// commit, and never for a rolled-back transaction).
func recordChange(ctx context.Context, ptx pgx.Tx, kinds []string) error {
	var version int64
	err := ptx.QueryRow(ctx, `WITH c AS (
	INSERT INTO tollgate_changes (version, kinds)
	SELECT coalesce(max(version), 0) + 1, $1 FROM tollgate_changes
	RETURNING version
)
SELECT version, pg_notify($2, version::text) FROM c`, kinds, changeChannel).Scan(&version, nil)
	if err != nil {
		return classify(err)
	}
	if version%pruneEvery == 0 {
		if _, err := ptx.Exec(ctx, "DELETE FROM tollgate_changes WHERE version <= $1", version-changesKept); err != nil {
			return classify(err)
		}
	}
	return nil
}
