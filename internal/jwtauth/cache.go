package jwtauth

import (
	"sync"
	"sync/atomic"

	"github.com/tollgate-gw/tollgate/internal/idhash"
)

// DefaultCacheEntries bounds the verified-token cache of a Verifier when
// WithCacheEntries is not given.
const DefaultCacheEntries = 4096

// verifiedCache remembers the tokens a Verifier accepted, so that a token
// presented again is not parsed and its signature not checked again: the
// outcome of Verify depends only on the token, the key set and the time,
// and a hit checks the last two again. Tokens are keyed by their digest
// (internal/idhash: no token is kept in memory; two tokens are told apart
// by SHA-256's collision resistance). Only accepted tokens are cached.
type verifiedCache struct {
	max     int
	entries sync.Map // idhash.Digest → *verifiedToken; read without a lock
	mu      sync.Mutex
	n       atomic.Int64 // entries stored; the bound is enforced under mu
}

// verifiedToken is an accepted token's claims and the key set that
// verified its signature.
type verifiedToken struct {
	set    *keySet
	claims *Claims
}

// tokenKey returns the cache key of a token: its digest, computed in
// place (copying the token into a stack buffer first, and clearing the
// buffer, cost a tenth of a hit).
func tokenKey(token string) idhash.Digest { return idhash.String(token) }

// get returns the entry of key, if any.
func (c *verifiedCache) get(key idhash.Digest) (*verifiedToken, bool) {
	e, ok := c.entries.Load(key)
	if !ok {
		return nil, false
	}
	return e.(*verifiedToken), true
}

// put stores an entry, first evicting an arbitrary one when the cache is
// full (tokens are many and short-lived: recency is not worth a lock on
// every hit).
func (c *verifiedCache) put(key idhash.Digest, e *verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, loaded := c.entries.Swap(key, e); loaded {
		return
	}
	if c.n.Add(1) <= int64(c.max) {
		return
	}
	c.entries.Range(func(k, _ any) bool {
		if k.(idhash.Digest) == key {
			return true
		}
		c.entries.Delete(k)
		c.n.Add(-1)
		return false
	})
}

// drop removes the entry of key if it is still e.
func (c *verifiedCache) drop(key idhash.Digest, e *verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries.CompareAndDelete(key, e) {
		c.n.Add(-1)
	}
}
