// Package upstream keeps the target sets of integrations that name several
// backends, and picks one target per call, for the gRPC proxy and the HTTP
// integration alike.
//
// A [Set] is made from a [Config]: targets with weights and a [Policy].
// Targets named by DNS are resolved when the Set is made and again every
// refresh interval; each address of a name is a target of the name's
// weight. [Set.Pick] returns an [Endpoint] and counts it as busy until
// [Endpoint.Done]; the policies are weighted round robin (the default),
// weighted random, least request (the less busy of two weighted random
// choices) and consistent hashing (a ring of points per target in
// proportion to its weight, so adding one of N targets moves about 1/N of
// the keys).
//
// Why the gateway picks targets itself rather than handing grpc-go a
// resolver and balancer per integration: the HTTP side needs the same
// policies, a hash key that comes from the call (a header or the client's
// address) does not fit grpc-go's balancer API without a custom picker
// reading call metadata, and retries must be able to choose a different
// target than the one that failed. Each endpoint then gets its own pooled
// connection, keyed by its address.
//
// A Set can also eject endpoints whose calls keep failing ([Set.Report],
// [OutlierDetection]) and probe them in the background ([HealthCheck]);
// unhealthy and ejected endpoints get no calls while any other can take
// them. A [Breaker] bounds the calls in flight to one integration.
//
// A [Registry] shares Sets between routes and deployments that name the
// same targets, so that their state (busy counts, round-robin position)
// survives reloads; sets no deployment has used for a while are closed.
package upstream
