// Package jwtauth verifies the bearer JSON Web Tokens presented to Tollgate's
// JWT authorizers (the admin API's tollgate.admin.v1.JwtAuthorizer).
//
// A Verifier is built once per authorizer from a Config and checks each
// token's signature, algorithm, issuer, audience and validity period. It is
// a library: turning its errors into gRPC statuses, and reading the token
// from the configured identity sources, is the caller's job. BearerToken
// and HasScope cover the common cases of both.
//
// # Keys and algorithms
//
// Signing keys come from a JSON Web Key Set, either inline or fetched from
// an https URL (http only for loopback hosts). The algorithms a key may
// verify are derived from the key itself, never from the token: a key's
// "alg" member if it has one, otherwise its type (RSA: RS256, RS384, RS512,
// PS256, PS384, PS512; EC P-256, P-384, P-521: ES256, ES384, ES512; OKP
// Ed25519: EdDSA; symmetric "oct": HS256, HS384, HS512 as its length
// allows). So an RSA public key can never be used as an HMAC secret, and
// "none" is never accepted. Keys that cannot verify signatures (use "enc",
// key_ops without "verify", RSA under 2048 bits, HMAC secrets shorter than
// the hash, unsupported types) are skipped with a warning.
//
// Only the JWS Compact Serialization is accepted: JWE tokens, the JSON
// serializations (and so multiple signatures), and headers with "crit" or
// "b64" are rejected. Keys that a token carries or points to ("jwk", "jku",
// "x5u", "x5c") are ignored: only the configured key set is trusted.
//
// # Fetching key sets
//
// A URL key set is fetched lazily, on the first Verify, so New does no
// network I/O. It is cached for the response's Cache-Control max-age,
// bounded to between one minute and 24 hours (one hour without one). An
// expired set keeps being served while a refresh runs in the background, and
// if the refresh fails the last good set stays in use. A token whose "kid"
// is not in the set triggers a refresh, waits for it and then fails if the
// key is still unknown. Fetches are coalesced (concurrent callers share one)
// and start at most once per minimum refresh interval (10 s by default), so
// a flood of tokens with made-up key IDs costs at most one fetch per
// interval.
//
// # Accepted tokens
//
// A Verifier remembers the tokens it accepted (up to WithCacheEntries,
// DefaultCacheEntries by default), keyed by their SHA-256-based digest (internal/idhash), so that a
// client presenting the same token on every call pays for one signature
// check (RS256: 0.2 ms on a loaded 2-core machine)
// and then for a hash and a lookup. A remembered token is accepted only
// while the key set that verified it is the current one (a refresh that
// withdraws its key makes it verify again, and fail) and until its exp
// (with the leeway), checked on every call; every other check is
// independent of time or only ever passes once it has (nbf, iat). Refused
// tokens are not remembered.
//
// # Errors
//
// Every error from Verify wraps ErrInvalidToken, so callers can answer 401 /
// UNAUTHENTICATED for all of them, and one of the more specific sentinels
// where it applies. Messages never contain the token.
package jwtauth
