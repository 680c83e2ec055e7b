package boltstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tollgate-gw/tollgate/server/store"
)

// Interface guard: *Store must keep satisfying store.Store.
var _ store.Store = (*Store)(nil)

// DefaultLockTimeout is how long Open waits for another process to release
// the database file before giving up. It is short because the lock is held
// for the lifetime of a Tollgate process: if it is taken, waiting longer will
// rarely help, and failing fast gives the operator a clear message.
const DefaultLockTimeout = time.Second

// fileMode is the permission of a newly created database file. The store
// holds API key hashes and upstream credentials, so only the owner may read
// it.
const fileMode = 0o600

// Option configures Open.
type Option func(*config)

type config struct {
	lockTimeout time.Duration
	logger      *slog.Logger
}

// WithLockTimeout sets how long Open waits for the file lock held by another
// process (default DefaultLockTimeout). A d <= 0 keeps the default, because
// bbolt would otherwise wait forever and hang startup silently.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.lockTimeout = d
		}
	}
}

// WithLogger sets the logger for lifecycle events (open, close). By default
// nothing is logged, so that library use and tests stay quiet. A nil logger
// keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// Store is a store.Store backed by a bbolt database file. It is safe for
// concurrent use; bbolt serializes writers and lets readers run in parallel.
type Store struct {
	db   *bolt.DB
	log  *slog.Logger
	path string

	// mu guards closed and active. We track running transactions ourselves,
	// instead of relying on bbolt's internal locks, so that Close can wait
	// for them and every later call returns store.ErrClosed instead of
	// bbolt's errors (or a panic on a closed mmap).
	mu     sync.Mutex
	idle   *sync.Cond // signalled when active drops to zero
	closed bool
	active int
}

// Open opens (creating it with mode 0600 if needed) the bbolt database file
// at path. The directory must already exist: creating the data dir, with
// the right owner and permissions, is the caller's job.
//
// If another process holds the file, Open fails after the lock timeout with
// an error saying the data dir is in use; it wraps bbolt.ErrTimeout.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{
		lockTimeout: DefaultLockTimeout,
		logger:      slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	db, err := bolt.Open(path, fileMode, &bolt.Options{
		Timeout: cfg.lockTimeout,
		// The map freelist keeps allocation O(1) as the file grows and
		// fragments, which the array freelist does not.
		FreelistType: bolt.FreelistMapType,
		// NoSync must stay false: Update promises that a returned commit is
		// on disk.
		NoSync: false,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("boltstore: open %s: data dir is in use by another process (file lock not acquired within %s): %w",
				path, cfg.lockTimeout, err)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	s := &Store{db: db, log: cfg.logger, path: path}
	s.idle = sync.NewCond(&s.mu)
	s.log.Info("store opened", "path", path)
	return s, nil
}

// Path returns the path of the database file, for logs and diagnostics.
func (s *Store) Path() string {
	if s == nil {
		return ""
	}
	return s.path
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: view: %w", err)
	}
	btx, err := s.db.Begin(false)
	if err != nil {
		return fmt.Errorf("boltstore: view: begin: %w", err)
	}
	t := &tx{btx: btx}
	defer func() {
		// Rolling back a read-only tx only releases it; the error can only
		// be ErrTxClosed, which is harmless here.
		t.done = true
		_ = btx.Rollback()
	}()
	return fn(t)
}

// Update implements store.Store. The commit is fsync'd before Update
// returns, because bbolt's NoSync is left off.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: update: %w", err)
	}
	btx, err := s.db.Begin(true)
	if err != nil {
		return fmt.Errorf("boltstore: update: begin: %w", err)
	}
	t := &tx{btx: btx, writable: true}
	committed := false
	// The deferred rollback also runs while fn panics, so the write lock is
	// released and the database stays usable; the panic then continues to
	// the caller untouched (with its original stack).
	defer func() {
		t.done = true
		if !committed {
			_ = btx.Rollback()
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	// A caller that gave up (request cancelled, shutdown deadline) must not
	// see its write appear later, so check once more right before the
	// point of no return.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: update: not committed: %w", err)
	}
	// Mark the tx done before committing so a Tx leaked out of fn cannot
	// touch bbolt's state during or after the commit.
	t.done = true
	if err := btx.Commit(); err != nil {
		// bbolt rolls the transaction back itself when Commit fails.
		committed = true
		return fmt.Errorf("boltstore: update: commit: %w", err)
	}
	committed = true
	return nil
}

// Close implements store.Store. It waits for running transactions, then
// closes the database file and releases its lock. It is safe to call on a
// nil *Store (for example after a failed Open) and more than once.
func (s *Store) Close() error {
	if s == nil || s.db == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	// Set closed first so new transactions fail fast instead of queueing
	// behind a shutdown.
	s.closed = true
	for s.active > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()

	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	s.log.Info("store closed", "path", s.path)
	return nil
}

// begin registers a running transaction, or reports store.ErrClosed.
func (s *Store) begin() error {
	if s == nil || s.db == nil {
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

// end unregisters a running transaction and wakes Close when it was the
// last one.
func (s *Store) end() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}
