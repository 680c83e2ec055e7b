package boltstore

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/tollgate-gw/tollgate/server/store"
)

// tx adapts a bbolt transaction to store.Tx.
type tx struct {
	btx      *bolt.Tx
	writable bool
	// done is set when the transaction has ended. bbolt may panic or read
	// unmapped memory when a finished Tx is used, so a Tx that escaped its
	// fn fails with an error instead.
	done bool
}

var _ store.Tx = (*tx)(nil)

// Get implements store.Tx.
func (t *tx) Get(kind store.Kind, key string) ([]byte, error) {
	if err := t.check("get", kind, key, false); err != nil {
		return nil, err
	}
	b := t.btx.Bucket([]byte(kind))
	if b == nil {
		return nil, fmt.Errorf("boltstore: get %s/%s: %w", kind, key, store.ErrNotFound)
	}
	// Seek rather than Bucket.Get: Get cannot tell a missing key from a
	// present key whose value is empty, and empty values are allowed.
	k, v := b.Cursor().Seek([]byte(key))
	if k == nil || string(k) != key {
		return nil, fmt.Errorf("boltstore: get %s/%s: %w", kind, key, store.ErrNotFound)
	}
	return clone(v), nil
}

// Put implements store.Tx.
func (t *tx) Put(kind store.Kind, key string, value []byte) error {
	if err := t.check("put", kind, key, true); err != nil {
		return err
	}
	b, err := t.btx.CreateBucketIfNotExists([]byte(kind))
	if err != nil {
		return fmt.Errorf("boltstore: put %s/%s: create bucket: %w", kind, key, err)
	}
	// bbolt keeps a reference to value until the commit, so copy it: the
	// caller may reuse its buffer as soon as Put returns.
	if err := b.Put([]byte(key), clone(value)); err != nil {
		return fmt.Errorf("boltstore: put %s/%s: %w", kind, key, err)
	}
	return nil
}

// Delete implements store.Tx.
func (t *tx) Delete(kind store.Kind, key string) error {
	if err := t.check("delete", kind, key, true); err != nil {
		return err
	}
	b := t.btx.Bucket([]byte(kind))
	if b == nil {
		return fmt.Errorf("boltstore: delete %s/%s: %w", kind, key, store.ErrNotFound)
	}
	// bbolt's Delete silently ignores missing keys, but the interface
	// promises ErrNotFound, so look first.
	k, _ := b.Cursor().Seek([]byte(key))
	if k == nil || string(k) != key {
		return fmt.Errorf("boltstore: delete %s/%s: %w", kind, key, store.ErrNotFound)
	}
	if err := b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("boltstore: delete %s/%s: %w", kind, key, err)
	}
	return nil
}

// List implements store.Tx.
func (t *tx) List(kind store.Kind, prefix, after string, limit int) ([]store.Record, error) {
	if err := t.checkKind("list", kind); err != nil {
		return nil, err
	}
	b := t.btx.Bucket([]byte(kind))
	if b == nil {
		return nil, nil
	}
	p := []byte(prefix)
	// Start at whichever bound is later: the first key with the prefix or
	// the cursor key. A cursor key below the prefix range is irrelevant,
	// and one above it correctly yields nothing.
	start := p
	if after > prefix {
		start = []byte(after)
	}
	c := b.Cursor()
	k, v := c.Seek(start)
	if k != nil && after != "" && string(k) == after {
		k, v = c.Next()
	}
	var out []store.Record
	if limit > 0 {
		// Cap the up-front allocation: callers pass generous page sizes.
		out = make([]store.Record, 0, min(limit, 256))
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, store.Record{Key: string(k), Value: clone(v)})
	}
	return out, nil
}

// Count implements store.Tx.
func (t *tx) Count(kind store.Kind, prefix string) (int, error) {
	if err := t.checkKind("count", kind); err != nil {
		return 0, err
	}
	b := t.btx.Bucket([]byte(kind))
	if b == nil {
		return 0, nil
	}
	n := 0
	p := []byte(prefix)
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		n++
	}
	return n, nil
}

// check validates the transaction state and the kind and key shared by
// Get, Put and Delete.
func (t *tx) check(op string, kind store.Kind, key string, write bool) error {
	if err := t.checkKind(op, kind); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("boltstore: %s %s: empty key: %w", op, kind, store.ErrInvalidKey)
	}
	if write && !t.writable {
		return fmt.Errorf("boltstore: %s %s/%s: %w", op, kind, key, store.ErrReadOnly)
	}
	return nil
}

// checkKind validates the transaction state and the kind.
func (t *tx) checkKind(op string, kind store.Kind) error {
	if t.done {
		return fmt.Errorf("boltstore: %s %s: transaction already finished: %w", op, kind, bolt.ErrTxClosed)
	}
	if kind == "" {
		return fmt.Errorf("boltstore: %s: empty kind: %w", op, store.ErrInvalidKey)
	}
	return nil
}

// clone returns a copy of b that is never nil, so an empty stored value is
// distinguishable from "no value" and survives the end of the transaction.
func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}
