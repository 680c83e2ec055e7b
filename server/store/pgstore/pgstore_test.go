package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-gw/tollgate/internal/pgtest"
	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/pgstore"
	"github.com/tollgate-gw/tollgate/server/store/storetest"
)

// open opens a store on url, closed when the test ends.
func open(t *testing.T, url string, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pg := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pg.NewDatabase(t))
	})
}

// TestConcurrentOpenMigratesOnce opens one fresh database from several
// stores at once: the schema migrations must run exactly once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*pgstore.Store, n)
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = pgstore.Open(t.Context(), url)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, version int
	if err := conn.QueryRow(t.Context(), "SELECT count(*), max(version) FROM tollgate_schema_migrations").Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != version || rows == 0 {
		t.Fatalf("tollgate_schema_migrations has %d rows up to version %d; want each version once", rows, version)
	}
	// Data migrations work on top, once as well.
	applied := make([]int, n)
	for i := range n {
		wg.Go(func() {
			applied[i], errs[i] = store.Migrate(t.Context(), stores[i], store.Migrations)
		})
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Migrate %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if total != len(store.Migrations) {
		t.Fatalf("data migrations applied %d times in all, want %d", total, len(store.Migrations))
	}
	// Reopening migrates nothing.
	open(t, url)
	var again int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM tollgate_schema_migrations").Scan(&again); err != nil {
		t.Fatal(err)
	}
	if again != rows {
		t.Fatalf("reopening added schema migration rows: %d, want %d", again, rows)
	}
}

// changes collects what a watcher reports.
type changes struct {
	mu   sync.Mutex
	got  []store.Change
	wake chan struct{}
}

func watch(t *testing.T, s *pgstore.Store, since int64) *changes {
	t.Helper()
	c := &changes{wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, since, func(ch store.Change) {
			c.mu.Lock()
			c.got = append(c.got, ch)
			c.mu.Unlock()
			select {
			case c.wake <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Watch returned %v", err)
		}
	})
	return c
}

// waitFor waits until a reported change has at least version v.
func (c *changes) waitFor(t *testing.T, v int64) []store.Change {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		c.mu.Lock()
		got := slices.Clone(c.got)
		c.mu.Unlock()
		if n := len(got); n > 0 && got[n-1].Version >= v {
			return got
		}
		select {
		case <-c.wake:
		case <-deadline:
			t.Fatalf("no change with version %d reported; got %+v", v, got)
		}
	}
}

func put(t *testing.T, s store.Store, kind store.Kind, key string) {
	t.Helper()
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(kind, key, []byte("v")) }); err != nil {
		t.Fatalf("Put(%s, %s): %v", kind, key, err)
	}
}

