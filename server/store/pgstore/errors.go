package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-gw/tollgate/server/store"
)

// classify wraps err with store.ErrUnavailable when it says the database
// cannot be reached or the connection broke, and returns it unchanged
// otherwise (SQL errors, context errors).
func classify(err error) error {
	if err == nil || !isUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// isUnavailable reports whether err means the database is unreachable,
// shutting down or refusing connections, rather than a problem with the
// statement itself. Context errors are the caller's, not the database's.
func isUnavailable(err error) bool {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err != nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		case pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	// pgx reports a connection it closed after an earlier failure as
	// "conn closed" without a typed error.
	return strings.Contains(err.Error(), "conn closed")
}

// hasParam reports whether the connection URL sets the query parameter
// name.
func hasParam(raw, name string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has(name)
}
