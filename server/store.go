package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// readyWithStore answers /readyz of a serving process with the store's
// state. A node whose shared store is down still serves its last
// configuration, so it stays ready (200, saying the store is unavailable)
// unless the probe asks with ?require=store (503): that form suits the
// admin port, whose writes fail meanwhile. The cause is logged, not
// shown: /readyz needs no token.
func (s *Server) readyWithStore(w http.ResponseWriter, r *http.Request) {
	err := s.storeHealth(r.Context())
	switch {
	case err == nil:
		probe(w, r, http.StatusOK, "ok")
	case r.URL.Query().Get("require") == "store":
		s.log.Debug("readiness probe: store unavailable", "error", err)
		probe(w, r, http.StatusServiceUnavailable, "store unavailable")
	default:
		s.log.Debug("readiness probe: store unavailable", "error", err)
		probe(w, r, http.StatusOK, "ok (store unavailable: serving the last configuration)")
	}
}
