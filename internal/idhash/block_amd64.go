//go:build amd64 && !purego

package idhash

//go:generate python3 gen_amd64.py

// useTree reports whether the CPU has the SHA extensions (and the SSSE3
// and SSE4.1 instructions blocks2 uses with them).
var useTree = hasSHANI()

// blocks2 runs SHA-256's compression function over n 64-byte blocks of
// each of two messages, pa and pb, updating the states a and b.
//
//go:noescape
func blocks2(a, b *[8]uint32, pa, pb *byte, n int)

func hasSHANI() bool
