// Package apikey enforces API keys: on a route that requires one, the call
// must carry the x-api-key metadata entry (an HTTP header for REST) with the
// value of an enabled key that is in a usage plan covering the stage.
//
// Every refusal is the same PERMISSION_DENIED "Forbidden" (HTTP 403), as in
// Amazon API Gateway, so a caller cannot tell a missing key from an unknown,
// disabled or uncovered one. Keys are looked up by the SHA-256 of the value
// the client sent: the gateway never holds the secrets, and the lookup is a
// map access on a digest rather than a comparison of secrets, so its timing
// tells an attacker nothing about stored keys. Lookups are cached for at
// most the cache's TTL (default one second), so that disabling or deleting a
// key takes effect within that time on a running gateway.
package apikey
