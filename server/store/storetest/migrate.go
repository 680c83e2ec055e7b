package storetest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate-gw/tollgate/server/store"
)

// migrationLog records which migrations ran, in order, and builds test
// migrations that leave a visible trace in the store.
type migrationLog struct {
	ran []int
}

// step returns a migration that records itself and writes the record
// "migtest/<version>", so tests can see both the call order and whether the
// migration's writes were committed.
func (l *migrationLog) step(version int) store.Migration {
	return store.Migration{
		Version: version,
		Name:    "step " + strconv.Itoa(version),
		Up: func(tx store.Tx) error {
			l.ran = append(l.ran, version)
			return tx.Put("migtest", strconv.Itoa(version), []byte("applied"))
		},
	}
}

// failing returns a migration that writes, then fails with err.
func (l *migrationLog) failing(version int, err error) store.Migration {
	m := l.step(version)
	up := m.Up
	m.Up = func(tx store.Tx) error {
		if e := up(tx); e != nil {
			return e
		}
		return err
	}
	return m
}

func (l *migrationLog) steps(versions ...int) []store.Migration {
	var ms []store.Migration
	for _, v := range versions {
		ms = append(ms, l.step(v))
	}
	return ms
}

func wantVersion(t *testing.T, s store.Store, want int) {
	t.Helper()
	got, err := store.SchemaVersion(t.Context(), s)
	if err != nil {
		t.Fatalf("SchemaVersion: %v", err)
	}
	if got != want {
		t.Fatalf("schema version = %d, want %d", got, want)
	}
}

func migrate(t *testing.T, s store.Store, ms []store.Migration, wantApplied int) {
	t.Helper()
	applied, err := store.Migrate(t.Context(), s, ms)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if applied != wantApplied {
		t.Fatalf("Migrate applied %d migrations, want %d", applied, wantApplied)
	}
}

