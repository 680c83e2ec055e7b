package idhash

import (
	"crypto/sha256"
	"encoding/binary"
	"unsafe"
)

// Digest is the digest of one identity: comparable, for use as (part of) a
// map key. The zero Digest is no identity's.
type Digest struct {
	// sum is the SHA-256 digest of a short identity, or of the first
	// half of a long one.
	sum [sha256.Size]byte
	// second is the SHA-256 digest of a long identity's second half;
	// zero for a short one.
	second [sha256.Size]byte
	tree   bool // the identity was hashed as two halves
}

// treeMin is the shortest input hashed as two halves: the shortest whose
// SHA-256 takes two blocks (55 bytes and 9 of padding fill one). From there
// the halves' blocks, computed together, cost less (BenchmarkSum: about
// two thirds of plain SHA-256 from 56 to 1,200 bytes); below it both take
// one block's time.
const treeMin = 56

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
	return halves(b)
}

// iv is SHA-256's initial state.
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// halves returns the digest of a long identity b: the SHA-256 digests of
// its two halves, computed together (see the package documentation).
func halves(b []byte) Digest {
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
	d := Digest{tree: true}
	putState(d.sum[:], &sl)
	putState(d.second[:], &sr)
	return d
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
