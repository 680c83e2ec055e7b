package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-gw/tollgate/server/store"
)

// DefaultResyncInterval is how often Watch checks for changes when no
// notification arrives. Notifications normally arrive within milliseconds;
// the check only covers a connection that died without an error.
const DefaultResyncInterval = 5 * time.Second

// Reconnection delays of Watch after losing its connection: doubling from
// the first to the last, so a database that comes back is noticed within
// a second.
const (
	reconnectMin = 50 * time.Millisecond
	reconnectMax = time.Second
)

// Version implements store.Watcher.
func (s *Store) Version(ctx context.Context) (int64, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	var v int64
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM tollgate_changes").Scan(&v); err != nil {
		return 0, fmt.Errorf("pgstore: read the version: %w", classify(err))
	}
	return v, nil
}

// Watch implements store.Watcher with LISTEN on a connection of its own.
// While the database is unreachable it reconnects (every second at most),
// logging once when the connection is lost and once when it is back.
func (s *Store) Watch(ctx context.Context, since int64, fn func(store.Change)) error {
	if err := s.begin(); err != nil {
		return err
	}
	// Watch runs for the life of the store, so it is not counted as a
	// running transaction that Close waits for; Close stops it instead.
	s.end()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	w := &watcher{s: s, last: since, fn: fn}
	delay := reconnectMin
	lost := false
	for {
		err := w.listen(ctx, func() {
			if lost {
				s.log.Info("store change feed reconnected", "store", "postgres", "version", w.last)
				lost = false
			}
			delay = reconnectMin
		})
		select {
		case <-s.done:
			return store.ErrClosed
		default:
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !lost {
			s.log.Warn("store change feed lost its connection; retrying (this process keeps its current configuration meanwhile)",
				"store", "postgres", "error", err)
			lost = true
		}
		select {
		case <-ctx.Done():
			continue // reported above on the next pass
		case <-time.After(delay):
		}
		delay = min(2*delay, reconnectMax)
	}
}

// watcher is the state of one Watch call.
type watcher struct {
	s    *Store
	last int64 // the last version reported to fn
	fn   func(store.Change)
}

// listen connects, listens, catches up, and then reports changes as they
// are notified, until the connection fails or ctx is done. connected is
// called once the listener is in place and caught up.
func (w *watcher) listen(ctx context.Context, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, w.s.connCfg.Copy())
	if err != nil {
		return classify(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return classify(err)
	}
	// Listening before reading: a change committed from now on is
	// notified, and one committed before is read here.
	if err := w.sync(ctx, conn); err != nil {
		return err
	}
	connected()
	for {
		wctx, cancel := context.WithTimeout(ctx, w.s.cfg.resyncInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			// The payload is the version; one already reported (an
			// earlier read saw it) needs no query.
			if v, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil && v <= w.last {
				continue
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// No notification for a while: check anyway (this also
			// proves the connection still works).
		default:
			return classify(err)
		}
		if err := w.sync(ctx, conn); err != nil {
			return err
		}
	}
}

// sync reads the changes after the last reported version and reports them
// in one call of fn.
func (w *watcher) sync(ctx context.Context, conn *pgx.Conn) error {
	var newest int64
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM tollgate_changes").Scan(&newest); err != nil {
		return classify(err)
	}
	switch {
	case newest == w.last:
		return nil
	case newest < w.last:
		// The version went back: the database was restored or
		// replaced. What changed is unknown.
		w.s.log.Warn("store version went back; reloading everything", "store", "postgres", "was", w.last, "now", newest)
		w.report(store.Change{Version: newest})
		return nil
	}
	rows, err := conn.Query(ctx, "SELECT version, kinds FROM tollgate_changes WHERE version > $1 AND version <= $2 ORDER BY version", w.last, newest)
	if err != nil {
		return classify(err)
	}
	var kinds []store.Kind
	next := w.last + 1
	complete := true
	for rows.Next() {
		var v int64
		var ks []string
		if err := rows.Scan(&v, &ks); err != nil {
			rows.Close()
			return classify(err)
		}
		if v != next {
			complete = false // pruned before we read them
		}
		next = v + 1
		for _, k := range ks {
			kinds = append(kinds, store.Kind(k))
		}
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if next != newest+1 {
		complete = false
	}
	ch := store.Change{Version: newest}
	if complete {
		slices.Sort(kinds)
		ch.Kinds = slices.Compact(kinds)
		if ch.Kinds == nil {
			ch.Kinds = []store.Kind{}
		}
	}
	w.report(ch)
	return nil
}

// report hands ch to fn and remembers its version.
func (w *watcher) report(ch store.Change) {
	w.last = ch.Version
	w.fn(ch)
}
