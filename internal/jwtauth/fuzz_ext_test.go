package jwtauth_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"
)

// FuzzVerify checks that no token string makes Verify panic, that every
// rejection is an ErrInvalidToken that does not echo the token, and that
// whatever is accepted really has the configured issuer and audience.
func FuzzVerify(f *testing.F) {
	k := keys()
	clock := newClock()
	now := clock.Now()
	v, err := jwtauth.New(jwtauth.Config{
		Issuer:    testIssuer,
		Audiences: []string{testAudience},
		InlineJWKS: jwksJSON(f,
			publicJWK(k.rsa, "rsa", ""),
			publicJWK(k.ec256, "ec", ""),
			publicJWK(k.ed, "ed", ""),
			publicJWK(k.hmac, "oct", ""),
		),
		Leeway: time.Minute,
	}, jwtauth.WithClock(clock.Now))
	if err != nil {
		f.Fatal(err)
	}
	valid := claimsAt(now, map[string]any{"scope": "a b", "aud": []string{"x", testAudience}})
	for _, seed := range []string{
		mint(f, jose.RS256, k.rsa, "rsa", valid),
		mint(f, jose.PS256, k.rsa, "", valid),
		mint(f, jose.ES256, k.ec256, "ec", valid),
		mint(f, jose.EdDSA, k.ed, "ed", valid),
		mint(f, jose.HS256, k.hmac, "oct", valid),
		mint(f, jose.HS256, k.hmac, "oct", claimsAt(now, map[string]any{"exp": 1e300, "scp": []any{1}})),
		rawHS256(`{"alg":"HS256","kid":"oct"}`, `{"iss":1,"aud":{},"exp":"x"}`, k.hmac),
		rawHS256(`{"alg":"HS256","crit":["x"]}`, `{}`, k.hmac),
		seg(`{"alg":"none"}`) + "." + seg(`{}`) + ".",
		seg(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".a.b.c.d",
		"", ".", "..", "a.b.c", "e30.e30.e30", `{"payload":"e30"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token)
		if err != nil {
			if claims != nil {
				t.Fatal("claims returned with an error")
			}
			if !errors.Is(err, jwtauth.ErrInvalidToken) {
				t.Fatalf("error %v is not ErrInvalidToken", err)
			}
			if len(token) >= 16 && strings.Contains(err.Error(), token) {
				t.Fatalf("error echoes the token: %v", err)
			}
			return
		}
		if claims.Issuer != testIssuer || !slices.Contains(claims.Audience, testAudience) {
			t.Fatalf("accepted claims %+v", claims)
		}
		if !claims.Expiry.Add(time.Minute).After(now) {
			t.Fatalf("accepted an expired token: %+v", claims)
		}
	})
}
