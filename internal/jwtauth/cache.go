package jwtauth

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
)

// DefaultCacheEntries bounds the verified-token cache of a Verifier when
// WithCacheEntries is not given.
const DefaultCacheEntries = 4096

// tokenBufSize is the size of the stack buffer a token is copied into to
// be hashed; a longer token costs one heap allocation.
const tokenBufSize = 2048

// verifiedCache remembers the tokens a Verifier accepted, so that a token
// presented again is not parsed and its signature not checked again: the
// outcome of Verify depends only on the token, the key set and the time,
// and a hit checks the last two again. Tokens are keyed by their SHA-256
// hash (no token is kept in memory; two tokens are told apart by its
// collision resistance). Only accepted tokens are cached.
type verifiedCache struct {
	max     int
	entries sync.Map // [sha256.Size]byte → *verifiedToken; read without a lock
	mu      sync.Mutex
	n       atomic.Int64 // entries stored; the bound is enforced under mu
}

// verifiedToken is an accepted token's claims and the key set that
// verified its signature.
type verifiedToken struct {
	set    *keySet
	claims *Claims
}

// tokenKey returns the cache key of a token.
func tokenKey(token string) [sha256.Size]byte {
	var buf [tokenBufSize]byte
	return sha256.Sum256(append(buf[:0], token...))
}

// get returns the entry of key, if any.
func (c *verifiedCache) get(key [sha256.Size]byte) (*verifiedToken, bool) {
	e, ok := c.entries.Load(key)
	if !ok {
		return nil, false
	}
	return e.(*verifiedToken), true
}

// put stores an entry, first evicting an arbitrary one when the cache is
// full (tokens are many and short-lived: recency is not worth a lock on
// every hit).
func (c *verifiedCache) put(key [sha256.Size]byte, e *verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, loaded := c.entries.Swap(key, e); loaded {
		return
	}
	if c.n.Add(1) <= int64(c.max) {
		return
	}
	c.entries.Range(func(k, _ any) bool {
		if k.([sha256.Size]byte) == key {
			return true
		}
		c.entries.Delete(k)
		c.n.Add(-1)
		return false
	})
}

// drop removes the entry of key if it is still e.
func (c *verifiedCache) drop(key [sha256.Size]byte, e *verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries.CompareAndDelete(key, e) {
		c.n.Add(-1)
	}
}
