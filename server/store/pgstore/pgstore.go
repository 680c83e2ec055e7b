package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-gw/tollgate/server/store"
)

// Interface guards.
var (
	_ store.Store   = (*Store)(nil)
	_ store.Watcher = (*Store)(nil)
	_ store.Pinger  = (*Store)(nil)
)

// Advisory lock keys. Advisory locks are per database, so processes sharing
// a database share them, and other applications in the same database are
// unlikely to pick the same numbers ("tollgate" in ASCII, plus one).
const (
	writeLockKey   int64 = 0x746f6c6c67617465
	migrateLockKey int64 = writeLockKey + 1
)

// DefaultConnectTimeout bounds establishing a connection when the URL sets
// no connect_timeout, so that a database that is down fails a request
// within seconds instead of whenever TCP gives up.
const DefaultConnectTimeout = 5 * time.Second

// rollbackTimeout bounds the rollback of a failed or abandoned transaction,
// which runs even when the caller's context is done.
const rollbackTimeout = 5 * time.Second

// Option configures Open.
type Option func(*config)

type config struct {
	logger         *slog.Logger
	resyncInterval time.Duration
	maxConns       int32
}

// WithLogger sets the logger for lifecycle events (open, migrations, the
// change feed losing and regaining its connection). By default nothing is
// logged. A nil logger keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithResyncInterval sets how often [Store.Watch] checks for changes when no
// notification arrives (default DefaultResyncInterval). It is a safety net
// for a connection that died silently; notifications normally arrive at
// once. A d <= 0 keeps the default.
func WithResyncInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.resyncInterval = d
		}
	}
}

// WithMaxConns sets the size of the connection pool, unless the URL sets
// pool_max_conns. A n <= 0 keeps pgxpool's default (the larger of 4 and the
// number of CPUs).
func WithMaxConns(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConns = int32(n)
		}
	}
}

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	cfg  config
	log  *slog.Logger
	// connCfg is the configuration Watch connects its listener with.
	connCfg *pgx.ConnConfig

	// done is closed by Close, stopping watchers.
	done chan struct{}

	// mu guards closed and active, so that Close waits for running
	// transactions and later calls fail with store.ErrClosed.
	mu     sync.Mutex
	idle   *sync.Cond
	closed bool
	active int
}

// Open connects to the PostgreSQL database at url (postgres:// or
// postgresql://, with any of libpq's parameters, e.g. sslmode or
// search_path), applies the schema migrations that are missing, and returns
// the store. Open fails (with an error wrapping store.ErrUnavailable) when
// the database cannot be reached: a process should not start without its
// configuration.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg := config{logger: slog.New(slog.DiscardHandler), resyncInterval: DefaultResyncInterval}
	for _, o := range opts {
		o(&cfg)
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password from the URL it quotes.
		return nil, fmt.Errorf("pgstore: parse the database URL: %w", err)
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.maxConns > 0 && !hasParam(url, "pool_max_conns") {
		pcfg.MaxConns = cfg.maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", classify(err))
	}
	s := &Store{pool: pool, cfg: cfg, log: cfg.logger, connCfg: pcfg.ConnConfig.Copy(), done: make(chan struct{})}
	s.idle = sync.NewCond(&s.mu)
	applied, err := s.migrateSchema(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.log.Info("store opened", "store", "postgres", "host", pcfg.ConnConfig.Host, "port", pcfg.ConnConfig.Port,
		"database", pcfg.ConnConfig.Database, "schema_migrations_applied", applied)
	return s, nil
}

// View implements store.Store: fn runs in a REPEATABLE READ, READ ONLY
// transaction, one snapshot of the whole store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: view: %w", err)
	}
	ptx, err := s.beginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("pgstore: view: begin: %w", err)
	}
	t := &tx{ctx: ctx, ptx: ptx}
	defer func() {
		// Ending a read-only transaction only releases it; a broken
		// connection is dropped by the pool.
		t.done = true
		rollback(ptx)
	}()
	return fn(t)
}

// Update implements store.Store: fn runs in a READ COMMITTED transaction
// holding the store's write lock, so read-write transactions run one at a
// time across every process sharing the database.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: update: %w", err)
	}
	ptx, err := s.beginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("pgstore: update: begin: %w", err)
	}
	committed := false
	t := &tx{ctx: ctx, ptx: ptx, writable: true}
	// The deferred rollback also runs while fn panics, releasing the lock
	// and the connection; the panic continues to the caller untouched.
	defer func() {
		t.done = true
		if !committed {
			rollback(ptx)
		}
	}()
	if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", writeLockKey); err != nil {
		return fmt.Errorf("pgstore: update: take the write lock: %w", classify(err))
	}
	if err := fn(t); err != nil {
		return err
	}
	t.done = true
	if len(t.kinds) > 0 {
		if err := recordChange(ctx, ptx, t.kindList()); err != nil {
			return fmt.Errorf("pgstore: update: record the change: %w", err)
		}
	}
	// A caller that gave up (request cancelled, shutdown deadline) must not
	// see its write appear later, so check once more right before the
	// point of no return.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: update: not committed: %w", err)
	}
	committed = true
	if err := ptx.Commit(ctx); err != nil {
		rollback(ptx)
		return fmt.Errorf("pgstore: update: commit: %w", classify(err))
	}
	return nil
}

// beginTx starts a transaction on a pooled connection. A connection that
// broke while idle (the server restarted) fails the first statement; since
// nothing has run yet, beginning once more on a fresh connection is safe.
func (s *Store) beginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	ptx, err := s.pool.BeginTx(ctx, opts)
	if err != nil && ctx.Err() == nil && isUnavailable(err) {
		ptx, err = s.pool.BeginTx(ctx, opts)
	}
	if err != nil {
		return nil, classify(err)
	}
	return ptx, nil
}

// rollback ends ptx, even when the caller's context is done.
func rollback(ptx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	_ = ptx.Rollback(ctx)
}

// Ping implements store.Pinger: it checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", classify(err))
	}
	return nil
}

// Close implements store.Store: it stops the watchers, waits for running
// transactions and closes the connections. It is safe to call on a nil
// *Store and more than once.
func (s *Store) Close() error {
	if s == nil || s.pool == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for s.active > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	s.pool.Close()
	s.log.Info("store closed", "store", "postgres")
	return nil
}

// begin registers a running operation, or reports store.ErrClosed.
func (s *Store) begin() error {
	if s == nil || s.pool == nil {
		return store.ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.active++
	return nil
}

// end unregisters a running operation and wakes Close when it was the last.
func (s *Store) end() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// errAfterDone is the error of a Tx used after its transaction ended.
var errAfterDone = errors.New("pgstore: transaction already finished")
