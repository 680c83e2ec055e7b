// Package apikey enforces API keys: on a route that requires one, the call
// must carry the x-api-key metadata entry (an HTTP header for REST) with the
// value of an enabled key that is in a usage plan covering the stage.
//
// Every refusal is PERMISSION_DENIED "Forbidden" (HTTP 403), Amazon API
// Gateway's body, with a google.rpc.ErrorInfo whose reason says which it
// was: API_KEY_MISSING, API_KEY_INVALID (unknown or disabled) or
// API_KEY_NOT_IN_PLAN, or IP_DENIED for a valid key used from an address
// outside its ApiKey.ip_policy; the access log's errorReason field records it. Keys are looked up by the SHA-256 of the value
// the client sent: the gateway stores no secret, and the lookup is a
// map access on a digest rather than a comparison of secrets, so its timing
// tells an attacker nothing about stored keys. The interceptor remembers
// the digests of the values the Lookup knew (a fixed table, compared in
// constant time; it holds those recently accepted values in memory only)
// so as not to hash a key on every call; it decides nothing, each call
// still asks the Lookup. The gateway's Lookup is an
// index in memory that the admin writes keep exact (server/admin), so that
// disabling or deleting a key takes effect on the next call; Cache bounds
// the store reads of a Lookup that has none, for at most its TTL.
package apikey
