package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/server/store"
)

// Run runs the conformance suite against the implementation created by open.
//
// open is called once per subtest and must return a new, empty store; Run
// closes it when the subtest ends (Close must tolerate a second call, so open
// may also register its own cleanup). Subtests are independent and named so
// that a single one can be selected with -run.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	newStore := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		if s == nil {
			t.Fatal("open returned a nil store")
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"NotFound", testNotFound},
		{"KindsAreIsolated", testKindsAreIsolated},
		{"InvalidKey", testInvalidKey},
		{"ValuesAreCopies", testValuesAreCopies},
		{"TxSeesOwnWrites", testTxSeesOwnWrites},
		{"List", testList},
		{"ListPaging", testListPaging},
		{"Count", testCount},
		{"UpdateErrorRollsBack", testUpdateErrorRollsBack},
		{"UpdatePanicRollsBack", testUpdatePanicRollsBack},
		{"ViewPanic", testViewPanic},
		{"CancelledContext", testCancelledContext},
		{"ReadOnlyTx", testReadOnlyTx},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Closed", testClosed},
		{"CloseWaitsForTransactions", testCloseWaitsForTransactions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, newStore) })
}

// Helpers. They use t.Fatalf, so they must only be called from the test's
// own goroutine.

func put(t *testing.T, s store.Store, kind store.Kind, key string, value []byte) {
	t.Helper()
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(kind, key, value) })
	if err != nil {
		t.Fatalf("Put(%s, %q): %v", kind, key, err)
	}
}

func get(t *testing.T, s store.Store, kind store.Kind, key string) ([]byte, error) {
	t.Helper()
	var v []byte
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get(kind, key)
		return err
	})
	return v, err
}

func mustGet(t *testing.T, s store.Store, kind store.Kind, key string) []byte {
	t.Helper()
	v, err := get(t, s, kind, key)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", kind, key, err)
	}
	return v
}

func wantNotFound(t *testing.T, s store.Store, kind store.Kind, key string) {
	t.Helper()
	v, err := get(t, s, kind, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s, %q) = %q, %v; want ErrNotFound", kind, key, v, err)
	}
}

func list(t *testing.T, s store.Store, kind store.Kind, prefix, after string, limit int) []store.Record {
	t.Helper()
	var recs []store.Record
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		recs, err = tx.List(kind, prefix, after, limit)
		return err
	})
	if err != nil {
		t.Fatalf("List(%s, %q, %q, %d): %v", kind, prefix, after, limit, err)
	}
	return recs
}

func count(t *testing.T, s store.Store, kind store.Kind, prefix string) int {
	t.Helper()
	var n int
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		n, err = tx.Count(kind, prefix)
		return err
	})
	if err != nil {
		t.Fatalf("Count(%s, %q): %v", kind, prefix, err)
	}
	return n
}

func keysOf(recs []store.Record) []string {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Key
	}
	return keys
}

func testGetPutDelete(t *testing.T, s store.Store) {
	tests := []struct {
		name  string
		key   string
		value []byte
		want  []byte
	}{
		{"simple", "apis/petstore", []byte("petstore-v1"), []byte("petstore-v1")},
		{"empty value", "apis/empty", []byte{}, []byte{}},
		{"nil value is empty", "apis/nil", nil, []byte{}},
		{"binary value", "apis/bin", []byte{0, 1, 2, 0xff, 0}, []byte{0, 1, 2, 0xff, 0}},
		{"binary key", "apis/\x00\xff", []byte("x"), []byte("x")},
		{"unicode key", "apis/häuschen/日本", []byte("u"), []byte("u")},
		{"long key", "apis/" + strings.Repeat("k", 1000), []byte("long"), []byte("long")},
		{"large value", "apis/large", bytes.Repeat([]byte("0123456789"), 100_000), bytes.Repeat([]byte("0123456789"), 100_000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			put(t, s, "apis", tc.key, tc.value)
			got := mustGet(t, s, "apis", tc.key)
			if got == nil {
				t.Fatalf("Get(%q) returned a nil slice for an existing record", tc.key)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Get(%q) = %.40q, want %.40q", tc.key, got, tc.want)
			}

			put(t, s, "apis", tc.key, []byte("overwritten"))
			if got := mustGet(t, s, "apis", tc.key); string(got) != "overwritten" {
				t.Fatalf("after overwrite Get(%q) = %q, want %q", tc.key, got, "overwritten")
			}

			err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Delete("apis", tc.key) })
			if err != nil {
				t.Fatalf("Delete(%q): %v", tc.key, err)
			}
			wantNotFound(t, s, "apis", tc.key)
		})
	}
}

