package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate-gw/tollgate/server/store"
	"github.com/tollgate-gw/tollgate/server/store/boltstore"
	"github.com/tollgate-gw/tollgate/server/store/pgstore"
)

// dbFileName is the name of the database file inside the data dir.
const dbFileName = "tollgate.db"

// storeOpenTimeout bounds connecting to (and migrating) a PostgreSQL store
// at startup.
const storeOpenTimeout = 30 * time.Second

// Config.Store values other than URLs.
const storeBolt = "bolt"

// isPostgresURL reports whether the store setting names PostgreSQL.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// validateStore checks Config.Store without connecting. Its errors never
// quote the URL, which may hold a password.
func validateStore(s string) error {
	switch {
	case s == "" || s == storeBolt:
		return nil
	case isPostgresURL(s):
		u, err := url.Parse(s)
		if err != nil {
			return errors.New("the PostgreSQL URL does not parse; expected postgres://user@host:5432/database")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return errors.New("the PostgreSQL URL has no host; expected postgres://user@host:5432/database")
		}
		return nil
	}
	return errors.New(`must be "bolt" (the embedded store in --data-dir, the default) or a PostgreSQL URL starting with postgres:// or postgresql://`)
}

// openStore opens the store Config.Store selects, and returns it with a
// description for logs (never the URL, which may hold a password).
func (s *Server) openStore() (store.Store, string, error) {
	if !isPostgresURL(s.cfg.Store) {
		path := filepath.Join(s.cfg.DataDir, dbFileName)
		st, err := boltstore.Open(path, boltstore.WithLogger(s.log))
		if err != nil {
			return nil, "", err
		}
		return st, path, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	st, err := pgstore.Open(ctx, s.cfg.Store, pgstore.WithLogger(s.log))
	if err != nil {
		return nil, "", err
	}
	return st, "postgres", nil
}

// storePingTimeout bounds the store check of /readyz.
const storePingTimeout = 500 * time.Millisecond

// storeHealth reports whether the store answers: nil for an embedded store,
// else the result of a short ping.
func (s *Server) storeHealth(ctx context.Context) error {
	p, ok := s.store.(store.Pinger)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, storePingTimeout)
	defer cancel()
	if err := p.Ping(ctx); err != nil {
		return fmt.Errorf("store unavailable: %w", err)
	}
	return nil
}
