package store

import (
	"strings"
	"testing"
)

// The behaviour of Migrate against a real store is covered by the
// conformance suite in package storetest; these tests cover what needs no
// store at all.

func TestProductMigrationsAreValid(t *testing.T) {
	if err := validateMigrations(Migrations); err != nil {
		t.Fatalf("store.Migrations is invalid: %v", err)
	}
	if len(Migrations) == 0 || Migrations[0].Version != 1 {
		t.Fatal("store.Migrations must start at version 1")
	}
	for _, m := range Migrations {
		if m.Name == "" {
			t.Errorf("migration %d has no name", m.Version)
		}
	}
}

func TestValidateMigrations(t *testing.T) {
	noop := func(Tx) error { return nil }
	tests := []struct {
		name    string
		ms      []Migration
		wantErr string
	}{
		{"empty", nil, ""},
		{"gaps allowed", []Migration{{Version: 1, Up: noop}, {Version: 5, Up: noop}}, ""},
		{"unordered", []Migration{{Version: 2, Up: noop}, {Version: 1, Up: noop}}, "strictly increasing"},
		{"duplicate", []Migration{{Version: 1, Up: noop}, {Version: 1, Up: noop}}, "duplicate version 1"},
		{"zero", []Migration{{Version: 0, Up: noop}}, "must be positive"},
		{"nil Up", []Migration{{Version: 1, Name: "x"}}, "no Up function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validateMigrations(tc.ms)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestMigrateValidatesBeforeTouchingStore(t *testing.T) {
	// A nil Store would panic if Migrate used it, proving the list is
	// checked first.
	_, err := Migrate(t.Context(), nil, []Migration{{Version: 2}, {Version: 1}})
	if err == nil {
		t.Fatal("Migrate accepted an unordered list")
	}
}

// Migration 2 derives the key → plan index from membership names alone.
func TestIndexAPIKeyPlans(t *testing.T) {
	tx := &mapTx{recs: map[string][]Record{"usagePlanKeys": {
		{Key: "usagePlans/gold/keys/acme"}, {Key: "usagePlans/silver/keys/acme"}, {Key: "usagePlans/gold/keys/zed"}, {Key: "usagePlans/odd"},
	}}, puts: map[string]bool{}}
	if err := indexAPIKeyPlans(tx); err != nil {
		t.Fatal(err)
	}
	want := []string{"apiKeys/acme|usagePlans/gold", "apiKeys/acme|usagePlans/silver", "apiKeys/zed|usagePlans/gold"}
	if len(tx.puts) != len(want) {
		t.Fatalf("index = %v, want %v", tx.puts, want)
	}
	for _, k := range want {
		if !tx.puts[string(APIKeyPlansKind)+"/"+k] {
			t.Errorf("index lacks %s (has %v)", k, tx.puts)
		}
	}
}

// mapTx is a Tx over fixed records that records Puts.
type mapTx struct {
	recs map[string][]Record
	puts map[string]bool
}

func (m *mapTx) Get(Kind, string) ([]byte, error) { return nil, ErrNotFound }
func (m *mapTx) Put(kind Kind, key string, _ []byte) error {
	m.puts[string(kind)+"/"+key] = true
	return nil
}
func (m *mapTx) Delete(Kind, string) error { return ErrNotFound }
func (m *mapTx) List(kind Kind, prefix, _ string, _ int) ([]Record, error) {
	var out []Record
	for _, r := range m.recs[string(kind)] {
		if strings.HasPrefix(r.Key, prefix) {
			out = append(out, r)
		}
	}
	return out, nil
}
func (m *mapTx) Count(Kind, string) (int, error) { return 0, nil }
