// Package idhash digests caller identities (tokens, identity source values)
// for the authorization caches, which keep no token in memory: a cache is
// keyed by the digest, and two identities with equal digests are the same
// identity with the collision resistance of SHA-256 (128 bits).
//
// A hit in those caches costs the digest of the identity and little else,
// so its speed is the speed of a cache hit for long tokens: SHA-256 with
// the CPU's SHA extensions runs one long chain of dependent rounds, and a
// 600-byte JSON Web Token took ~390 ns of CPU time. On such CPUs a long
// identity is hashed as two halves whose rounds are interleaved (the CPU
// runs two independent chains in about the time of one), and the two
// halves' SHA-256 digests are compressed into one:
//
//	Sum(x) = compress(IVtree, SHA-256(x[:h]) ‖ SHA-256(x[h:])), h = ⌈len(x)/2⌉
//
// with SHA-256's compression function and an initial value of its own.
// Equal digests of two long identities mean a collision of that
// compression function or of SHA-256, or equal halves, hence equal
// identities. Short identities, and every identity on other CPUs, are
// hashed with plain SHA-256; a Digest records which, so the two kinds
// never compare equal.
package idhash
