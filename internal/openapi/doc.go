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
// /{stage}/openapi.json both render through [Render] (the data plane
// through [Build] and [Encode], to set the server per request).
//
// The document is a small model of the package's own ([Document] and the
// objects under it, and a Swagger 2.0 counterpart the conversion fills
// in): plain structs holding exactly the objects and fields this package
// writes, encoded with encoding/json (and goccy/go-yaml for YAML, as the
// admin CLI writes YAML). It used to be kin-openapi's openapi3.T, but
// kin-openapi is a document loader and validator: importing it links
// santhosh-tekuri/jsonschema, whose package initialisation compiles every
// JSON Schema meta-schema: that cost every tollgate process about 18 ms
// (more on a loaded machine) and 1.7 MB of allocations at start-up, and
// several MB of mapped pages (docs/performance.md, "Start-up without
// kin-openapi"), for a feature that only needs to print a document. The tests still
// load and validate the rendered documents with kin-openapi, and compare
// them with golden files written by the kin-openapi renderer.
package openapi
