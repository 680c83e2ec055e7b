package customauth

import (
	"github.com/tollgate-gw/tollgate/internal/idhash"
	"github.com/tollgate-gw/tollgate/internal/valuememo"
)

const (
	// valueSlots is the number of entries of a valueDigests, a power of
	// two. There is an Authorizer per authorizer and stage, so the table
	// is small and made on first use: 8 KiB for a stage with traffic,
	// nothing for the others.
	valueSlots = 1024
	// maxRememberedValue is the longest identity value a valueDigests
	// keeps: a bearer token, an opaque session ID, a JWT with many
	// claims. Longer ones are digested on every call.
	maxRememberedValue = 8 << 10
	// rememberedBytes bounds the values a valueDigests holds in all: as
	// many as a table full of 256-byte tokens, so that long tokens do not
	// raise its worst case (1,024 slots of 8 KiB would be 8 MiB an
	// authorizer and stage). Room for 200 distinct 1,200-byte tokens.
	rememberedBytes = valueSlots * 256
)

// valueDigests remembers the digests of single identity values whose
// policy the cache held (internal/valuememo), so that the calls of a
// caller seen before do not digest its token again (a SHA-256 block or
// more: the largest part of a cache hit's cost). It caches a pure
// function of the value, never a decision: every call still looks its key
// up in the policy cache, so an expired or invalidated policy is found
// missing exactly as without it.
//
// A value is added on a cache hit only, so values sent once (a flood of
// random tokens) never enter it; at most valueSlots values of at most
// maxRememberedValue bytes, rememberedBytes in all. The policy cache's own
// entries hold digests only.
type valueDigests struct {
	known *valuememo.Table[idhash.Digest]
}

func newValueDigests() *valueDigests {
	return &valueDigests{known: valuememo.New[idhash.Digest](valueSlots, maxRememberedValue, rememberedBytes)}
}

// digest returns the digest of value, and whether it was remembered.
func (v *valueDigests) digest(value string) (idhash.Digest, bool) {
	if d, ok := v.known.Get(value); ok {
		return d, true
	}
	return idhash.String(value), false
}

// remember keeps the digest of value, whose policy the cache holds.
func (v *valueDigests) remember(value string, d idhash.Digest) { v.known.Put(value, d) }