func TestWatch(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	writer := open(t, url)
	reader := open(t, url)

	v0, err := reader.Version(t.Context())
	if err != nil || v0 != 0 {
		t.Fatalf("Version of a new store = %d, %v; want 0", v0, err)
	}
	put(t, writer, "apis", "before-watch") // committed before Watch starts: still reported
	c := watch(t, reader, v0)
	got := c.waitFor(t, 1)
	if want := (store.Change{Version: 1, Kinds: []store.Kind{"apis"}}); !slices.EqualFunc(got, []store.Change{want}, equalChange) {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}

	// Reads, failed updates and updates that wrote nothing are no change.
	_ = writer.View(t.Context(), func(tx store.Tx) error { _, err := tx.Get("apis", "x"); return err })
	_ = writer.Update(t.Context(), func(tx store.Tx) error {
		_ = tx.Put("apis", "rolled-back", nil)
		return errors.New("no")
	})
	_ = writer.Update(t.Context(), func(tx store.Tx) error { _, err := tx.Get("apis", "before-watch"); return err })
	err = writer.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("stages", "s", nil); err != nil {
			return err
		}
		return tx.Put("deployments", "d", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	got = c.waitFor(t, 2)
	if want := (store.Change{Version: 2, Kinds: []store.Kind{"deployments", "stages"}}); len(got) != 2 || !equalChange(got[1], want) {
		t.Fatalf("changes = %+v, want the second %+v", got, want)
	}

	// Many writes from two stores: reported in order, none lost, kinds
	// of coalesced changes merged.
	var wg sync.WaitGroup
	for w, s := range []*pgstore.Store{writer, reader} {
		wg.Go(func() {
			for i := range 50 {
				put(t, s, store.Kind("k"+strconv.Itoa(w)), strconv.Itoa(i))
			}
		})
	}
	wg.Wait()
	got = c.waitFor(t, 102)
	kinds := map[store.Kind]bool{}
	for i := 2; i < len(got); i++ {
		if got[i].Version <= got[i-1].Version {
			t.Fatalf("versions not increasing: %+v", got)
		}
		for _, k := range got[i].Kinds {
			kinds[k] = true
		}
	}
	if !kinds["k0"] || !kinds["k1"] || len(kinds) != 2 {
		t.Fatalf("kinds reported for the burst = %v, want k0 and k1", kinds)
	}
	if v, err := writer.Version(t.Context()); err != nil || v != 102 {
		t.Fatalf("Version = %d, %v; want 102", v, err)
	}
}

// TestWatchSurvivesRestart stops PostgreSQL under a watcher: writes fail
// with ErrUnavailable meanwhile, and after the restart the watcher reports
// the writes made since, without being restarted itself.
func TestWatchSurvivesRestart(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	writer := open(t, url)
	reader := open(t, url, pgstore.WithResyncInterval(200*time.Millisecond))
	c := watch(t, reader, 0)
	put(t, writer, "apis", "a")
	c.waitFor(t, 1)

	pg.Stop(t)
	err := writer.Update(t.Context(), func(tx store.Tx) error { return tx.Put("apis", "b", nil) })
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Update with the database down = %v, want ErrUnavailable", err)
	}
	if err := reader.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping with the database down = %v, want ErrUnavailable", err)
	}
	err = reader.View(t.Context(), func(tx store.Tx) error { _, err := tx.Get("apis", "a"); return err })
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("View with the database down = %v, want ErrUnavailable", err)
	}
	time.Sleep(300 * time.Millisecond) // let the watcher notice

	pg.Restart(t)
	// The first writes after the restart may race the watcher's
	// reconnection; either way they are reported.
	put(t, writer, "stages", "b")
	put(t, writer, "routes", "c")
	got := c.waitFor(t, 3)
	if err := reader.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	kinds := map[store.Kind]bool{}
	for _, ch := range got[1:] {
		for _, k := range ch.Kinds {
			kinds[k] = true
		}
	}
	if !kinds["stages"] || !kinds["routes"] {
		t.Fatalf("changes after the restart = %+v, want stages and routes", got)
	}
}

// TestWatchStopsOnClose checks that Close ends a running Watch.
func TestWatchStopsOnClose(t *testing.T) {
	pg := pgtest.Start(t)
	s, err := pgstore.Open(t.Context(), pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Watch(context.Background(), 0, func(store.Change) {}) }()
	time.Sleep(100 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Watch after Close = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch still running after Close")
	}
	if err := s.Watch(t.Context(), 0, func(store.Change) {}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Watch on a closed store = %v, want ErrClosed", err)
	}
}

func TestOpenUnavailable(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	pg.Stop(t)
	_, err := pgstore.Open(t.Context(), url)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open with the database down = %v, want ErrUnavailable", err)
	}
}

func equalChange(a, b store.Change) bool {
	return a.Version == b.Version && slices.Equal(a.Kinds, b.Kinds)
}

// TestWatchMissedPrunedChanges: a watcher that starts after the rows of
// the changes it missed were pruned (or after the store went back to an
// older version) still reports the newest version, with unknown kinds.
func TestWatchMissedPrunedChanges(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	s := open(t, url)
	put(t, s, "apis", "a")
	put(t, s, "stages", "b")
	put(t, s, "routes", "c")
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "DELETE FROM tollgate_changes WHERE version <= 2"); err != nil {
		t.Fatal(err)
	}
	got := watch(t, s, 0).waitFor(t, 3)
	if want := (store.Change{Version: 3}); len(got) != 1 || !equalChange(got[0], want) || got[0].Kinds != nil {
		t.Fatalf("changes = %+v, want one %+v with nil kinds", got, want)
	}

	// Up to date from version 2 on: nothing was pruned after it.
	got = watch(t, s, 2).waitFor(t, 3)
	if want := (store.Change{Version: 3, Kinds: []store.Kind{"routes"}}); len(got) != 1 || !equalChange(got[0], want) {
		t.Fatalf("changes since 2 = %+v, want %+v", got, want)
	}

	// A watcher ahead of the store (restored from a backup) resyncs.
	got = watch(t, s, 10).waitFor(t, 3)
	if len(got) != 1 || got[0].Version != 3 || got[0].Kinds != nil {
		t.Fatalf("changes since 10 = %+v, want version 3 with nil kinds", got)
	}
}
