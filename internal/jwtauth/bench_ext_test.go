package jwtauth_test

import (
	"context"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"
)

// benchVerify measures Verify with a warm key cache: the key set is fetched
// once before the timer starts. The cache of accepted tokens is off, so
// that every call checks the signature, unless opts turn it on.
func benchVerify(b *testing.B, alg jose.SignatureAlgorithm, key any, opts ...jwtauth.Option) {
	srv := newJWKSServer(b, jwksJSON(b,
		publicJWK(keys().rsa, "rsa", ""),
		publicJWK(keys().ec256, "ec", ""),
		publicJWK(keys().ed, "ed", ""),
	))
	clock := newClock()
	v, err := jwtauth.New(urlConfig(srv.URL), append([]jwtauth.Option{jwtauth.WithClock(clock.Now), jwtauth.WithCacheEntries(0)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	kid := map[jose.SignatureAlgorithm]string{jose.RS256: "rsa", jose.ES256: "ec", jose.EdDSA: "ed"}[alg]
	tok := mint(b, alg, key, kid, claimsAt(clock.Now(), map[string]any{"scope": "orders:read orders:write"}))
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, jose.RS256, keys().rsa) }

func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, jose.ES256, keys().ec256) }

func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, jose.EdDSA, keys().ed) }

// BenchmarkVerifyCached measures a token accepted again from the cache:
// its SHA-256 hash, a lookup and the expiry check, whatever the algorithm.
func BenchmarkVerifyCached(b *testing.B) {
	benchVerify(b, jose.RS256, keys().rsa, jwtauth.WithCacheEntries(jwtauth.DefaultCacheEntries))
}

// BenchmarkVerifyHS256 has no network part: the key is inline.
func BenchmarkVerifyHS256(b *testing.B) {
	clock := newClock()
	v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwksJSON(b, publicJWK(keys().hmac, "oct", ""))},
		jwtauth.WithClock(clock.Now), jwtauth.WithCacheEntries(0))
	if err != nil {
		b.Fatal(err)
	}
	tok := mint(b, jose.HS256, keys().hmac, "oct", claimsAt(clock.Now(), nil))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRejectNone measures the cheapest rejection, which bounds
// what junk tokens cost.
func BenchmarkVerifyRejectNone(b *testing.B) {
	v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwksJSON(b, publicJWK(keys().hmac, "oct", ""))})
	if err != nil {
		b.Fatal(err)
	}
	tok := seg(`{"alg":"none"}`) + "." + seg(`{"iss":"x"}`) + "."
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err == nil {
			b.Fatal("accepted")
		}
	}
}
