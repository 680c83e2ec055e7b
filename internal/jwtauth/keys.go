package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	_ "crypto/sha256" // registers crypto.SHA256 for hash.New
	_ "crypto/sha512" // registers crypto.SHA384 and crypto.SHA512
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// algorithm is a JWS "alg" this package can verify. The zero value is
// every other name, "none" included.
type algorithm uint8

const (
	algInvalid algorithm = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	algHS256
	algHS384
	algHS512
)

var algNames = [...]string{
	algInvalid: "",
	algRS256:   "RS256",
	algRS384:   "RS384",
	algRS512:   "RS512",
	algPS256:   "PS256",
	algPS384:   "PS384",
	algPS512:   "PS512",
	algES256:   "ES256",
	algES384:   "ES384",
	algES512:   "ES512",
	algEdDSA:   "EdDSA",
	algHS256:   "HS256",
	algHS384:   "HS384",
	algHS512:   "HS512",
}

func (a algorithm) String() string { return algNames[a] }

// parseAlg maps an "alg" value to an algorithm; names are case-sensitive
// (RFC 7515 §4.1.1), so "none", "None" and "hs256" are all algInvalid.
func parseAlg(s string) algorithm {
	for a := algRS256; int(a) < len(algNames); a++ {
		if algNames[a] == s {
			return a
		}
	}
	return algInvalid
}

// hash is the digest the algorithm signs; zero for EdDSA, which hashes
// internally.
func (a algorithm) hash() crypto.Hash {
	switch a {
	case algRS256, algPS256, algES256, algHS256:
		return crypto.SHA256
	case algRS384, algPS384, algES384, algHS384:
		return crypto.SHA384
	case algRS512, algPS512, algES512, algHS512:
		return crypto.SHA512
	}
	return 0
}

// prehashed reports whether the algorithm signs a digest of the input
// (RSA and ECDSA) rather than the input itself (EdDSA, HMAC).
func (a algorithm) prehashed() bool { return a >= algRS256 && a <= algES512 }

// algSet is a set of algorithms, one bit each.
type algSet uint16

func setOf(algs ...algorithm) algSet {
	var s algSet
	for _, a := range algs {
		s |= 1 << a
	}
	return s
}

func (s algSet) has(a algorithm) bool { return a != algInvalid && s&(1<<a) != 0 }

var (
	rsaAlgs = setOf(algRS256, algRS384, algRS512, algPS256, algPS384, algPS512)
	edAlgs  = setOf(algEdDSA)
)

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const minRSABits = 2048

// minHMACBytes is the shortest HMAC secret accepted: the output size of
// SHA-256, the smallest hash (RFC 7518 §3.2).
const minHMACBytes = 32

// verifyKey is one usable key of a key set. pub is *rsa.PublicKey,
// *ecdsa.PublicKey, ed25519.PublicKey or []byte (an HMAC secret); algs
// holds only algorithms that fit pub's type.
type verifyKey struct {
	kid  string
	algs algSet
	pub  any
}

// keySet is an immutable snapshot of the usable keys of one JWKS.
type keySet struct {
	keys []*verifyKey
	// expires is when a fetched set should be refreshed; zero for inline
	// sets, which never are.
	expires time.Time
}

// parseJWKS returns the usable keys of a JWKS document, logging the keys it
// skips. A document with no usable key is an error.
func parseJWKS(data []byte, logger *slog.Logger) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New("parse JWKS: no \"keys\" array")
	}
	set := &keySet{}
	for i, raw := range doc.Keys {
		k, err := parseJWK(raw, logger)
		if err != nil {
			logger.Warn("jwtauth: skipping JWKS key", slog.Int("index", i), slog.String("reason", err.Error()))
			continue
		}
		set.keys = append(set.keys, k)
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("parse JWKS: none of its %d keys can verify signatures", len(doc.Keys))
	}
	return set, nil
}

