package customauth

import (
	"crypto/subtle"
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/tollgate-gw/tollgate/internal/idhash"
)

const (
	// valueSlots is the number of entries of a valueDigests, a power of
	// two. There is an Authorizer per authorizer and stage, so the table
	// is small and made on first use: 8 KiB for a stage with traffic,
	// nothing for the others.
	valueSlots = 1024
	// maxRememberedValue is the longest identity value a valueDigests
	// keeps: a bearer token or an opaque session ID. Longer ones (JWTs
	// with many claims) are digested on every call, as before.
	maxRememberedValue = 256
)

// valueDigests remembers the digests of single identity values whose
// policy the cache held, so that the calls of a caller seen before do not
// digest its token again (a SHA-256 block or more: the largest part of a
// cache hit's cost). It caches a pure function of the value, never a
// decision: every call still looks its key up in the policy cache, so an
// expired or invalidated policy is found missing exactly as without it.
//
// A value is added on a cache hit only, so values sent once (a flood of
// random tokens) never enter it; whatever is sent, it is a fixed table,
// one entry per slot, which a new entry replaces: at most valueSlots
// values of at most maxRememberedValue bytes. The slot is chosen with a
// seed unknown outside the process and the value in it compared in
// constant time. It holds those recent identity values in memory, as the
// calls carrying them did; the policy cache's own entries hold digests
// only.
type valueDigests struct {
	seed  maphash.Seed
	slots atomic.Pointer[[valueSlots]atomic.Pointer[valueDigest]] // nil until a value is remembered
}

// valueDigest is one value and its digest; never changed once stored.
type valueDigest struct {
	value  string
	digest idhash.Digest
}

func newValueDigests() *valueDigests { return &valueDigests{seed: maphash.MakeSeed()} }

// digest returns the digest of value, and whether it was remembered.
func (v *valueDigests) digest(value string) (idhash.Digest, bool) {
	if slots := v.slots.Load(); slots != nil && len(value) <= maxRememberedValue {
		if e := v.slot(slots, value).Load(); e != nil && len(e.value) == len(value) &&
			subtle.ConstantTimeCompare(bytesOf(e.value), bytesOf(value)) == 1 {
			return e.digest, true
		}
	}
	return idhash.String(value), false
}

// remember keeps the digest of value, whose policy the cache holds.
func (v *valueDigests) remember(value string, d idhash.Digest) {
	if len(value) > maxRememberedValue {
		return
	}
	slots := v.slots.Load()
	if slots == nil {
		v.slots.CompareAndSwap(nil, new([valueSlots]atomic.Pointer[valueDigest]))
		slots = v.slots.Load()
	}
	// A copy: the value may share its memory with the rest of the call's
	// headers, which the entry must not keep alive.
	v.slot(slots, value).Store(&valueDigest{value: strings.Clone(value), digest: d})
}

// slot returns the slot of value in slots.
func (v *valueDigests) slot(slots *[valueSlots]atomic.Pointer[valueDigest], value string) *atomic.Pointer[valueDigest] {
	return &slots[maphash.String(v.seed, value)&(valueSlots-1)]
}

// bytesOf returns the bytes of s without copying them, for functions that
// only read their input.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
