package customauth

import (
	"container/list"
	"encoding/binary"
	"maps"
	"slices"
	"time"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/idhash"
)

// cacheKey identifies a cached policy. The parts of a request's key that
// are configuration, the same for every caller (authorizer name, stage,
// target, generation, type and identity source names), are interned as a
// scope number; only the identity values, which differ per caller, are
// digested (internal/idhash, SHA-256 based), on every call but for the
// short values valueDigests remembers. Digesting bounds an entry's size
// whatever the size of the tokens and keeps no token in the cache; telling two identities apart then rests on SHA-256's
// collision resistance (128 bits), telling two scopes apart on the exact
// comparison of their encodings when they are interned.
type cacheKey struct {
	scope  uint64
	digest idhash.Digest
}

// keyBufSize is the size of the stack buffer a scope, or the identity
// values of a request with more than one, are encoded in. It holds a
// typical JSON Web Token with room to spare; a longer encoding costs one
// heap allocation.
const keyBufSize = 1024

// maxScopes bounds the interned scopes of an Authorizer. A gateway has a
// few per authorizer (one per deployment it served, two for WebSocket
// upgrades, whose key has the Origin too): beyond the bound the table
// starts again empty, with new numbers, so entries of forgotten scopes are
// never matched again and age out of the LRU.
const maxScopes = 256

// scopeTable maps a scope encoding (see Request.appendScope) to the
// scope. A table is never modified once published.
type scopeTable map[string]*scope

// scope is one interned scope: its fields, as in a Request, and its
// number.
type scope struct {
	name, stage, target, generation string
	typ                             datav1.AuthorizeRequest_Type
	sources                         []string
	id                              uint64
}

// matches reports whether r has this scope. It compares what appendScope
// encodes; the strings of a compiled configuration are usually the very
// same, which makes the comparison cheaper than encoding and hashing.
func (s *scope) matches(r *Request) bool {
	return s.name == r.AuthorizerName && s.stage == r.Stage && s.target == r.Target &&
		s.generation == r.Generation && s.typ == r.Type && slices.Equal(s.sources, r.IdentitySources)
}

// key returns the cache key of r, interning its scope on first use, and
// whether its digest needs no remembering (see valueDigests): it came
// from there, or r has several identity values, which are not kept.
func (a *Authorizer) key(r *Request) (cacheKey, bool) {
	sc := a.last.Load()
	if sc == nil || !sc.matches(r) {
		sc = a.scopeOf(r)
		a.last.Store(sc)
	}
	if len(r.IdentityValues) == 1 {
		d, known := a.values.digest(r.IdentityValues[0])
		return cacheKey{scope: sc.id, digest: d}, known
	}
	return cacheKey{scope: sc.id, digest: r.digest()}, true
}

// remember keeps the digest of r's identity value once the cache held a
// policy for it (known is key's second result).
func (a *Authorizer) remember(r *Request, key cacheKey, known bool) {
	if !known {
		a.values.remember(r.IdentityValues[0], key.digest)
	}
}

// scopeOf returns the interned scope of r, interning it if it is new. Kept
// apart from key so that a call whose scope is the last one's does not
// clear the encoding buffer.
func (a *Authorizer) scopeOf(r *Request) *scope {
	var buf [keyBufSize]byte
	b := r.appendScope(buf[:0])
	if sc, ok := (*a.scopes.Load())[string(b)]; ok {
		return sc
	}
	return a.intern(r, b)
}

// digest returns the digest of r's identity values. The scope fixes their
// number, so a single value is digested as it is, in place (no copy, no
// buffer to clear: for a token of a few hundred bytes that was a tenth of
// a cache hit); several are digested in their length-prefixed encoding
// (see appendValues), so that two different lists never have the same
// input.
func (r *Request) digest() idhash.Digest {
	if len(r.IdentityValues) == 1 {
		return idhash.String(r.IdentityValues[0])
	}
	return r.digestList()
}

// digestList is digest for any number of values.
func (r *Request) digestList() idhash.Digest {
	var buf [keyBufSize]byte
	return idhash.Bytes(r.appendValues(buf[:0]))
}

// intern returns the scope of r, whose encoding is enc, adding it to the
// table (copied, so that lookups stay lock-free).
func (a *Authorizer) intern(r *Request, enc []byte) *scope {
	a.scopeMu.Lock()
	defer a.scopeMu.Unlock()
	old := *a.scopes.Load()
	if sc, ok := old[string(enc)]; ok {
		return sc
	}
	next := make(scopeTable, len(old)+1)
	if len(old) < maxScopes {
		maps.Copy(next, old)
	}
	a.lastScope++
	sc := &scope{
		name: r.AuthorizerName, stage: r.Stage, target: r.Target, generation: r.Generation,
		typ: r.Type, sources: slices.Clone(r.IdentitySources), id: a.lastScope,
	}
	next[string(enc)] = sc
	a.scopes.Store(&next)
	return sc
}

// appendScope appends the encoding of r's scope to b: the authorizer
// name, the stage, the resolved target, the generation, the type, the
// number of identity sources and their names, every string preceded by
// its length as a uvarint, so that two different tuples never have the
// same encoding (for example ("ab", "c") and ("a", "bc"), or a value
// containing a separator).
func (r *Request) appendScope(b []byte) []byte {
	b = appendString(b, r.AuthorizerName)
	b = appendString(b, r.Stage)
	b = appendString(b, r.Target)
	b = appendString(b, r.Generation)
	b = binary.AppendVarint(b, int64(r.Type))
	b = binary.AppendUvarint(b, uint64(len(r.IdentitySources)))
	for _, name := range r.IdentitySources {
		b = appendString(b, name)
	}
	return b
}

// appendValues appends the identity values of r to b, each preceded by its
// length (their number is the scope's).
func (r *Request) appendValues(b []byte) []byte {
	for _, v := range r.IdentityValues {
		b = appendString(b, v)
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
	key    cacheKey
	policy *policy
	// expires is when the entry expires, on the Authorizer's clock.
	expires time.Duration
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
func (c *lru) get(key cacheKey, now time.Duration) (*policy, bool) {
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if now >= e.expires {
		c.order.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.policy, true
}

// put caches p under key until expires, evicting the least recently used
// entries beyond the limit.
func (c *lru) put(key cacheKey, p *policy, expires time.Duration) {
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
