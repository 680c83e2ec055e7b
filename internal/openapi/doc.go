// Package openapi describes a deployed API as an OpenAPI document: OpenAPI
// 3.1 or 2.0 (Swagger), as JSON or YAML.
//
// The document is derived from what the deployment serves: the REST
// bindings of its descriptors' google.api.http rules (or the default
// "POST /pkg.Service/Method" binding of a method without one), with paths,
// parameters and operation IDs in the shape grpc-gateway's
// protoc-gen-openapiv2 gives them; the messages as JSON schemas in
// protojson's mapping (field_behavior REQUIRED and OUTPUT_ONLY become
// required and readOnly); the comments of the descriptors' SourceCodeInfo,
// when the uploaded set carries it; the deployment's plain HTTP routes; and
// its authorizers and API keys as security schemes, required by the
// operations whose route asks for them.
//
// The admin API's ExportDeployment and the data plane's
// /{stage}/openapi.json both render through [Render].
package openapi
