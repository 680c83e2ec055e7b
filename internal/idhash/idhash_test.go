package idhash

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"strings"
	"testing"
)

// k are SHA-256's round constants, for the reference compression below.
var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// compress is SHA-256's compression function, as FIPS 180-4 writes it.
func compress(s *[8]uint32, blk []byte) {
	var w [64]uint32
	for i := range 16 {
		w[i] = binary.BigEndian.Uint32(blk[i*4:])
	}
	for i := 16; i < 64; i++ {
		s0 := bits.RotateLeft32(w[i-15], -7) ^ bits.RotateLeft32(w[i-15], -18) ^ w[i-15]>>3
		s1 := bits.RotateLeft32(w[i-2], -17) ^ bits.RotateLeft32(w[i-2], -19) ^ w[i-2]>>10
		w[i] = w[i-16] + s0 + w[i-7] + s1
	}
	a, b, c, d, e, f, g, h := s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
	for i := range 64 {
		t1 := h + (bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)) + (e&f ^ ^e&g) + k[i] + w[i]
		t2 := (bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)) + (a&b ^ a&c ^ b&c)
		h, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
	}
	for i, v := range [8]uint32{a, b, c, d, e, f, g, h} {
		s[i] += v
	}
}

// reference is the package's definition of a digest, computed with
// crypto/sha256 and the compression function above.
func reference(x []byte) Digest {
	if len(x) < treeMin || !useTree {
		return Digest{sum: sha256.Sum256(x)}
	}
	h := (len(x) + 1) / 2
	l, r := sha256.Sum256(x[:h]), sha256.Sum256(x[h:])
	s := ivTree
	compress(&s, append(l[:], r[:]...))
	var d Digest
	putState(d.sum[:], &s)
	d.tree = true
	return d
}

func TestCompressReference(t *testing.T) {
	// The reference compression computes SHA-256 of a one-block message.
	msg := []byte("abc")
	var blk [64]byte
	copy(blk[:], msg)
	blk[3] = 0x80
	binary.BigEndian.PutUint64(blk[56:], 24)
	s := iv
	compress(&s, blk[:])
	var got [32]byte
	putState(got[:], &s)
	if want := sha256.Sum256(msg); got != want {
		t.Fatalf("compress = %x, want %x", got, want)
	}
}

func TestBytesMatchesReference(t *testing.T) {
	if !useTree {
		t.Log("no SHA extensions: plain SHA-256 only")
	}
	buf := make([]byte, 2100)
	_, _ = rand.Read(buf)
	for n := 0; n <= len(buf); n++ {
		x := buf[:n]
		if got, want := Bytes(x), reference(x); got != want {
			t.Fatalf("len %d: Bytes = %x (tree %v), want %x (tree %v)", n, got.sum, got.tree, want.sum, want.tree)
		}
		if got := String(string(x)); got != Bytes(x) {
			t.Fatalf("len %d: String differs from Bytes", n)
		}
	}
}

func TestBlocks2IsSHA256(t *testing.T) {
	if !useTree {
		t.Skip("no SHA extensions")
	}
	a := bytes.Repeat([]byte("identity-a"), 70)[:640]
	b := bytes.Repeat([]byte("identity-b"), 70)[:640]
	for _, tt := range []struct{ la, lb int }{{0, 0}, {55, 55}, {56, 55}, {64, 63}, {119, 119}, {300, 299}, {575, 575}} {
		sa, sb := iv, iv
		var got [2][32]byte
		// Whole blocks together, then each tail with its padding.
		n := min(tt.la, tt.lb) / 64
		if n > 0 {
			blocks2(&sa, &sb, &a[0], &b[0], n)
		}
		for i, m := range []struct {
			s   *[8]uint32
			msg []byte
		}{{&sa, a[:tt.la]}, {&sb, b[:tt.lb]}} {
			var p [128]byte
			rest := m.msg[n*64:]
			for len(rest) >= 64 {
				scratch := *m.s
				blocks2(m.s, &scratch, &rest[0], &rest[0], 1)
				rest = rest[64:]
			}
			nb := pad(&p, rest, len(m.msg))
			scratch := *m.s
			blocks2(m.s, &scratch, &p[0], &p[0], nb)
			putState(got[i][:], m.s)
			if want := sha256.Sum256(m.msg); got[i] != want {
				t.Errorf("lengths %d, %d: lane %d = %x, want %x", tt.la, tt.lb, i, got[i], want)
			}
		}
	}
}

func TestKindsNeverEqual(t *testing.T) {
	long := strings.Repeat("x", treeMin)
	if !useTree {
		t.Skip("no SHA extensions")
	}
	d := String(long)
	if !d.tree {
		t.Fatalf("a %d-byte identity is not hashed as two halves", len(long))
	}
	// The same 32 bytes as a plain digest are another Digest.
	if (Digest{sum: d.sum}) == d {
		t.Fatal("a plain digest equals a tree digest")
	}
	if String(long[:treeMin-1]).tree {
		t.Fatalf("a %d-byte identity is hashed as two halves", treeMin-1)
	}
}

func FuzzBytes(f *testing.F) {
	f.Add([]byte("Bearer x"))
	f.Add(bytes.Repeat([]byte("eyJzdWIiOiJ1c2VyLTEifQ"), 40))
	f.Fuzz(func(t *testing.T, x []byte) {
		if got, want := Bytes(x), reference(x); got != want {
			t.Fatalf("len %d: Bytes = %x, want %x", len(x), got.sum, want.sum)
		}
	})
}
