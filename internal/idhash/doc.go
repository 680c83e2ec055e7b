// Package idhash digests caller identities (tokens, identity source values)
// for the authorization caches, which keep no token in memory: a cache is
// keyed by the digest, and two identities with equal digests are the same
// identity with the collision resistance of SHA-256 (128 bits).
//
// A hit in those caches costs the digest of the identity and little else,
// so its speed is the speed of a cache hit for long tokens: SHA-256 with
// the CPU's SHA extensions runs one chain of dependent rounds, and a
// 600-byte JSON Web Token took ~390 ns of CPU time. On such CPUs an
// identity of 56 bytes or more (two SHA-256 blocks) is hashed as two
// halves, x[:h] and x[h:] with h = ⌈len(x)/2⌉, whose rounds are
// interleaved: the SHA unit then works on two independent chains, and the
// two digests cost about two thirds of one over the whole identity. The
// Digest is the pair of their SHA-256 digests: equal Digests mean equal
// halves, hence equal identities, unless SHA-256 collides. Shorter
// identities, and every identity on other CPUs, are hashed with plain
// SHA-256; a Digest records which, so the two kinds never compare equal.
package idhash