// parseJWK converts one JWK, or says why it cannot verify signatures.
func parseJWK(raw json.RawMessage, logger *slog.Logger) (*verifyKey, error) {
	// go-jose does not keep key_ops, and its use is only advisory there.
	var meta struct {
		Use    string   `json:"use"`
		KeyOps []string `json:"key_ops"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	if meta.Use != "" && meta.Use != "sig" {
		return nil, fmt.Errorf("use is %s, not \"sig\"", quote(meta.Use))
	}
	if meta.KeyOps != nil && !slices.Contains(meta.KeyOps, "verify") {
		return nil, errors.New("key_ops does not include \"verify\"")
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	k := &verifyKey{kid: jwk.KeyID}
	private := false
	switch key := jwk.Key.(type) {
	case *rsa.PrivateKey:
		private = true
		k.pub, k.algs = &key.PublicKey, rsaAlgs
	case *rsa.PublicKey:
		k.pub, k.algs = key, rsaAlgs
	case *ecdsa.PrivateKey:
		private = true
		k.pub, k.algs = &key.PublicKey, ecAlgs(key.Curve)
	case *ecdsa.PublicKey:
		k.pub, k.algs = key, ecAlgs(key.Curve)
	case ed25519.PrivateKey:
		private = true
		k.pub, k.algs = key.Public(), edAlgs
	case ed25519.PublicKey:
		k.pub, k.algs = key, edAlgs
	case []byte:
		k.pub, k.algs = key, hmacAlgs(len(key))
	default:
		return nil, fmt.Errorf("key type %T is not supported", jwk.Key)
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is shorter than %d", pub.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if k.algs == 0 {
			return nil, fmt.Errorf("curve %s is not supported", pub.Curve.Params().Name)
		}
		// Re-parse the point: this checks it is on the curve, and gives
		// crypto/ecdsa a key it built itself rather than loose big.Ints.
		b, err := pub.Bytes()
		if err != nil {
			return nil, err
		}
		if k.pub, err = ecdsa.ParseUncompressedPublicKey(pub.Curve, b); err != nil {
			return nil, err
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, errors.New("wrong length for an Ed25519 key")
		}
	case []byte:
		if len(pub) < minHMACBytes {
			return nil, fmt.Errorf("symmetric key of %d bytes is shorter than %d", len(pub), minHMACBytes)
		}
	}
	if jwk.Algorithm != "" {
		a := parseAlg(jwk.Algorithm)
		if !k.algs.has(a) {
			return nil, fmt.Errorf("alg %s does not fit this key", quote(jwk.Algorithm))
		}
		k.algs = setOf(a)
	}
	if private {
		logger.Warn("jwtauth: JWKS key includes private key material; using its public part only", slog.String("kid", k.kid))
	}
	return k, nil
}

// ecAlgs returns the one algorithm that fits a curve (RFC 7518 §3.4), or
// none for other curves.
func ecAlgs(c elliptic.Curve) algSet {
	switch c {
	case elliptic.P256():
		return setOf(algES256)
	case elliptic.P384():
		return setOf(algES384)
	case elliptic.P521():
		return setOf(algES512)
	}
	return 0
}

// hmacAlgs returns the HMAC algorithms a secret of n bytes is long enough
// for: at least the hash's output size (RFC 7518 §3.2).
func hmacAlgs(n int) algSet {
	var s algSet
	for _, a := range []algorithm{algHS256, algHS384, algHS512} {
		if n >= a.hash().Size() {
			s |= setOf(a)
		}
	}
	return s
}

// verifyResult says how verification against a key set ended.
type verifyResult int

const (
	verified verifyResult = iota
	// noKey: no key has the token's kid or, without a kid, accepts its
	// alg. A refreshed key set may have one.
	noKey
	// algMismatch: keys with the token's kid exist, but none accepts its
	// alg. No refresh helps.
	algMismatch
	// badSignature: some key was tried, and none verified.
	badSignature
)

// verify checks sig over input with the set's keys that match kid (all
// keys when kid is empty) and accept alg.
func (s *keySet) verify(kid string, alg algorithm, input string, sig []byte) verifyResult {
	var digest []byte
	kidSeen, tried := false, false
	for _, k := range s.keys {
		if kid != "" {
			if k.kid != kid {
				continue
			}
			kidSeen = true
		}
		if !k.algs.has(alg) {
			continue
		}
		tried = true
		if digest == nil && alg.prehashed() {
			h := alg.hash().New()
			_, _ = io.WriteString(h, input)
			digest = h.Sum(nil)
		}
		if k.verify(alg, input, digest, sig) {
			return verified
		}
	}
	switch {
	case tried:
		return badSignature
	case kidSeen:
		return algMismatch
	}
	return noKey
}

// verify checks one signature. digest is the hash of input for the RSA and
// ECDSA algorithms. The type checks repeat what parseJWK guarantees, so
// that a mistake there cannot turn into key confusion here.
func (k *verifyKey) verify(alg algorithm, input string, digest, sig []byte) bool {
	switch alg {
	case algRS256, algRS384, algRS512:
		pub, ok := k.pub.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, alg.hash(), digest, sig) == nil
	case algPS256, algPS384, algPS512:
		pub, ok := k.pub.(*rsa.PublicKey)
		// The salt should be as long as the hash (RFC 7518 §3.5), but its
		// length does not affect security; accept any, like go-jose.
		return ok && rsa.VerifyPSS(pub, alg.hash(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	case algES256, algES384, algES512:
		pub, ok := k.pub.(*ecdsa.PublicKey)
		if !ok || !ecAlgs(pub.Curve).has(alg) {
			return false
		}
		// JWS ECDSA signatures are R and S, each padded to the curve's
		// size (RFC 7518 §3.4), not ASN.1.
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	case algEdDSA:
		pub, ok := k.pub.(ed25519.PublicKey)
		return ok && len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, []byte(input), sig)
	case algHS256, algHS384, algHS512:
		secret, ok := k.pub.([]byte)
		if !ok {
			return false
		}
		mac := hmac.New(alg.hash().New, secret)
		_, _ = io.WriteString(mac, input)
		return hmac.Equal(mac.Sum(nil), sig)
	}
	return false
}
