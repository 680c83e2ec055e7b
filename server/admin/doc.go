// Package admin implements tollgate.admin.v1.AdminService: the configuration
// API of the gateway (APIs, routes, authorizers, deployments, stages, API
// keys, usage plans, account settings and usage reports).
//
// Every resource is validated in one place (validate.go) before it is
// written, and every error leaves this package as a gRPC status with
// google.rpc error details (BadRequest field violations, ResourceInfo,
// PreconditionFailure), which grpc-gateway turns into the same JSON body with
// the matching HTTP status for REST clients.
//
// Resources are stored as protobuf messages in a store.Store, one Kind per
// resource type, keyed by resource name, so that a child's key starts with
// its parent's name and a parent's children are one prefix scan.
//
// The service also answers the data plane's API key lookups, from an index
// of every key in memory that its writes keep exact (keyindex.go), and
// reads what is deployed for it (deployed.go).
package admin