func testNotFound(t *testing.T, s store.Store) {
	// A kind that was never written behaves like an empty one.
	wantNotFound(t, s, "never", "x")

	put(t, s, "apis", "a", []byte("1"))
	wantNotFound(t, s, "apis", "b")
	// Neighbouring keys must not match: a prefix or an extension of an
	// existing key is a different key.
	wantNotFound(t, s, "apis", "a/")
	wantNotFound(t, s, "apis", "a\x00")
	put(t, s, "apis", "abc", []byte("2"))
	wantNotFound(t, s, "apis", "ab")

	tests := []struct {
		name string
		kind store.Kind
		key  string
	}{
		{"missing key", "apis", "zzz"},
		{"missing kind", "never", "a"},
	}
	for _, tc := range tests {
		t.Run("Delete "+tc.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Delete(tc.kind, tc.key) })
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Delete(%s, %q) = %v, want ErrNotFound", tc.kind, tc.key, err)
			}
		})
	}

	// Delete twice: the second one reports ErrNotFound inside the same tx.
	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Delete("apis", "a"); err != nil {
			return fmt.Errorf("first delete: %w", err)
		}
		if err := tx.Delete("apis", "a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("second delete = %v, want ErrNotFound", err)
		}
		if _, err := tx.Get("apis", "a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get after delete = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s, "apis", "a")
}

func testKindsAreIsolated(t *testing.T, s store.Store) {
	put(t, s, "apis", "x", []byte("api"))
	put(t, s, "routes", "x", []byte("route"))
	if got := mustGet(t, s, "apis", "x"); string(got) != "api" {
		t.Errorf("apis/x = %q, want %q", got, "api")
	}
	if got := mustGet(t, s, "routes", "x"); string(got) != "route" {
		t.Errorf("routes/x = %q, want %q", got, "route")
	}
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Delete("apis", "x") })
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "routes", "x"); string(got) != "route" {
		t.Errorf("after deleting apis/x, routes/x = %q, want %q", got, "route")
	}
	// Kind names that are prefixes of each other are still distinct.
	put(t, s, "api", "y", []byte("1"))
	if n := count(t, s, "apis", ""); n != 0 {
		t.Errorf("Count(apis) = %d, want 0", n)
	}
}

