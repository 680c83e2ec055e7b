// Package adminauth protects Tollgate's admin API with a bearer token.
//
// The admin API configures everything the gateway serves, so it is never
// open: every call must carry the admin token as gRPC metadata
// "authorization: Bearer <token>" (for REST, the HTTP Authorization header,
// which grpc-gateway forwards under the same key). Only the standard gRPC
// health service is exempt, because load balancers and orchestrators probe
// it without credentials and it reveals nothing about the configuration.
//
// Besides the bootstrap token, which may do everything, named admin tokens
// (AdminToken resources, found by the SHA-256 of their value through a
// [TokenLookup]) carry a role: viewer, operator or admin. Every call is
// checked against one table, [MethodRoles], for gRPC and REST alike; a
// call the caller's role may not make fails with PERMISSION_DENIED.
//
// [LoadOrCreateToken] decides which bootstrap token is in force: one given by the
// operator (Tollgate reads it from TOLLGATE_ADMIN_TOKEN), or else one kept
// in the data dir, generated on first start and written with mode 0600.
// [New] builds an [Authenticator] whose interceptors enforce it.
//
// Tokens are compared by their SHA-256 digests in constant time, so neither
// the contents nor the length of the token leak through response timing.
package adminauth
