package jwtauth

import (
	"errors"
	"strconv"
)

// ErrInvalidToken is wrapped by every error that Verify returns: malformed
// tokens, bad signatures, disallowed algorithms (including "none"), unknown
// key IDs, missing required claims, and all the more specific errors below.
// Callers that only need to decide "401 or not" test for this one.
var ErrInvalidToken = errors.New("jwtauth: invalid token")

// ErrExpired means the token's "exp" is in the past by more than the leeway.
var ErrExpired error = &kindError{"jwtauth: token expired"}

// ErrNotYetValid means the token's "nbf" is in the future by more than the
// leeway.
var ErrNotYetValid error = &kindError{"jwtauth: token not yet valid"}

// ErrWrongIssuer means the token's "iss" is missing or is not exactly the
// configured issuer.
var ErrWrongIssuer error = &kindError{"jwtauth: wrong issuer"}

// ErrWrongAudience means none of the token's "aud" values is one of the
// configured audiences, or the token has no "aud".
var ErrWrongAudience error = &kindError{"jwtauth: wrong audience"}

// ErrKeysUnavailable means the signing keys could not be fetched, so the
// token could not be checked at all. It wraps ErrInvalidToken like the
// others, so the default answer is 401; a caller that prefers to blame the
// gateway (503 / UNAVAILABLE) can test for it first.
var ErrKeysUnavailable error = &kindError{"jwtauth: cannot fetch signing keys"}

// kindError is a sentinel that is also an ErrInvalidToken.
type kindError struct{ msg string }

func (e *kindError) Error() string { return e.msg }

// Unwrap makes errors.Is(err, ErrInvalidToken) hold for every kind.
func (e *kindError) Unwrap() error { return ErrInvalidToken }

// maxQuoted bounds the attacker-chosen values (kid, alg, iss, aud) that
// error messages quote, since messages end up in logs and responses.
const maxQuoted = 64

// quote returns s quoted and truncated for an error message.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}