func testInvalidKey(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		op   func(tx store.Tx) error
	}{
		{"Get empty kind", func(tx store.Tx) error { _, err := tx.Get("", "k"); return err }},
		{"Get empty key", func(tx store.Tx) error { _, err := tx.Get("apis", ""); return err }},
		{"Put empty kind", func(tx store.Tx) error { return tx.Put("", "k", []byte("v")) }},
		{"Put empty key", func(tx store.Tx) error { return tx.Put("apis", "", []byte("v")) }},
		{"Delete empty kind", func(tx store.Tx) error { return tx.Delete("", "k") }},
		{"Delete empty key", func(tx store.Tx) error { return tx.Delete("apis", "") }},
		{"List empty kind", func(tx store.Tx) error { _, err := tx.List("", "", "", 0); return err }},
		{"Count empty kind", func(tx store.Tx) error { _, err := tx.Count("", ""); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opErr error
			err := s.Update(t.Context(), func(tx store.Tx) error {
				opErr = tc.op(tx)
				return nil
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if !errors.Is(opErr, store.ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", opErr)
			}
		})
	}
	if n := count(t, s, "apis", ""); n != 0 {
		t.Errorf("Count(apis) = %d after rejected writes, want 0", n)
	}
}

func testValuesAreCopies(t *testing.T, s store.Store) {
	t.Run("Put copies its argument", func(t *testing.T) {
		buf := []byte("original")
		err := s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.Put("apis", "put", buf); err != nil {
				return err
			}
			copy(buf, "XXXXXXXX") // Reuse the buffer before the commit.
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "apis", "put"); string(got) != "original" {
			t.Fatalf("stored value = %q, want %q", got, "original")
		}
	})

	t.Run("Get returns a copy", func(t *testing.T) {
		put(t, s, "apis", "get", []byte("original"))
		err := s.View(t.Context(), func(tx store.Tx) error {
			v, err := tx.Get("apis", "get")
			if err != nil {
				return err
			}
			copy(v, "XXXXXXXX")
			v2, err := tx.Get("apis", "get")
			if err != nil {
				return err
			}
			if string(v2) != "original" {
				return fmt.Errorf("after modifying a returned value, Get in the same tx = %q", v2)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "apis", "get"); string(got) != "original" {
			t.Fatalf("after modifying a returned value, Get = %q, want %q", got, "original")
		}
	})

	t.Run("List returns copies", func(t *testing.T) {
		put(t, s, "listcopy", "a", []byte("original"))
		for _, r := range list(t, s, "listcopy", "", "", 0) {
			copy(r.Value, "XXXXXXXX")
		}
		if got := mustGet(t, s, "listcopy", "a"); string(got) != "original" {
			t.Fatalf("after modifying a listed value, Get = %q, want %q", got, "original")
		}
	})

	t.Run("values outlive the transaction", func(t *testing.T) {
		want := bytes.Repeat([]byte("survivor"), 512)
		put(t, s, "apis", "survivor", want)
		got := mustGet(t, s, "apis", "survivor")
		recs := list(t, s, "apis", "survivor", "", 0)
		// Grow the store well past its current size so an engine that
		// memory-maps its file has to remap it; a value that still pointed
		// into the old mapping would now be garbage or fault.
		filler := bytes.Repeat([]byte{'f'}, 4096)
		for batch := range 4 {
			err := s.Update(t.Context(), func(tx store.Tx) error {
				for i := range 256 {
					if err := tx.Put("filler", fmt.Sprintf("%d/%04d", batch, i), filler); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatal("value returned by Get changed after the transaction ended")
		}
		if len(recs) != 1 || !bytes.Equal(recs[0].Value, want) {
			t.Fatal("value returned by List changed after the transaction ended")
		}
	})
}

func testTxSeesOwnWrites(t *testing.T, s store.Store) {
	put(t, s, "apis", "old", []byte("1"))
	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("apis", "new", []byte("2")); err != nil {
			return err
		}
		if err := tx.Delete("apis", "old"); err != nil {
			return err
		}
		if v, err := tx.Get("apis", "new"); err != nil || string(v) != "2" {
			return fmt.Errorf("Get(new) in the writing tx = %q, %v; want %q", v, err, "2")
		}
		if _, err := tx.Get("apis", "old"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Get(old) after Delete in the same tx = %v, want ErrNotFound", err)
		}
		recs, err := tx.List("apis", "", "", 0)
		if err != nil {
			return err
		}
		if got := keysOf(recs); !slices.Equal(got, []string{"new"}) {
			return fmt.Errorf("List in the writing tx = %q, want [new]", got)
		}
		if n, err := tx.Count("apis", ""); err != nil || n != 1 {
			return fmt.Errorf("Count in the writing tx = %d, %v; want 1", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// listKeys deliberately share prefixes, so that prefix matching is checked
// at byte granularity: "apis/ab" must not match the prefix "apis/a/", and
// "apis/a\x00" and "apis/a-1" sort between "apis/a" and "apis/a/" because
// ordering is byte-wise ('\x00' < '-' < '/').
var listKeys = []string{
	"api",
	"apis/a",
	"apis/a-1",
	"apis/a/routes/x",
	"apis/a/routes/y",
	"apis/a\x00",
	"apis/ab",
	"apis/ab/routes/x",
	"apis/b",
	"apis/b/routes/z",
	"apis/é",
	"apisx",
	"b",
}

// modelList is the reference implementation of Tx.List over sorted keys.
func modelList(sorted []string, prefix, after string, limit int) []string {
	var out []string
	for _, k := range sorted {
		if !strings.HasPrefix(k, prefix) || k <= after {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, k)
	}
	return out
}

func testList(t *testing.T, s store.Store) {
	// Insert in an order unrelated to the key order.
	shuffled := slices.Clone(listKeys)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, k := range shuffled {
			if err := tx.Put("apis", k, []byte("v:"+k)); err != nil {
				return err
			}
		}
		// A neighbouring kind must never leak into results.
		return tx.Put("apis2", "apis/a/routes/zz", []byte("other kind"))
	})
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(listKeys)
	slices.Sort(sorted) // Go string order is byte-wise, like the store's.

	tests := []struct {
		name          string
		prefix, after string
		limit         int
		want          []string
	}{
		{"all", "", "", 0, sorted},
		{"negative limit means all", "", "", -1, sorted},
		{"limit", "", "", 3, []string{"api", "apis/a", "apis/a\x00"}},
		{"children of apis/a only", "apis/a/", "", 0, []string{"apis/a/routes/x", "apis/a/routes/y"}},
		{"prefix without slash includes siblings", "apis/a", "", 0,
			[]string{"apis/a", "apis/a\x00", "apis/a-1", "apis/a/routes/x", "apis/a/routes/y", "apis/ab", "apis/ab/routes/x"}},
		{"children of apis/ab only", "apis/ab/", "", 0, []string{"apis/ab/routes/x"}},
		{"prefix equal to a key includes it", "apis/b", "", 0, []string{"apis/b", "apis/b/routes/z"}},
		{"after is exclusive", "apis/a/", "apis/a/routes/x", 0, []string{"apis/a/routes/y"}},
		{"after that is not a key", "apis/", "apis/a/routes/xx", 0,
			[]string{"apis/a/routes/y", "apis/ab", "apis/ab/routes/x", "apis/b", "apis/b/routes/z", "apis/é"}},
		{"after before prefix range", "apis/b", "a", 0, []string{"apis/b", "apis/b/routes/z"}},
		{"after beyond prefix range", "apis/a/", "apis/b", 0, nil},
		{"after last key", "", "b", 0, nil},
		{"after and limit", "apis/", "apis/a", 2, []string{"apis/a\x00", "apis/a-1"}},
		{"no match", "zzz", "", 0, nil},
		{"unicode prefix", "apis/é", "", 0, []string{"apis/é"}},
		{"missing kind", "", "", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind := store.Kind("apis")
			if tc.name == "missing kind" {
				kind = "never-written"
			}
			recs := list(t, s, kind, tc.prefix, tc.after, tc.limit)
			if got := keysOf(recs); !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q, %q, %d) = %q, want %q", tc.prefix, tc.after, tc.limit, got, tc.want)
			}
			for _, r := range recs {
				if string(r.Value) != "v:"+r.Key {
					t.Errorf("record %q has value %q, want %q", r.Key, r.Value, "v:"+r.Key)
				}
			}
		})
	}

	// Cross-check every combination of interesting arguments against the
	// model, which catches off-by-one errors the table may not anticipate.
	t.Run("model", func(t *testing.T) {
		bounds := append([]string{"", "a", "apis", "apis/", "apis/a", "apis/a/", "apis/a/routes/", "apis/ab", "apis/c", "c"}, listKeys...)
		for _, prefix := range bounds {
			for _, after := range bounds {
				for _, limit := range []int{0, 1, 2, 5} {
					got := keysOf(list(t, s, "apis", prefix, after, limit))
					want := modelList(sorted, prefix, after, limit)
					if !slices.Equal(got, want) {
						t.Errorf("List(%q, %q, %d) = %q, want %q", prefix, after, limit, got, want)
					}
				}
			}
		}
	})
}

func testListPaging(t *testing.T, s store.Store) {
	const n = 600
	var all []string
	for i := range n {
		k := fmt.Sprintf("apis/%04d", i)
		all = append(all, k, fmt.Sprintf("apis/%04d/routes/r", i))
	}
	all = append(all, "apir", "apit") // Just outside the prefix on both sides.
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, k := range all {
			if err := tx.Put("paging", k, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wantAll []string
	for _, k := range all {
		if strings.HasPrefix(k, "apis/") {
			wantAll = append(wantAll, k)
		}
	}
	slices.Sort(wantAll)

	for _, pageSize := range []int{1, 7, 100, 599, 600, 1199, 1200, 5000} {
		t.Run(fmt.Sprintf("page size %d", pageSize), func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > len(wantAll)+1 {
					t.Fatal("paging does not terminate")
				}
				recs := list(t, s, "paging", "apis/", after, pageSize)
				if len(recs) > pageSize {
					t.Fatalf("page has %d records, limit was %d", len(recs), pageSize)
				}
				got = append(got, keysOf(recs)...)
				if len(recs) < pageSize {
					break
				}
				after = recs[len(recs)-1].Key
			}
			if !slices.Equal(got, wantAll) {
				t.Fatalf("paging with size %d returned %d keys, want %d (first difference near %q)",
					pageSize, len(got), len(wantAll), firstDiff(got, wantAll))
			}
		})
	}

	if got := count(t, s, "paging", "apis/"); got != 2*n {
		t.Errorf("Count(apis/) = %d, want %d", got, 2*n)
	}
	// Keys "apis/0123" are listed directly before their children.
	recs := list(t, s, "paging", "apis/0123", "", 2)
	if got := keysOf(recs); !slices.Equal(got, []string{"apis/0123", "apis/0123/routes/r"}) {
		t.Errorf("List(apis/0123) = %q", got)
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i]
		}
	}
	if len(a) > len(b) {
		return a[len(b)]
	}
	if len(b) > len(a) {
		return b[len(a)]
	}
	return ""
}

func testCount(t *testing.T, s store.Store) {
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, k := range listKeys {
			if err := tx.Put("apis", k, nil); err != nil {
				return err
			}
		}
		return tx.Put("other", "apis/a", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(listKeys)
	slices.Sort(sorted)
	for _, prefix := range []string{"", "a", "api", "apis", "apis/", "apis/a", "apis/a/", "apis/ab/", "apis/é", "b", "zzz"} {
		want := len(modelList(sorted, prefix, "", 0))
		if got := count(t, s, "apis", prefix); got != want {
			t.Errorf("Count(apis, %q) = %d, want %d", prefix, got, want)
		}
	}
	if got := count(t, s, "never-written", ""); got != 0 {
		t.Errorf("Count of a missing kind = %d, want 0", got)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.Delete("apis", "apis/a") })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := count(t, s, "apis", ""), len(listKeys)-1; got != want {
		t.Errorf("Count after Delete = %d, want %d", got, want)
	}
}

// snapshot returns every record of the given kinds, to compare the whole
// visible state before and after an operation that must change nothing.
func snapshot(t *testing.T, s store.Store, kinds ...store.Kind) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range kinds {
		for _, r := range list(t, s, kind, "", "", 0) {
			out[string(kind)+"/"+r.Key] = string(r.Value)
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// failingWrites performs a mix of writes that a failed transaction must
// undo: an overwrite, a delete, an insert and a write to a new kind.
func failingWrites(tx store.Tx) error {
	if err := tx.Put("apis", "a", []byte("changed")); err != nil {
		return err
	}
	if err := tx.Delete("apis", "b"); err != nil {
		return err
	}
	if err := tx.Put("apis", "c", []byte("new")); err != nil {
		return err
	}
	return tx.Put("newkind", "x", []byte("new"))
}

func seedAB(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	put(t, s, "apis", "a", []byte("1"))
	put(t, s, "apis", "b", []byte("2"))
	return snapshot(t, s, "apis", "newkind")
}

func testUpdateErrorRollsBack(t *testing.T, s store.Store) {
	before := seedAB(t, s)
	errBoom := errors.New("boom")
	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := failingWrites(tx); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update = %v, want fn's error returned as is", err)
	}
	if after := snapshot(t, s, "apis", "newkind"); !equalMaps(before, after) {
		t.Fatalf("failed Update changed the store:\nbefore %v\nafter  %v", before, after)
	}
	if n := count(t, s, "newkind", ""); n != 0 {
		t.Fatalf("failed Update left %d records in a new kind", n)
	}
}

type panicValue struct{ msg string }

func testUpdatePanicRollsBack(t *testing.T, s store.Store) {
	before := seedAB(t, s)
	want := &panicValue{"boom"}
	func() {
		defer func() {
			if r := recover(); r != want {
				t.Errorf("recovered %v, want the panic value from fn", r)
			}
		}()
		_ = s.Update(t.Context(), func(tx store.Tx) error {
			if err := failingWrites(tx); err != nil {
				t.Errorf("writes: %v", err)
			}
			panic(want)
		})
		t.Error("Update returned normally although fn panicked")
	}()
	if after := snapshot(t, s, "apis", "newkind"); !equalMaps(before, after) {
		t.Fatalf("panicking Update changed the store:\nbefore %v\nafter  %v", before, after)
	}
	// The store must still accept writes: a leaked write lock would make
	// this Update block forever.
	put(t, s, "apis", "after-panic", []byte("ok"))
	if got := mustGet(t, s, "apis", "after-panic"); string(got) != "ok" {
		t.Fatalf("Get after panic = %q", got)
	}
}

func testViewPanic(t *testing.T, s store.Store) {
	put(t, s, "apis", "a", []byte("1"))
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("View swallowed the panic from fn")
			}
		}()
		_ = s.View(t.Context(), func(store.Tx) error { panic("boom") })
	}()
	// A leaked read transaction must not block writers or later reads.
	put(t, s, "apis", "b", []byte("2"))
	if got := mustGet(t, s, "apis", "b"); string(got) != "2" {
		t.Fatalf("Get after View panic = %q", got)
	}
}

