// Package pgstore is a [store.Store] on PostgreSQL, for running several
// Tollgate processes on one configuration (pgx v5).
//
// Records live in one table, tollgate_records (kind text, key bytea, value
// bytea, primary key (kind, key)). Keys are bytea rather than text because
// the store's keys are arbitrary bytes (PostgreSQL text can hold neither NUL
// nor invalid UTF-8) and because bytea compares byte-wise, which is the
// order [store.Tx.List] promises, whatever the database's collation.
//
// Transactions. Every [Store.Update] starts by taking one transaction-level
// advisory lock (pg_advisory_xact_lock), so read-write transactions run one
// at a time across every process sharing the database, exactly like the
// embedded store's single writer: fn is never re-run, and a read followed by
// a write in fn cannot lose an update. It runs at READ COMMITTED, so its
// statements see everything committed before the lock was granted.
// [Store.View] runs at REPEATABLE READ, READ ONLY: one consistent snapshot,
// never blocked by writers. An Update returns after PostgreSQL's commit,
// which is durable with the server's default synchronous_commit=on.
//
// Change feed. Each committed Update that wrote something also appends a row
// to tollgate_changes (version, kinds written) in the same transaction, with
// version = previous + 1 (gap-free, since writers are serialized), and sends
// NOTIFY tollgate_changes with the version. [Store.Watch] listens on a
// connection of its own; a notification (or, as a safety net, a periodic
// check) makes it read the rows after the last version it reported, so a
// missed notification, a dropped connection or a restarted server never
// loses or reorders a change. Old rows are pruned, keeping the last
// [changesKept]; a watcher that fell further behind reports its catch-up
// with unknown kinds.
//
// Schema. The tables are created and changed by versioned SQL migrations
// recorded in tollgate_schema_migrations, applied by [Open] while holding a
// session advisory lock, so processes starting together migrate once. The
// data migrations of [store.Migrate] run on top, as on any store.
//
// Errors. A server that cannot be reached, a broken connection or a server
// shutting down yield errors wrapping [store.ErrUnavailable].
package pgstore
