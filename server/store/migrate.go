package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// MetaKind is the reserved kind in which the store package keeps its own
// bookkeeping, currently only the schema version. Application code must not
// read or write it directly.
const MetaKind Kind = "_meta"

// schemaVersionKey is the key in MetaKind that holds the applied schema
// version as a decimal string. Decimal text rather than a binary integer
// keeps the value readable with generic tools such as the bbolt CLI.
const schemaVersionKey = "schema_version"

// ErrSchemaTooNew is returned by [Migrate] when the stored schema version is
// newer than the newest migration this binary knows. Running on such data
// could silently corrupt it, so startup must stop and the operator must
// upgrade Tollgate (or restore a backup) instead.
var ErrSchemaTooNew = errors.New("store: data dir was written by a newer Tollgate")

// Migration is one ordered step of the stored data's schema history.
type Migration struct {
	// Version identifies the step. Versions must be positive and strictly
	// increasing within a list; gaps are allowed.
	Version int
	// Name is a short human-readable description used in error messages.
	Name string
	// Up applies the step. It runs inside the same read-write transaction
	// that records Version as applied, so either both happen or neither.
	Up func(Tx) error
}

// Migrate applies, in order, every migration in migrations whose Version is
// higher than the schema version recorded in s, and returns how many it
// applied.
//
// Each migration runs in its own Update transaction together with the
// version bump, so a failing migration leaves the data and the version
// exactly as the previous step left them; the earlier steps stay applied and
// the failed one is retried on the next run. Running Migrate again after it
// succeeded is a no-op.
//
// Migrate rejects a list whose versions are not positive and strictly
// increasing, or that has a step without Up, before touching s. It refuses
// to run, returning an error wrapping [ErrSchemaTooNew], when the recorded
// version is newer than the last migration in the list.
func Migrate(ctx context.Context, s Store, migrations []Migration) (applied int, err error) {
	if err := validateMigrations(migrations); err != nil {
		return 0, err
	}
	current, err := SchemaVersion(ctx, s)
	if err != nil {
		return 0, err
	}
	newest := 0
	if n := len(migrations); n > 0 {
		newest = migrations[n-1].Version
	}
	if current > newest {
		return 0, fmt.Errorf("%w: stored schema version is %d but this Tollgate only knows versions up to %d; upgrade Tollgate or point it at another data dir",
			ErrSchemaTooNew, current, newest)
	}
	for _, m := range migrations {
		if m.Version <= current {
			continue
		}
		ran := false
		err := s.Update(ctx, func(tx Tx) error {
			// Re-read the version inside the write transaction: another
			// goroutine may have migrated the same store since we looked,
			// and applying a step twice is exactly what versions prevent.
			v, err := readVersion(tx)
			if err != nil {
				return err
			}
			if v >= m.Version {
				return nil
			}
			if err := m.Up(tx); err != nil {
				return err
			}
			ran = true
			return tx.Put(MetaKind, schemaVersionKey, []byte(strconv.Itoa(m.Version)))
		})
		if err != nil {
			return applied, fmt.Errorf("store: migration %d (%s): %w", m.Version, m.Name, err)
		}
		if ran {
			applied++
		}
		current = m.Version
	}
	return applied, nil
}

// SchemaVersion returns the schema version recorded in s, or 0 for a store
// that has never been migrated. It lets startup code and diagnostics report
// the on-disk format without running migrations.
func SchemaVersion(ctx context.Context, s Store) (int, error) {
	var v int
	err := s.View(ctx, func(tx Tx) error {
		var err error
		v, err = readVersion(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return v, nil
}

// readVersion reads the schema version within tx, treating a missing record
// as version 0 (a fresh data dir).
func readVersion(tx Tx) (int, error) {
	b, err := tx.Get(MetaKind, schemaVersionKey)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(string(b))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("store: corrupt schema version %q in %s/%s", b, MetaKind, schemaVersionKey)
	}
	return v, nil
}

// validateMigrations checks the invariants Migrate relies on. It runs before
// any data is touched so that a programming error in the list can never
// leave a data dir half-migrated.
func validateMigrations(migrations []Migration) error {
	prev := 0
	for i, m := range migrations {
		switch {
		case m.Version <= 0:
			return fmt.Errorf("store: invalid migration list: entry %d (%q) has version %d; versions must be positive", i, m.Name, m.Version)
		case m.Version == prev:
			return fmt.Errorf("store: invalid migration list: duplicate version %d (%q)", m.Version, m.Name)
		case m.Version < prev:
			return fmt.Errorf("store: invalid migration list: version %d (%q) follows version %d; versions must be strictly increasing", m.Version, m.Name, prev)
		case m.Up == nil:
			return fmt.Errorf("store: invalid migration list: version %d (%q) has no Up function", m.Version, m.Name)
		}
		prev = m.Version
	}
	return nil
}
