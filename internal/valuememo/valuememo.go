package valuememo

import (
	"crypto/subtle"
	"hash/maphash"
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
// values of at most maxLen bytes (0: any length).
func New[R any](slots, maxLen int) *Table[R] {
	if slots <= 0 || slots&(slots-1) != 0 {
		panic("valuememo: the number of slots must be a power of two")
	}
	return &Table[R]{seed: maphash.MakeSeed(), mask: uint64(slots - 1), maxLen: maxLen}
}

// Get returns the result remembered for value, and whether there was one.
func (t *Table[R]) Get(value string) (R, bool) {
	if slots := t.slots.Load(); slots != nil && t.fits(value) {
		if e := t.slot(*slots, value).Load(); e != nil && len(e.value) == len(value) &&
			subtle.ConstantTimeCompare(bytesOf(e.value), bytesOf(value)) == 1 {
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
	// A copy: the value may share its memory with the rest of the call's
	// headers, which the entry must not keep alive.
	t.slot(*slots, value).Store(&entry[R]{value: strings.Clone(value), result: result})
}

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

// slot returns the slot of value in slots.
func (t *Table[R]) slot(slots []atomic.Pointer[entry[R]], value string) *atomic.Pointer[entry[R]] {
	return &slots[maphash.String(t.seed, value)&t.mask]
}

// bytesOf returns the bytes of s without copying them, for functions that
// only read their input (a conversion allocates for values over 32 bytes).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
