package idhash

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
)

var sink Digest

// BenchmarkSum compares Bytes with plain SHA-256 on identities of typical
// sizes: a short opaque token, JSON Web Tokens, and the threshold.
func BenchmarkSum(b *testing.B) {
	for _, n := range []int{32, treeMin, 100, 200, 400, 600, 1200} {
		x := []byte(strings.Repeat("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9", 40)[:n])
		b.Run("idhash/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				sink = Bytes(x)
			}
		})
		b.Run("sha256/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				sink.sum = sha256.Sum256(x)
			}
		})
	}
}
