package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-gw/tollgate/server/store"
)

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		prefix, want []byte
	}{
		{[]byte("apis/"), []byte("apis0")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\xfe\xff\xff"), []byte("a\xff")},
		{[]byte("\xff\xff"), nil},
		{[]byte{}, nil},
	}
	for _, tc := range tests {
		got := prefixEnd(tc.prefix)
		if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("prefixEnd(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	// The prefix itself is not changed.
	p := []byte("ab")
	prefixEnd(p)
	if string(p) != "ab" {
		t.Errorf("prefixEnd changed its argument to %q", p)
	}
}

func TestIsUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"admin shutdown", fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"broken connection", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"cancelled", fmt.Errorf("q: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, false},
		{"already classified", fmt.Errorf("x: %w", store.ErrUnavailable), true},
		{"other", errors.New("boom"), false},
	}
	for _, tc := range tests {
		if got := isUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: isUnavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
		if tc.want && tc.err != nil && !errors.Is(classify(tc.err), store.ErrUnavailable) {
			t.Errorf("%s: classify does not wrap ErrUnavailable", tc.name)
		}
		if !tc.want && classify(tc.err) != tc.err {
			t.Errorf("%s: classify changed an error that is not unavailability", tc.name)
		}
	}
}
