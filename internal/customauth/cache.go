package customauth

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// cacheKey is the SHA-256 hash of a request's key encoding (see
// Request.appendKey). Hashing bounds an entry's size whatever the size of
// the tokens and keeps no token in memory; telling two identities apart then
// rests on SHA-256's collision resistance.
type cacheKey [sha256.Size]byte

// keyBufSize is the size of the stack buffer the key is encoded in. It holds
// a typical JSON Web Token with room to spare; a longer encoding costs one
// heap allocation per call.
const keyBufSize = 1024

// key returns the cache key of r.
func (r *Request) key() cacheKey {
	var buf [keyBufSize]byte
	return sha256.Sum256(r.appendKey(buf[:0]))
}

// appendKey appends the key encoding of r to b: the authorizer name, the
// stage, the resolved target, the generation, the type, the number of identity sources and each source's
// name and value, every string preceded by its length as a uvarint, so that
// two different tuples never have the same encoding (for example ("ab", "c")
// and ("a", "bc"), or a value containing a separator).
func (r *Request) appendKey(b []byte) []byte {
	b = appendString(b, r.AuthorizerName)
	b = appendString(b, r.Stage)
	b = appendString(b, r.Target)
	b = appendString(b, r.Generation)
	b = binary.AppendVarint(b, int64(r.Type))
	b = binary.AppendUvarint(b, uint64(len(r.IdentitySources)))
	for i, name := range r.IdentitySources {
		b = appendString(b, name)
		b = appendString(b, r.IdentityValues[i])
	}
	return b
}

// appendString appends s preceded by its length.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// entry is one cached policy.
type entry struct {
	key     cacheKey
	policy  *policy
	expires time.Time
}

// lru is a map of entries bounded to limit, evicting the least recently
// used. It is not safe for concurrent use: the Authorizer's mutex guards it.
type lru struct {
	limit   int
	entries map[cacheKey]*list.Element
	// order holds *entry values, the most recently used at the front.
	order *list.List
}

// newLRU returns an empty cache of at most limit entries.
func newLRU(limit int) *lru {
	return &lru{limit: limit, entries: make(map[cacheKey]*list.Element), order: list.New()}
}

// get returns the policy cached under key if it has not expired at now,
// marking it as recently used. An expired entry is removed.
func (c *lru) get(key cacheKey, now time.Time) (*policy, bool) {
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.policy, true
}

// put caches p under key until expires, evicting the least recently used
// entries beyond the limit.
func (c *lru) put(key cacheKey, p *policy, expires time.Time) {
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry)
		e.policy, e.expires = p, expires
		c.order.MoveToFront(el)
		return
	}
	c.entries[key] = c.order.PushFront(&entry{key: key, policy: p, expires: expires})
	for c.order.Len() > c.limit {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*entry).key)
	}
}

// clear drops every entry.
func (c *lru) clear() {
	clear(c.entries)
	c.order.Init()
}

// len returns the number of entries, expired ones included.
func (c *lru) len() int { return c.order.Len() }
