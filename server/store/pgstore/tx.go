package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-gw/tollgate/server/store"
)

// tx adapts a PostgreSQL transaction to store.Tx.
type tx struct {
	ctx      context.Context
	ptx      pgx.Tx
	writable bool
	// done is set when the transaction has ended, so that a Tx that
	// escaped its fn fails with an error.
	done bool
	// kinds are the kinds written, recorded in the change feed.
	kinds map[store.Kind]struct{}
}

var _ store.Tx = (*tx)(nil)

// Get implements store.Tx.
func (t *tx) Get(kind store.Kind, key string) ([]byte, error) {
	if err := t.check("get", kind, key, false); err != nil {
		return nil, err
	}
	var v []byte
	err := t.ptx.QueryRow(t.ctx, "SELECT value FROM tollgate_records WHERE kind = $1 AND key = $2", string(kind), []byte(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get %s/%s: %w", kind, key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get %s/%s: %w", kind, key, classify(err))
	}
	return nonNil(v), nil
}

// Put implements store.Tx.
func (t *tx) Put(kind store.Kind, key string, value []byte) error {
	if err := t.check("put", kind, key, true); err != nil {
		return err
	}
	// pgx encodes a nil slice as NULL; the store keeps it as empty. pgx
	// sends the bytes before Exec returns, so the caller may reuse value.
	_, err := t.ptx.Exec(t.ctx, `INSERT INTO tollgate_records (kind, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value`, string(kind), []byte(key), nonNil(value))
	if err != nil {
		return fmt.Errorf("pgstore: put %s/%s: %w", kind, key, classify(err))
	}
	t.wrote(kind)
	return nil
}

// Delete implements store.Tx.
func (t *tx) Delete(kind store.Kind, key string) error {
	if err := t.check("delete", kind, key, true); err != nil {
		return err
	}
	tag, err := t.ptx.Exec(t.ctx, "DELETE FROM tollgate_records WHERE kind = $1 AND key = $2", string(kind), []byte(key))
	if err != nil {
		return fmt.Errorf("pgstore: delete %s/%s: %w", kind, key, classify(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete %s/%s: %w", kind, key, store.ErrNotFound)
	}
	t.wrote(kind)
	return nil
}

// List implements store.Tx.
func (t *tx) List(kind store.Kind, prefix, after string, limit int) ([]store.Record, error) {
	if err := t.checkKind("list", kind); err != nil {
		return nil, err
	}
	where, args := keyRange(kind, prefix, after)
	q := "SELECT key, value FROM tollgate_records WHERE " + where + " ORDER BY key"
	if limit > 0 {
		args = append(args, limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}
	rows, err := t.ptx.Query(t.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list %s: %w", kind, classify(err))
	}
	var out []store.Record
	if limit > 0 {
		out = make([]store.Record, 0, min(limit, 256))
	}
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: list %s: %w", kind, classify(err))
		}
		out = append(out, store.Record{Key: string(k), Value: nonNil(v)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list %s: %w", kind, classify(err))
	}
	return out, nil
}

// Count implements store.Tx.
func (t *tx) Count(kind store.Kind, prefix string) (int, error) {
	if err := t.checkKind("count", kind); err != nil {
		return 0, err
	}
	where, args := keyRange(kind, prefix, "")
	var n int
	if err := t.ptx.QueryRow(t.ctx, "SELECT count(*) FROM tollgate_records WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count %s: %w", kind, classify(err))
	}
	return n, nil
}

// keyRange returns the WHERE clause (and its arguments) selecting the keys
// of kind that start with prefix and sort after after, as a range on the
// primary key so that the index serves it.
func keyRange(kind store.Kind, prefix, after string) (string, []any) {
	var b strings.Builder
	args := []any{string(kind)}
	b.WriteString("kind = $1")
	if prefix != "" {
		args = append(args, []byte(prefix))
		fmt.Fprintf(&b, " AND key >= $%d", len(args))
		if end := prefixEnd([]byte(prefix)); end != nil {
			args = append(args, end)
			fmt.Fprintf(&b, " AND key < $%d", len(args))
		}
	}
	if after != "" {
		args = append(args, []byte(after))
		fmt.Fprintf(&b, " AND key > $%d", len(args))
	}
	return b.String(), args
}

// prefixEnd returns the smallest byte string greater than every string
// starting with prefix, or nil when there is none (prefix is all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := slices.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// wrote records that the transaction wrote to kind.
func (t *tx) wrote(kind store.Kind) {
	if t.kinds == nil {
		t.kinds = make(map[store.Kind]struct{}, 2)
	}
	t.kinds[kind] = struct{}{}
}

// kindList returns the kinds written, sorted.
func (t *tx) kindList() []string {
	out := make([]string, 0, len(t.kinds))
	for k := range t.kinds {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}

// check validates the transaction state and the kind and key shared by
// Get, Put and Delete.
func (t *tx) check(op string, kind store.Kind, key string, write bool) error {
	if err := t.checkKind(op, kind); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("pgstore: %s %s: empty key: %w", op, kind, store.ErrInvalidKey)
	}
	if write && !t.writable {
		return fmt.Errorf("pgstore: %s %s/%s: %w", op, kind, key, store.ErrReadOnly)
	}
	return nil
}

// checkKind validates the transaction state and the kind.
func (t *tx) checkKind(op string, kind store.Kind) error {
	if t.done {
		return fmt.Errorf("%w (%s %s)", errAfterDone, op, kind)
	}
	if kind == "" {
		return fmt.Errorf("pgstore: %s: empty kind: %w", op, store.ErrInvalidKey)
	}
	return nil
}

// nonNil returns b, or an empty slice for nil: a record that exists has a
// non-nil value, even when it is empty.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
