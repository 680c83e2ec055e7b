package boltstore

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/storetest"
)

// openTemp opens a store in a fresh temporary data dir and closes it when
// the test ends.
func openTemp(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(t.Context(), s, store.Migrations); err != nil {
		t.Fatal(err)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("apis", "petstore", []byte("v1")); err != nil {
			return err
		}
		if err := tx.Put("apis", "gone", []byte("x")); err != nil {
			return err
		}
		return tx.Put("routes", "petstore/list", []byte{})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.Delete("apis", "gone") })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	err = s.View(t.Context(), func(tx store.Tx) error {
		if v, err := tx.Get("apis", "petstore"); err != nil || string(v) != "v1" {
			t.Errorf("apis/petstore = %q, %v; want v1", v, err)
		}
		if v, err := tx.Get("routes", "petstore/list"); err != nil || v == nil || len(v) != 0 {
			t.Errorf("routes/petstore/list = %#v, %v; want an empty value", v, err)
		}
		if _, err := tx.Get("apis", "gone"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted key: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The schema version persisted too, so migrating again is a no-op.
	if n, err := store.Migrate(t.Context(), s, store.Migrations); err != nil || n != 0 {
		t.Fatalf("Migrate after reopen = %d, %v; want 0, nil", n, err)
	}
}

func TestOpenWhileOpenFailsFast(t *testing.T) {
	_, path := openTemp(t)
	const timeout = 100 * time.Millisecond
	start := time.Now()
	s2, err := Open(path, WithLockTimeout(timeout))
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a file that is already open succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("error %q does not say the data dir is in use", err)
	}
	if !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("error %q does not wrap bbolt's timeout error", err)
	}
	// Generous bound: only catches waiting for the default or forever.
	if elapsed > 5*time.Second {
		t.Errorf("Open took %v with a lock timeout of %v", elapsed, timeout)
	}
	// Close after a failed Open must be safe.
	if err := s2.Close(); err != nil {
		t.Errorf("Close after failed Open = %v", err)
	}
}

func TestOpenMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "tollgate.db")
	s, err := Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open created a missing data dir; creating it is the caller's job")
	}
	if !strings.HasPrefix(err.Error(), "boltstore: open ") {
		t.Errorf("error %q lacks the boltstore prefix", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %q does not wrap os.ErrNotExist", err)
	}
}

func TestFileMode(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode = %v, want 0600", perm)
	}
}

func TestCloseNilAndZero(t *testing.T) {
	var nilStore *Store
	if err := nilStore.Close(); err != nil {
		t.Errorf("Close on nil *Store = %v", err)
	}
	if err := nilStore.View(t.Context(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View on nil *Store = %v, want ErrClosed", err)
	}
	var zero Store
	if err := zero.Update(t.Context(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update on zero Store = %v, want ErrClosed", err)
	}
	if err := zero.Close(); err != nil {
		t.Errorf("Close on zero Store = %v", err)
	}
}

func TestTxUseAfterEnd(t *testing.T) {
	s, _ := openTemp(t)
	var leaked store.Tx
	err := s.Update(t.Context(), func(tx store.Tx) error {
		leaked = tx
		return tx.Put("apis", "a", []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaked.Get("apis", "a"); err == nil {
		t.Error("Get on a finished transaction succeeded")
	}
	if err := leaked.Put("apis", "b", nil); err == nil {
		t.Error("Put on a finished transaction succeeded")
	}
	if _, err := leaked.List("apis", "", "", 0); err == nil {
		t.Error("List on a finished transaction succeeded")
	}
	err = s.View(t.Context(), func(tx store.Tx) error { leaked = tx; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaked.Count("apis", ""); !errors.Is(err, bolt.ErrTxClosed) {
		t.Errorf("Count on a finished read transaction = %v, want ErrTxClosed", err)
	}
}

func TestErrorMessages(t *testing.T) {
	s, _ := openTemp(t)
	err := s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.Get("apis", "x")
		return err
	})
	if want := "boltstore: get apis/x: store: not found"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	err = s.View(t.Context(), func(tx store.Tx) error { return tx.Put("apis", "x", nil) })
	if want := "boltstore: put apis/x: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want prefix %q", err, want)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put("apis", strings.Repeat("k", bolt.MaxKeySize+1), nil)
	})
	if !errors.Is(err, bolt.ErrKeyTooLarge) {
		t.Errorf("oversized key: %v, want ErrKeyTooLarge", err)
	}
}

func TestDatabaseConsistentAfterUse(t *testing.T) {
	s, _ := openTemp(t)
	for i := range 50 {
		err := s.Update(t.Context(), func(tx store.Tx) error {
			for j := range 20 {
				key := string(rune('a'+j)) + "/" + string(rune('a'+i%26))
				if err := tx.Put("apis", key, bytes.Repeat([]byte{byte(i)}, 100*j)); err != nil {
					return err
				}
			}
			if i%3 == 0 {
				return tx.Delete("apis", "a/"+string(rune('a'+i%26)))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	checkConsistent(t, s.db)
}

// checkConsistent runs bbolt's own page-level consistency check.
func checkConsistent(t *testing.T, db *bolt.DB) {
	t.Helper()
	err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt consistency check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWithLogger(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s, err := Open(path, WithLogger(logger), WithLogger(nil), WithLockTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "store opened") || !strings.Contains(out, "store closed") {
		t.Errorf("log output %q lacks open/close events", out)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
}