func testCancelledContext(t *testing.T, s store.Store) {
	before := seedAB(t, s)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Unix(1, 0))
	defer cancel2()

	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline exceeded", expired, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run("Update "+tc.name, func(t *testing.T) {
			called := false
			err := s.Update(tc.ctx, func(tx store.Tx) error { called = true; return failingWrites(tx) })
			if !errors.Is(err, tc.want) {
				t.Fatalf("Update = %v, want %v", err, tc.want)
			}
			if called {
				t.Error("fn was called although ctx was already done")
			}
		})
		t.Run("View "+tc.name, func(t *testing.T) {
			called := false
			err := s.View(tc.ctx, func(store.Tx) error { called = true; return nil })
			if !errors.Is(err, tc.want) {
				t.Fatalf("View = %v, want %v", err, tc.want)
			}
			if called {
				t.Error("fn was called although ctx was already done")
			}
		})
	}

	t.Run("cancelled during fn", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := failingWrites(tx); err != nil {
				return err
			}
			cancel() // The caller gives up before the commit.
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Update = %v, want context.Canceled", err)
		}
	})

	if after := snapshot(t, s, "apis", "newkind"); !equalMaps(before, after) {
		t.Fatalf("Update with a done context changed the store:\nbefore %v\nafter  %v", before, after)
	}
}

