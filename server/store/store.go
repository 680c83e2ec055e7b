package store

import (
	"context"
	"errors"
)

// Kind names one collection of records, for example "apis", "routes" or
// "apiKeyHashes". Keys are unique within a kind, so the same resource name may
// be used in different kinds without clashing. Kinds starting with "_" are
// reserved for the store package itself.
type Kind string

// Errors shared by all implementations. Implementations wrap them with
// context (for example "boltstore: get apis/x: store: not found"), so callers
// must test for them with [errors.Is], never with ==.
var (
	// ErrNotFound is returned when a key does not exist. Callers map it to a
	// gRPC NotFound status, which is why it is a sentinel rather than a nil
	// value: an existing record may legitimately hold an empty value.
	ErrNotFound = errors.New("store: not found")

	// ErrClosed is returned by every method once [Store.Close] has been
	// called, so that late requests during shutdown fail cleanly instead of
	// panicking inside the storage engine.
	ErrClosed = errors.New("store: closed")

	// ErrReadOnly is returned when Put or Delete is called on the Tx of a
	// [Store.View]. It exists so that such a programming error is caught
	// loudly and identically by every implementation.
	ErrReadOnly = errors.New("store: write in read-only transaction")

	// ErrInvalidKey is returned when a kind or key is empty. Empty names are
	// always a caller bug (an unset resource name), and rejecting them keeps
	// implementations from disagreeing about whether "" is a valid key.
	ErrInvalidKey = errors.New("store: empty kind or key")

	// ErrUnavailable is returned when the store cannot be reached, for
	// example when the PostgreSQL server of a networked store is down or
	// the connection to it broke. The request may succeed when retried
	// later, which is why callers map it to a gRPC UNAVAILABLE status. When
	// it comes from the commit of an Update, the outcome of that write is
	// unknown. The embedded store never returns it.
	ErrUnavailable = errors.New("store: unavailable")
)

// Record is one key and its value, as returned by [Tx.List]. Value is owned
// by the caller and remains valid after the transaction ends.
type Record struct {
	// Key is the record's key within its kind.
	Key string
	// Value is a copy of the stored bytes; it is never nil for a record that
	// exists, even when the stored value is empty.
	Value []byte
}

// Store is a transactional key-value store holding Tollgate's resources.
//
// Implementations must be safe for concurrent use by multiple goroutines.
// Transactions must not be nested: calling View, Update or Close from inside
// fn may deadlock, because an embedded engine allows only one writer at a
// time and Close waits for running transactions.
type Store interface {
	// View runs fn in a read-only transaction that sees a consistent
	// snapshot of the store. The error returned by fn is returned unchanged.
	// If ctx is already done, fn is not called and the context's error is
	// returned (wrapped).
	View(ctx context.Context, fn func(Tx) error) error

	// Update runs fn in a read-write transaction. When fn returns nil the
	// transaction is committed durably (fsync'd before Update returns), so an
	// acknowledged write survives a crash. When fn returns an error, panics,
	// or ctx is done before the commit, nothing is changed; the error from fn
	// is returned unchanged, a panic is propagated, and a done ctx yields the
	// context's error (wrapped).
	Update(ctx context.Context, fn func(Tx) error) error

	// Close waits for running transactions to finish and releases the store.
	// After Close every method returns ErrClosed. Close is safe to call more
	// than once; later calls return nil.
	Close() error
}

// Tx is a transaction handed to the fn of [Store.View] or [Store.Update]. A
// Tx is only valid until fn returns and must not be used from other
// goroutines.
type Tx interface {
	// Get returns the value stored under key in kind, or an error wrapping
	// ErrNotFound. The returned slice is a copy that stays valid after the
	// transaction ends.
	Get(kind Kind, key string) ([]byte, error)

	// Put stores value under key in kind, replacing any previous value. A nil
	// value is stored as an empty value. The value is copied, so the caller
	// may reuse the slice immediately. Put fails with ErrReadOnly in a
	// read-only transaction.
	Put(kind Kind, key string, value []byte) error

	// Delete removes key from kind. It returns an error wrapping ErrNotFound
	// when the key does not exist, so callers can report NotFound without a
	// separate Get, and ErrReadOnly in a read-only transaction.
	Delete(kind Kind, key string) error

	// List returns, in ascending byte-wise key order, up to limit records of
	// kind whose key starts with prefix and sorts strictly after after (""
	// means from the start). A limit <= 0 means no limit. Passing the last
	// key of one page as after of the next call pages through a kind. A kind
	// that was never written yields no records and no error.
	List(kind Kind, prefix, after string, limit int) ([]Record, error)

	// Count returns the number of keys of kind that start with prefix.
	Count(kind Kind, prefix string) (int, error)
}

// Change is what a [Watcher] reports: one or more write transactions
// committed to the store since the previous Change.
type Change struct {
	// Version is the store's version after the change. Versions increase
	// by one with every committed Update that wrote something, so a Watcher
	// reports them in commit order.
	Version int64
	// Kinds lists, sorted and without duplicates, the kinds written since
	// the previous Change. Nil means the watcher cannot tell (changes were
	// missed for too long, or the store was restored from a backup): treat
	// everything as changed.
	Kinds []Kind
}

// Watcher is implemented by stores that several Tollgate processes share,
// so that each of them learns about the writes of the others.
type Watcher interface {
	// Version returns the store's current version: the version of the last
	// committed Update that wrote something, 0 for a store never written.
	// Read it before reading what a process caches, then pass it to Watch,
	// and no change is missed between the two.
	Version(ctx context.Context) (int64, error)

	// Watch calls fn for the changes committed after version since, until
	// ctx is done or the store is closed, and then returns ctx's error or
	// ErrClosed. Calls are made one at a time, in commit order, with
	// increasing versions (a lower one, with nil Kinds, only when the store
	// was restored from an older backup); changes that commit while fn runs
	// are coalesced into the next call. Watch keeps trying while the store is
	// unavailable and, once it is back, reports what it missed in one call.
	Watch(ctx context.Context, since int64, fn func(Change)) error
}

// Pinger is implemented by stores that can be unreachable (a database
// server), for readiness probes.
type Pinger interface {
	// Ping returns nil when the store answers, or an error wrapping
	// ErrUnavailable when it does not.
	Ping(ctx context.Context) error
}
