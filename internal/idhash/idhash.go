package idhash

import (
	"crypto/sha256"
	"encoding/binary"
	"unsafe"
)

// Digest is the digest of one identity: comparable, for use as (part of) a
// map key. The zero Digest is no identity's.
type Digest struct {
	sum  [sha256.Size]byte
	tree bool // sum is the tree digest of a long identity, not SHA-256
}

// treeMin is the shortest input hashed as two halves: below it the second
// chain does not pay for the extra compression (measured with
// BenchmarkSum).
const treeMin = 200

// String returns the digest of s, reading s in place.
func String(s string) Digest {
	// Neither SHA-256 nor the two-lane rounds write to their input.
	return Bytes(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// Bytes returns the digest of b.
func Bytes(b []byte) Digest {
	if len(b) < treeMin || !useTree {
		return Digest{sum: sha256.Sum256(b)}
	}
	return Digest{sum: tree(b), tree: true}
}

// iv is SHA-256's initial state.
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// ivTree is the initial state of the compression of the two halves'
// digests: the first 32 bits of the fractional parts of the square roots
// of the 9th to 16th primes (SHA-256's uses the first 8), so that it
// differs from every state a plain SHA-256 computation starts from.
var ivTree = [8]uint32{0xcbbb9d5d, 0x629a292a, 0x9159015a, 0x152fecd8, 0x67332667, 0x8eb44a87, 0xdb0c2e0d, 0x47b5481d}

// tree returns the two-half digest of b (see the package documentation).
func tree(b []byte) [sha256.Size]byte {
	h := (len(b) + 1) / 2
	l, r := b[:h], b[h:]
	sl, sr := iv, iv
	// Whole blocks of both halves together; len(l) is len(r) or one more.
	n := len(r) / 64
	if n > 0 {
		blocks2(&sl, &sr, &l[0], &r[0], n)
	}
	var tl, tr [128]byte
	nl := pad(&tl, l[n*64:], len(l))
	nr := pad(&tr, r[n*64:], len(r))
	blocks2(&sl, &sr, &tl[0], &tr[0], min(nl, nr))
	if nl > nr {
		// The left half's padding took one more block: its lane alone
		// (the other computes a copy, discarded).
		scratch := sl
		blocks2(&sl, &scratch, &tl[64], &tl[64], 1)
	}
	var blk [64]byte
	putState(blk[:32], &sl)
	putState(blk[32:], &sr)
	root, scratch := ivTree, ivTree
	blocks2(&root, &scratch, &blk[0], &blk[0], 1)
	var out [sha256.Size]byte
	putState(out[:], &root)
	return out
}

// pad writes the last bytes of a message of length total, and SHA-256's
// padding, to buf, and returns the number of blocks written (1 or 2).
func pad(buf *[128]byte, tail []byte, total int) int {
	copy(buf[:], tail)
	buf[len(tail)] = 0x80
	n := 1
	if len(tail)+9 > 64 {
		n = 2
	}
	binary.BigEndian.PutUint64(buf[n*64-8:], uint64(total)*8)
	return n
}

// putState writes a state as SHA-256 writes its digest.
func putState(b []byte, s *[8]uint32) {
	for i, w := range s {
		binary.BigEndian.PutUint32(b[i*4:], w)
	}
}