func testReadOnlyTx(t *testing.T, s store.Store) {
	before := seedAB(t, s)
	tests := []struct {
		name string
		op   func(tx store.Tx) error
	}{
		{"Put", func(tx store.Tx) error { return tx.Put("apis", "a", []byte("changed")) }},
		{"Put new kind", func(tx store.Tx) error { return tx.Put("newkind", "x", []byte("new")) }},
		{"Delete", func(tx store.Tx) error { return tx.Delete("apis", "a") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.View(t.Context(), tc.op)
			if !errors.Is(err, store.ErrReadOnly) {
				t.Fatalf("%s in View = %v, want ErrReadOnly", tc.name, err)
			}
		})
	}
	if after := snapshot(t, s, "apis", "newkind"); !equalMaps(before, after) {
		t.Fatalf("writes in View changed the store:\nbefore %v\nafter  %v", before, after)
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	const (
		writers   = 16
		perWriter = 16
		readers   = 4
	)
	put(t, s, "meta", "counter", []byte("0"))

	// Each Update inserts one item and increments a counter read in the
	// same transaction. Lost updates show up as a wrong counter; missing
	// isolation shows up in readers as a counter that disagrees with the
	// number of items in the same snapshot.
	update := func(ctx context.Context, key string) error {
		return s.Update(ctx, func(tx store.Tx) error {
			v, err := tx.Get("meta", "counter")
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return err
			}
			if err := tx.Put("items", key, []byte(key)); err != nil {
				return err
			}
			return tx.Put("meta", "counter", []byte(strconv.Itoa(n+1)))
		})
	}
	ctx := t.Context()
	var writersWG, readersWG sync.WaitGroup
	stop := make(chan struct{})
	for r := range readers {
		readersWG.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.View(ctx, func(tx store.Tx) error {
					v, err := tx.Get("meta", "counter")
					if err != nil {
						return err
					}
					n, err := tx.Count("items", "")
					if err != nil {
						return err
					}
					if string(v) != strconv.Itoa(n) {
						return fmt.Errorf("snapshot inconsistent: counter %s but %d items", v, n)
					}
					return nil
				})
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
			}
		})
	}
	for w := range writers {
		writersWG.Go(func() {
			for i := range perWriter {
				if err := update(ctx, fmt.Sprintf("w%02d/%03d", w, i)); err != nil {
					t.Errorf("writer %d update %d: %v", w, i, err)
					return
				}
			}
		})
	}
	writersWG.Wait()
	close(stop)
	readersWG.Wait()

	const total = writers * perWriter
	if got := string(mustGet(t, s, "meta", "counter")); got != strconv.Itoa(total) {
		t.Errorf("counter = %s, want %d (lost updates)", got, total)
	}
	if got := count(t, s, "items", ""); got != total {
		t.Errorf("Count(items) = %d, want %d", got, total)
	}
	for w := range writers {
		if got := count(t, s, "items", fmt.Sprintf("w%02d/", w)); got != perWriter {
			t.Errorf("writer %d has %d items, want %d", w, got, perWriter)
		}
	}
}

