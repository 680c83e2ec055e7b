// Package ippolicy refuses calls from client addresses that the IP policies
// of their API, stage, stage route settings and route do not admit, as
// Amazon API Gateway resource policies with aws:SourceIp conditions or
// Kong's ip-restriction plugin do.
//
// The policies are compiled once per deployment by the routing step into
// callinfo.Call.IPPolicy (internal/ipacl): every level that sets a policy
// must admit the caller, a deny entry wins over an allow entry, and a
// non-empty allow list refuses every address it does not contain. The
// client address is callinfo.Call.SourceIP: the connection's peer, or the
// right-most untrusted X-Forwarded-For address when the peer is a trusted
// proxy (internal/forwarded).
//
// A refusal is PERMISSION_DENIED "Forbidden" (HTTP 403) with a
// google.rpc.ErrorInfo whose reason is IP_DENIED (gatewayerr.ReasonIPDenied),
// before throttling and authorization: a refused caller spends no tokens of
// the buckets other callers share and never reaches an authorizer. An API
// key's own policy (ApiKey.ip_policy) is checked where the key is resolved,
// by the apikey interceptor, with the same reason.
package ippolicy