// testMigrate runs the Migrate scenarios, each on a fresh store. They live
// in the conformance suite because Migrate's all-or-nothing guarantee rests
// on the implementation's Update semantics.
func testMigrate(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("AppliesInOrder", func(t *testing.T) {
		s := newStore(t)
		wantVersion(t, s, 0)
		var log migrationLog
		migrate(t, s, log.steps(1, 2, 5), 3)
		if want := []int{1, 2, 5}; !slices.Equal(log.ran, want) {
			t.Fatalf("ran %v, want %v", log.ran, want)
		}
		wantVersion(t, s, 5)
		for _, v := range []string{"1", "2", "5"} {
			if _, err := get(t, s, "migtest", v); err != nil {
				t.Errorf("record written by migration %s: %v", v, err)
			}
		}

		// Running the same list again is a no-op.
		log.ran = nil
		migrate(t, s, log.steps(1, 2, 5), 0)
		if len(log.ran) != 0 {
			t.Fatalf("second run ran %v, want nothing", log.ran)
		}
		wantVersion(t, s, 5)

		// A longer list (the next release) applies only the new steps.
		log.ran = nil
		migrate(t, s, log.steps(1, 2, 5, 6, 8), 2)
		if want := []int{6, 8}; !slices.Equal(log.ran, want) {
			t.Fatalf("ran %v, want %v", log.ran, want)
		}
		wantVersion(t, s, 8)
	})

	t.Run("FailingMigrationChangesNothing", func(t *testing.T) {
		s := newStore(t)
		var log migrationLog
		errBoom := errors.New("boom")
		ms := []store.Migration{log.step(1), log.failing(2, errBoom), log.step(3)}
		applied, err := store.Migrate(t.Context(), s, ms)
		if !errors.Is(err, errBoom) {
			t.Fatalf("Migrate = %v, want an error wrapping the migration's error", err)
		}
		if !strings.Contains(err.Error(), "migration 2") {
			t.Errorf("error %q does not name the failing migration", err)
		}
		if applied != 1 {
			t.Errorf("applied = %d, want 1 (the step before the failure)", applied)
		}
		if want := []int{1, 2}; !slices.Equal(log.ran, want) {
			t.Fatalf("ran %v, want %v (nothing after the failure)", log.ran, want)
		}
		wantVersion(t, s, 1)
		if _, err := get(t, s, "migtest", "2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("write of the failed migration is visible (Get error %v)", err)
		}

		// Once fixed, the failed step and the ones after it are applied.
		log.ran = nil
		migrate(t, s, log.steps(1, 2, 3), 2)
		if want := []int{2, 3}; !slices.Equal(log.ran, want) {
			t.Fatalf("retry ran %v, want %v", log.ran, want)
		}
		wantVersion(t, s, 3)
	})

	t.Run("RefusesNewerVersion", func(t *testing.T) {
		s := newStore(t)
		var log migrationLog
		migrate(t, s, log.steps(1, 2, 3), 3)
		for _, ms := range [][]store.Migration{log.steps(1, 2), nil} {
			log.ran = nil
			applied, err := store.Migrate(t.Context(), s, ms)
			if !errors.Is(err, store.ErrSchemaTooNew) {
				t.Fatalf("Migrate with %d known steps = %v, want ErrSchemaTooNew", len(ms), err)
			}
			if !strings.Contains(err.Error(), "newer Tollgate") {
				t.Errorf("error %q does not say the data dir was written by a newer Tollgate", err)
			}
			if applied != 0 || len(log.ran) != 0 {
				t.Errorf("applied %d, ran %v; want nothing", applied, log.ran)
			}
			wantVersion(t, s, 3)
		}
	})

	t.Run("RejectsInvalidList", func(t *testing.T) {
		s := newStore(t)
		var log migrationLog
		noop := func(store.Tx) error { return nil }
		tests := []struct {
			name string
			ms   []store.Migration
		}{
			{"unordered", []store.Migration{log.step(2), log.step(1)}},
			{"duplicate", []store.Migration{log.step(1), log.step(1)}},
			{"duplicate after gap", []store.Migration{log.step(1), log.step(3), log.step(3)}},
			{"zero version", []store.Migration{{Version: 0, Up: noop}, log.step(1)}},
			{"negative version", []store.Migration{{Version: -1, Up: noop}}},
			{"nil Up", []store.Migration{log.step(1), {Version: 2, Name: "no up"}}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				log.ran = nil
				applied, err := store.Migrate(t.Context(), s, tc.ms)
				if err == nil {
					t.Fatal("Migrate accepted an invalid migration list")
				}
				if applied != 0 || len(log.ran) != 0 {
					t.Fatalf("applied %d, ran %v; an invalid list must be rejected before anything runs", applied, log.ran)
				}
				wantVersion(t, s, 0)
			})
		}
	})

	t.Run("EmptyList", func(t *testing.T) {
		s := newStore(t)
		migrate(t, s, nil, 0)
		wantVersion(t, s, 0)
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		var log migrationLog
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		applied, err := store.Migrate(ctx, s, log.steps(1, 2))
		if !errors.Is(err, context.Canceled) || applied != 0 || len(log.ran) != 0 {
			t.Fatalf("Migrate with a cancelled context = %d, %v (ran %v); want context.Canceled and nothing applied", applied, err, log.ran)
		}
		wantVersion(t, s, 0)
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Several goroutines migrating the same store (for example two
		// services starting at once) must apply each step exactly once.
		s := newStore(t)
		var mu sync.Mutex
		runs := map[int]int{}
		var ms []store.Migration
		for v := 1; v <= 5; v++ {
			ms = append(ms, store.Migration{Version: v, Name: "counted", Up: func(tx store.Tx) error {
				mu.Lock()
				runs[v]++
				mu.Unlock()
				return tx.Put("migtest", strconv.Itoa(v), nil)
			}})
		}
		var wg sync.WaitGroup
		var total atomic.Int64
		for range 8 {
			wg.Go(func() {
				applied, err := store.Migrate(t.Context(), s, ms)
				if err != nil {
					t.Errorf("Migrate: %v", err)
				}
				total.Add(int64(applied))
			})
		}
		wg.Wait()
		for v := 1; v <= 5; v++ {
			if runs[v] != 1 {
				t.Errorf("migration %d committed %d times, want 1", v, runs[v])
			}
		}
		if total.Load() != 5 {
			t.Errorf("applied counts sum to %d, want 5", total.Load())
		}
		wantVersion(t, s, 5)
	})

	t.Run("ProductMigrations", func(t *testing.T) {
		// The product's own list must be valid and apply cleanly to an
		// empty store with this implementation.
		s := newStore(t)
		migrate(t, s, store.Migrations, len(store.Migrations))
		wantVersion(t, s, store.Migrations[len(store.Migrations)-1].Version)
		migrate(t, s, store.Migrations, 0)
	})
}
