package jwtauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"
)

func Example() {
	// An inline key set with one HMAC key. Real deployments usually give a
	// JWKSURI instead, such as https://idp.example/.well-known/jwks.json.
	secret := []byte("an example secret of 32+ bytes!!")
	jwks := fmt.Sprintf(`{"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":%q}]}`,
		base64.RawURLEncoding.EncodeToString(secret))
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	v, err := jwtauth.New(jwtauth.Config{
		Issuer:     "https://idp.example",
		Audiences:  []string{"orders-api"},
		InlineJWKS: []byte(jwks),
		Leeway:     time.Minute,
	}, jwtauth.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}

	// What the identity provider would issue.
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret},
		(&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(map[string]any{
		"iss": "https://idp.example", "aud": "orders-api", "sub": "user-42",
		"exp": now.Add(time.Hour).Unix(), "scope": "orders:read orders:write",
	})
	jws, _ := signer.Sign(payload)
	token, _ := jws.CompactSerialize()

	claims, err := v.Verify(context.Background(), jwtauth.BearerToken("Bearer "+token))
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println(claims.Subject, claims.Scopes, jwtauth.HasScope(claims, []string{"orders:write"}))

	now = now.Add(2 * time.Hour)
	_, err = v.Verify(context.Background(), token)
	fmt.Println(err)
	// Output:
	// user-42 [orders:read orders:write] true
	// jwtauth: token expired: expired at 2030-01-02T04:04:05Z
}

func ExampleBearerToken() {
	fmt.Printf("%q\n", jwtauth.BearerToken("bearer eyJhbGciOi.e30.c2ln"))
	fmt.Printf("%q\n", jwtauth.BearerToken("Basic dXNlcjpwYXNz"))
	// Output:
	// "eyJhbGciOi.e30.c2ln"
	// ""
}