func testClosed(t *testing.T, s store.Store) {
	put(t, s, "apis", "a", []byte("1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	called := false
	fn := func(store.Tx) error { called = true; return nil }
	if err := s.View(t.Context(), fn); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close = %v, want ErrClosed", err)
	}
	if err := s.Update(t.Context(), fn); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if called {
		t.Error("fn was called after Close")
	}
	if _, err := store.Migrate(t.Context(), s, store.Migrations); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Migrate after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func testCloseWaitsForTransactions(t *testing.T, s store.Store) {
	put(t, s, "apis", "a", []byte("1"))
	inView := make(chan struct{})
	release := make(chan struct{})
	viewErr := make(chan error, 1)
	go func() {
		viewErr <- s.View(context.Background(), func(tx store.Tx) error {
			close(inView)
			<-release
			// Close has been called by now; the transaction must still be
			// fully usable until fn returns.
			v, err := tx.Get("apis", "a")
			if err != nil {
				return fmt.Errorf("Get in a transaction running during Close: %w", err)
			}
			if string(v) != "1" {
				return fmt.Errorf("Get in a transaction running during Close = %q", v)
			}
			return nil
		})
	}()
	<-inView
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	// Give Close a moment to start waiting. This is not an assertion: the
	// test passes either way when Close waits correctly, it only makes a
	// Close that does not wait more likely to be caught.
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-closeErr:
		t.Fatalf("Close returned (%v) while a transaction was still running", err)
	default:
	}
	close(release)
	if err := <-viewErr; err != nil {
		t.Fatal(err)
	}
	if err := <-closeErr; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.View(t.Context(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("View after Close = %v, want ErrClosed", err)
	}
}
