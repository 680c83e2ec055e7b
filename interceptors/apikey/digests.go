package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"
)

// digestSlots is the number of entries of a digestCache: a power of two,
// and room for the keys in use on one node many times over.
const digestSlots = 4096

// digestCache remembers the SHA-256 of the key values the index knew,
// so that a call with a key seen before does not hash it again (a
// SHA-256 block, hex encoding and decoding: about a tenth of the whole
// policy chain's cost per call).
//
// It caches a pure function of the value, never a decision: every call
// still looks its digest up in the index, so revoking, disabling,
// deleting or re-planning a key takes effect on the next call exactly as
// without the cache. Only values the Lookup knew are added (an attacker
// sending random keys cannot fill or churn it, and only evicts an entry
// by presenting a valid key whose slot it shares); it is a fixed table
// of digestSlots entries, one per slot, which a new entry replaces, so
// its size is bounded whatever is sent. The slot is chosen with a seed
// unknown outside the process, and the value in it is compared in
// constant time: timing tells nothing about the values it holds. It
// holds recently accepted key values in memory (never elsewhere), as the
// calls carrying them did.
type digestCache struct {
	seed  maphash.Seed
	slots [digestSlots]atomic.Pointer[digestEntry]
}

// digestEntry is one value and its digest; never changed once stored.
type digestEntry struct {
	value string
	sum   [sha256.Size]byte
}

func newDigestCache() *digestCache { return &digestCache{seed: maphash.MakeSeed()} }

// digest returns the SHA-256 of value, and whether it came from the cache.
func (c *digestCache) digest(value string) (sum [sha256.Size]byte, cached bool) {
	if e := c.slot(value).Load(); e != nil && len(e.value) == len(value) &&
		subtle.ConstantTimeCompare(bytesOf(e.value), bytesOf(value)) == 1 {
		return e.sum, true
	}
	return sha256.Sum256(bytesOf(value)), false
}

// bytesOf returns the bytes of s without copying them, for functions that
// only read their input (a conversion allocates for values over 32 bytes).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// add remembers the digest of value, a key the Lookup knows.
func (c *digestCache) add(value string, sum [sha256.Size]byte) {
	// A copy: the value may share its memory with the rest of the call's
	// headers, which the entry must not keep alive.
	c.slot(value).Store(&digestEntry{value: strings.Clone(value), sum: sum})
}

// slot returns the slot of value.
func (c *digestCache) slot(value string) *atomic.Pointer[digestEntry] {
	return &c.slots[maphash.String(c.seed, value)&(digestSlots-1)]
}
