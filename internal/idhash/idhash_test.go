package idhash

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"testing"
)

// reference is the package's definition of a digest, computed with
// crypto/sha256.
func reference(x []byte) Digest {
	if len(x) < treeMin || !useTree {
		return Digest{sum: sha256.Sum256(x)}
	}
	h := (len(x) + 1) / 2
	return Digest{sum: sha256.Sum256(x[:h]), second: sha256.Sum256(x[h:]), tree: true}
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
	// The same bytes as a plain digest are another Digest.
	if (Digest{sum: d.sum, second: d.second}) == d {
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
