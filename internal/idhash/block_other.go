//go:build !amd64 || purego

package idhash

// useTree is false: without the two-lane rounds every identity is hashed
// with plain SHA-256.
const useTree = false

func blocks2(a, b *[8]uint32, pa, pb *byte, n int) { panic("idhash: no two-lane rounds") }
