// Package callinfo carries what the data plane knows about one call from the
// routing step to the policy interceptors (authorization, throttling,
// metering) and to the proxy, so that policies never depend on the gateway's
// internals and never differ by protocol.
//
// A [Call] has three kinds of parts:
//
//   - [RouteFacts]: what routing compiled for the call's route (API, stage,
//     deployment, route, authorizers, key source, stage variables and
//     configuration, bucket keys, IP policy, validation type), once per
//     deployment, shared read-only by every call of the route;
//   - [Request]: what the gateway learned of the request when it routed
//     the call (protocol, method, HTTP details and headers, client address
//     and certificate, forwarding entries);
//   - the results of the policies, each written by the one interceptor that
//     owns it: RequestID (the request ID interceptor), [AuthResult] (the
//     authorizer), APIKey (the API-key policy), TraceMetadata (tracing),
//     ResponseCache (the response cache), the byte counts and integration
//     latency (the proxy).
//
// A policy that reads another's result declares it as a [Fact]; the chain
// (interceptors/chain) refuses an order that would run it first.
//
// The gateway's own facts about a call travel in the Call, in the context,
// never in metadata: a client's x-tollgate-* entries are never believed,
// and [StripInternal] removes them from whatever the gateway sends on.
package callinfo
