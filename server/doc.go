// Package server wires Tollgate together: configuration, the embedded
// store, the admin API and the listeners, and their lifecycle.
//
// A [Server] listens on two TCP ports. The admin port (Config.AdminAddr)
// serves the admin API to gRPC clients and, through grpc-gateway, as
// REST/JSON, both behind the admin token (see package adminauth). The data
// port (Config.ListenAddr) is where deployed APIs will be served. Both
// ports answer /healthz (the process is alive) and /readyz (the server is
// serving, not shutting down, and every deployed stage is served; a stage
// that keeps serving its previous deployment because the new one failed to
// compile is reported as degraded, with 200) for load balancers and
// orchestrators.
//
// REST calls are not handed to the admin service directly: the gateway calls
// the same *grpc.Server over an in-memory connection, so that every admin
// call, whatever its protocol, passes the same interceptors.
//
// The usual life of a Server is [New], then [Server.Serve] until its context
// is cancelled, which shuts the server down gracefully. [Run] does both.
package server
