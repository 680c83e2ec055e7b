package apikey

import (
	"crypto/sha256"
	"sync/atomic"
	"unsafe"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/valuememo"
)

// digestSlots is the number of entries of a digestCache: a power of two,
// and room for the keys in use on one node many times over.
const digestSlots = 4096

// digestCache remembers the SHA-256 of the key values the index knew
// (internal/valuememo), so that a call with a key seen before does not
// hash it again (a SHA-256 block, hex encoding and decoding: about a
// tenth of the whole policy chain's cost per call).
//
// It caches a pure function of the value, never a decision: every call
// still looks its digest up in the index, so revoking, disabling,
// deleting or re-planning a key takes effect on the next call exactly as
// without the cache. Only values the Lookup knew are added: an attacker
// sending random keys cannot fill or churn it, and only evicts an entry
// by presenting a valid key whose slot it shares.
type digestCache struct {
	known *valuememo.Table[[sha256.Size]byte]
}

func newDigestCache() *digestCache {
	return &digestCache{known: valuememo.New[[sha256.Size]byte](digestSlots, 0, 0)}
}

// digest returns the SHA-256 of value, and whether it came from the cache.
func (c *digestCache) digest(value string) (sum [sha256.Size]byte, cached bool) {
	if sum, ok := c.known.Get(value); ok {
		return sum, true
	}
	return sha256.Sum256(bytesOf(value)), false
}

// bytesOf returns the bytes of s without copying them, for functions that
// only read their input (a conversion allocates for values over 32 bytes).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// add remembers the digest of value, a key the Lookup knows.
func (c *digestCache) add(value string, sum [sha256.Size]byte) { c.known.Put(value, sum) }

// recordBits sets the number of entries of a recordCache.
const (
	recordBits  = 10
	recordSlots = 1 << recordBits
)

// recordCache shares the call record of a key (callinfo.APIKey) among the
// calls with the same Key and plan, rather than allocating one per call.
// An entry is used only for the very Key and plan it was made from, with
// the same name and customer ID (a Lookup replaces a Key that changes,
// and the comparison covers one that would not): a changed key or plan
// gets a new record on its next call. It is a fixed table, one entry per
// slot, which a new entry replaces.
type recordCache struct {
	slots [recordSlots]atomic.Pointer[recordEntry]
}

// recordEntry is one shared record and what it was made from.
type recordEntry struct {
	key  *Key
	plan *adminv1.UsagePlan
	rec  *callinfo.APIKey
}

// record returns the call record of key on plan.
func (c *recordCache) record(key *Key, plan *adminv1.UsagePlan) *callinfo.APIKey {
	h := uint64(uintptr(unsafe.Pointer(key)))>>4 ^ uint64(uintptr(unsafe.Pointer(plan)))>>3
	slot := &c.slots[(h*0x9E3779B97F4A7C15)>>(64-recordBits)]
	if e := slot.Load(); e != nil && e.key == key && e.plan == plan &&
		e.rec.Name == key.Name && e.rec.CustomerID == key.CustomerID && e.rec.UsagePlan == plan.GetName() {
		return e.rec
	}
	rec := &callinfo.APIKey{Name: key.Name, UsagePlan: plan.GetName(), Plan: plan, CustomerID: key.CustomerID,
		PlanBucket: callinfo.PlanBucket(key.Name, plan.GetName())}
	slot.Store(&recordEntry{key: key, plan: plan, rec: rec})
	return rec
}
