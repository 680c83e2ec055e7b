package cowmap

import (
	"hash/maphash"
	"iter"
)

// shards is the number of Go maps a Map spreads its entries over: an
// update copies the pointer array and one shard, about len/64 entries.
const shards = 64

// Map is an immutable map from K to V. The zero value is an empty map.
// Updates (With, Without) return a new Map and leave the receiver as it
// was, so that readers of the old one never see a change.
type Map[K comparable, V any] struct {
	seed   maphash.Seed
	shards *[shards]map[K]V // nil when empty
	n      int
}

// From returns a Map holding the entries of m (copied).
func From[K comparable, V any](m map[K]V) Map[K, V] {
	var out Map[K, V]
	if len(m) == 0 {
		return out
	}
	out.seed, out.shards, out.n = maphash.MakeSeed(), new([shards]map[K]V), len(m)
	for k, v := range m {
		i := out.index(k)
		if out.shards[i] == nil {
			out.shards[i] = map[K]V{}
		}
		out.shards[i][k] = v
	}
	return out
}

func (m Map[K, V]) index(k K) uint8 {
	return uint8(maphash.Comparable(m.seed, k) % shards)
}

// Get returns the value of k and whether m holds k.
func (m Map[K, V]) Get(k K) (V, bool) {
	if m.shards == nil {
		var zero V
		return zero, false
	}
	v, ok := m.shards[m.index(k)][k]
	return v, ok
}

// Value returns the value of k, or the zero value.
func (m Map[K, V]) Value(k K) V {
	v, _ := m.Get(k)
	return v
}

// Len returns the number of entries.
func (m Map[K, V]) Len() int { return m.n }

// With returns m with k set to v.
func (m Map[K, V]) With(k K, v V) Map[K, V] {
	out := m.copyShards()
	i := out.index(k)
	sh := make(map[K]V, len(m.shardOf(i))+1)
	for kk, vv := range m.shardOf(i) {
		sh[kk] = vv
	}
	if _, ok := sh[k]; !ok {
		out.n++
	}
	sh[k] = v
	out.shards[i] = sh
	return out
}

// Without returns m without k.
func (m Map[K, V]) Without(k K) Map[K, V] {
	if _, ok := m.Get(k); !ok {
		return m
	}
	out := m.copyShards()
	i := out.index(k)
	sh := make(map[K]V, len(m.shardOf(i)))
	for kk, vv := range m.shardOf(i) {
		if kk != k {
			sh[kk] = vv
		}
	}
	if len(sh) == 0 {
		sh = nil
	}
	out.shards[i] = sh
	out.n--
	return out
}

// All yields every entry, in no particular order.
func (m Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		if m.shards == nil {
			return
		}
		for _, sh := range m.shards {
			for k, v := range sh {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

func (m Map[K, V]) shardOf(i uint8) map[K]V {
	if m.shards == nil {
		return nil
	}
	return m.shards[i]
}

// copyShards returns m with its own copy of the shard array.
func (m Map[K, V]) copyShards() Map[K, V] {
	out := m
	out.shards = new([shards]map[K]V)
	if m.shards != nil {
		*out.shards = *m.shards
	} else {
		out.seed = maphash.MakeSeed()
	}
	return out
}
