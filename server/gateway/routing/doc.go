// Package routing compiles deployed API snapshots into immutable routing
// tables and answers, for one call, which stage, route and integration serve
// it.
//
// A Table is built from every stage and the deployments it serves; it is
// never modified afterwards. The data plane swaps the whole table atomically
// when a stage changes, and each call resolves against the table it started
// with, so a deployment or rollback never mixes two configurations in one
// call.
//
// How a call finds its stage:
//
//   - Domain mappings come first: a request whose Host (REST) or :authority
//     (gRPC) is a mapped domain is served by the mapped stage, with the
//     mapping's base path removed from REST paths (the longest matching base
//     path wins, on whole segments).
//   - gRPC: by full method name ("/pkg.Service/Method") across every deployed
//     API. The x-tollgate-stage metadata entry chooses the stage (it wins
//     over a domain mapping): a stage
//     resource name ("apis/shop/stages/prod"), "api/stage" ("shop/prod"), or a
//     stage ID ("prod"). Without it, the method must be served by exactly one
//     stage; otherwise the call fails with FAILED_PRECONDITION listing the
//     candidates. A stage whose API has no descriptors and a default
//     integration proxies any method, but only when no stage names the
//     method in its schema or routes.
//   - REST/JSON and HTTP: the first path segment is the stage ID
//     ("/prod/v1/books/1"); the rest is matched against the routes of every
//     API with a stage of that ID, in API name order.
package routing
