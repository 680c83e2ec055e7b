package server_test

import (
	"strings"
	"testing"

	"github.com/tollgate-gw/tollgate/server"
)

// TestConfigStore: --store accepts bolt or a PostgreSQL URL, and its
// errors never quote the URL, which may hold a password.
func TestConfigStore(t *testing.T) {
	tests := []struct {
		store string
		ok    bool
	}{
		{"", true},
		{"bolt", true},
		{"postgres://tollgate@db.internal:5432/tollgate?sslmode=require", true},
		{"postgresql://tollgate:secret@10.0.0.5/tollgate", true},
		{"postgres:///tollgate?host=/var/run/postgresql", true},
		{"postgres:///tollgate", false},
		{"postgres://tollgate:secret@db:notaport/tollgate", false},
		{"mysql://tollgate:secret@db/tollgate", false},
		{"Bolt", false},
	}
	for _, tc := range tests {
		t.Run(tc.store, func(t *testing.T) {
			err := server.Config{Store: tc.store}.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "store: ") {
					t.Errorf("error %q does not name the setting", err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
			}
		})
	}
}
