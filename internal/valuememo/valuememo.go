package valuememo

import (
	"crypto/subtle"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Table remembers a result of type R for each of up to a fixed number of
// recent values. The zero Table is not usable; make one with New. It is
// safe for concurrent use.
type Table[R any] struct {
	seed   maphash.Seed
	mask   uint64
	maxLen int
	// maxBytes bounds the remembered values' bytes in total (0: no bound
	// beyond slots × maxLen); held counts them.
	maxBytes int64
	held     atomic.Int64
	// slots is made by the first Put: a table that never remembers a
	// value (an authorizer without traffic) costs nothing.
	slots atomic.Pointer[[]atomic.Pointer[entry[R]]]
}

// entry is one value and its result; never changed once stored.
type entry[R any] struct {
	value  string
	result R
}

// New returns a Table of slots entries (a power of two) that remembers
// values of at most maxLen bytes (0: any length) and at most maxBytes
// bytes of values in all (0: no bound but slots × maxLen). A budget below
// slots × maxLen lets a table take the occasional long value (a large
// token) without reserving room for a table full of them: once the
// budget is spent, a value that needs more room than its slot's old one
// frees is not remembered until others make room.
func New[R any](slots, maxLen, maxBytes int) *Table[R] {
	if slots <= 0 || slots&(slots-1) != 0 {
		panic("valuememo: the number of slots must be a power of two")
	}
	return &Table[R]{seed: maphash.MakeSeed(), mask: uint64(slots - 1), maxLen: maxLen, maxBytes: int64(maxBytes)}
}

// Get returns the result remembered for value, and whether there was one.
func (t *Table[R]) Get(value string) (R, bool) {
	if slots := t.slots.Load(); slots != nil && t.fits(value) {
		if e := t.slot(*slots, value).Load(); e != nil && equal(e.value, value) {
			return e.result, true
		}
	}
	var zero R
	return zero, false
}

// Put remembers result for value, replacing what its slot held; a value
// longer than the Table's limit is not remembered.
func (t *Table[R]) Put(value string, result R) {
	if !t.fits(value) {
		return
	}
	slots := t.slots.Load()
	if slots == nil {
		made := make([]atomic.Pointer[entry[R]], t.mask+1)
		t.slots.CompareAndSwap(nil, &made)
		slots = t.slots.Load()
	}
	slot := t.slot(*slots, value)
	old := slot.Load()
	// Bytes are reserved before the entry is stored and given back after
	// the old one left, so the values held never exceed the budget.
	need := int64(len(value))
	if old != nil {
		need -= int64(len(old.value))
	}
	if need > 0 && !t.reserve(need) {
		return
	}
	// A copy: the value may share its memory with the rest of the call's
	// headers, which the entry must not keep alive.
	if !slot.CompareAndSwap(old, &entry[R]{value: strings.Clone(value), result: result}) {
		// Another Put took the slot first: a cache may lose this one.
		if need > 0 {
			t.held.Add(-need)
		}
		return
	}
	if need < 0 {
		t.held.Add(need)
	}
}

// reserve counts need more bytes held, or reports that the budget cannot
// take them.
func (t *Table[R]) reserve(need int64) bool {
	if t.maxBytes == 0 {
		t.held.Add(need)
		return true
	}
	for {
		held := t.held.Load()
		if held+need > t.maxBytes {
			return false
		}
		if t.held.CompareAndSwap(held, held+need) {
			return true
		}
	}
}

// Bytes returns the bytes of the values the table holds.
func (t *Table[R]) Bytes() int { return int(t.held.Load()) }

// Len returns how many slots hold a value.
func (t *Table[R]) Len() int {
	slots := t.slots.Load()
	if slots == nil {
		return 0
	}
	n := 0
	for i := range *slots {
		if (*slots)[i].Load() != nil {
			n++
		}
	}
	return n
}

func (t *Table[R]) fits(value string) bool { return t.maxLen == 0 || len(value) <= t.maxLen }

// hashedEnds is how many bytes at each end of a long value choose its
// slot.
const hashedEnds = 128

// slot returns the slot of value in slots. A value longer than
// 2×hashedEnds is placed by its length and its two ends, so that placing
// a long token costs what placing a short one does: two tokens differing
// only in the middle share a slot, which costs a miss, never a wrong
// result (Get compares the whole value). Tokens differ at their ends (a
// JWT's signature, an opaque token's random bytes).
func (t *Table[R]) slot(slots []atomic.Pointer[entry[R]], value string) *atomic.Pointer[entry[R]] {
	if len(value) <= 2*hashedEnds {
		return &slots[maphash.String(t.seed, value)&t.mask]
	}
	head := maphash.String(t.seed, value[:hashedEnds])
	tail := maphash.String(t.seed, value[len(value)-hashedEnds:])
	return &slots[(head^bits.RotateLeft64(tail, 31)+uint64(len(value)))&t.mask]
}

// equal reports whether a and b are the same, in a time that depends on
// their lengths only. crypto/subtle.ConstantTimeCompare does the same a
// byte at a time; eight at a time, a 1,200-byte token compares in a
// fraction of the time it takes to digest it, which is what this table
// saves.
func equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := bytesOf(a), bytesOf(b)
	// Four words a round into four accumulators, so that the loads and
	// XORs of a round do not wait on each other.
	var d0, d1, d2, d3 uint64
	for len(x) >= 32 && len(y) >= 32 {
		d0 |= binary.LittleEndian.Uint64(x[0:8]) ^ binary.LittleEndian.Uint64(y[0:8])
		d1 |= binary.LittleEndian.Uint64(x[8:16]) ^ binary.LittleEndian.Uint64(y[8:16])
		d2 |= binary.LittleEndian.Uint64(x[16:24]) ^ binary.LittleEndian.Uint64(y[16:24])
		d3 |= binary.LittleEndian.Uint64(x[24:32]) ^ binary.LittleEndian.Uint64(y[24:32])
		x, y = x[32:], y[32:]
	}
	for len(x) >= 8 && len(y) >= 8 {
		d0 |= binary.LittleEndian.Uint64(x) ^ binary.LittleEndian.Uint64(y)
		x, y = x[8:], y[8:]
	}
	for i := 0; i < len(x) && i < len(y); i++ {
		d1 |= uint64(x[i] ^ y[i])
	}
	diff := d0 | d1 | d2 | d3
	return subtle.ConstantTimeEq(int32(uint32(diff|diff>>32)), 0) == 1
}

// bytesOf returns the bytes of s without copying them, for functions that
// only read their input (a conversion allocates for values over 32 bytes).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
