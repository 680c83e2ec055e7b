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
