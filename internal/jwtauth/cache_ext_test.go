package jwtauth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"
)

// TestVerifyCacheRechecksExpiry: a token accepted from the cache is still
// refused once it expires, and with the cache disabled every call parses
// the token again.
func TestVerifyCacheRechecksExpiry(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries int
		shared  bool // both calls return the same claims
	}{
		{"cache", 10, true},
		{"no cache", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwksJSON(t, publicJWK(keys().hmac, "oct", ""))},
				jwtauth.WithClock(clock.Now), jwtauth.WithCacheEntries(tt.entries))
			if err != nil {
				t.Fatal(err)
			}
			tok := mint(t, jose.HS256, keys().hmac, "oct", claimsAt(clock.Now(), nil)) // exp in 5 minutes
			ctx := context.Background()
			c1, err1 := v.Verify(ctx, tok)
			clock.Advance(4 * time.Minute)
			c2, err2 := v.Verify(ctx, tok)
			if err1 != nil || err2 != nil {
				t.Fatalf("Verify: %v, %v", err1, err2)
			}
			if (c1 == c2) != tt.shared || c2.Subject != "user-1" {
				t.Errorf("claims shared = %v (subject %q), want %v", c1 == c2, c2.Subject, tt.shared)
			}
			clock.Advance(2 * time.Minute)
			if _, err := v.Verify(ctx, tok); !errors.Is(err, jwtauth.ErrExpired) {
				t.Errorf("Verify after exp = %v, want ErrExpired", err)
			}
			if n := v.CacheLen(); n != 0 {
				t.Errorf("%d tokens cached after expiry, want 0", n)
			}
		})
	}
}

// TestVerifyCacheFollowsKeyRotation: a token accepted with a key that the
// issuer has since withdrawn is refused, although it was cached.
func TestVerifyCacheFollowsKeyRotation(t *testing.T) {
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(keys().rsa, "rsa", "")))
	clock := newClock()
	v, err := jwtauth.New(urlConfig(srv.URL), jwtauth.WithClock(clock.Now), jwtauth.WithMinRefreshInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := mint(t, jose.RS256, keys().rsa, "rsa", claimsAt(clock.Now(), nil))
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	// The issuer rotates: only the EC key is published now, and a token
	// signed with it makes the verifier fetch the new set.
	srv.set(response{body: jwksJSON(t, publicJWK(keys().ec256, "ec", ""))})
	if _, err := v.Verify(ctx, mint(t, jose.ES256, keys().ec256, "ec", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Errorf("Verify of a token whose key was withdrawn = %v, want ErrInvalidToken", err)
	}
}

// TestVerifyCacheBound: the cache holds at most its bound, and evicted
// tokens are verified again.
func TestVerifyCacheBound(t *testing.T) {
	clock := newClock()
	v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwksJSON(t, publicJWK(keys().hmac, "oct", ""))},
		jwtauth.WithClock(clock.Now), jwtauth.WithCacheEntries(3))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for round := range 2 {
		for i := range 10 {
			tok := mint(t, jose.HS256, keys().hmac, "oct", claimsAt(clock.Now(), map[string]any{"sub": fmt.Sprint("user-", i)}))
			c, err := v.Verify(ctx, tok)
			if err != nil || c.Subject != fmt.Sprint("user-", i) {
				t.Fatalf("round %d, token %d: %v, %v", round, i, c, err)
			}
			if n := v.CacheLen(); n > 3 {
				t.Fatalf("%d tokens cached, want at most 3", n)
			}
		}
	}
}
