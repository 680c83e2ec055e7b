// Package serviceconfig reads the HTTP rules of a google.api.Service YAML
// (grpc-gateway's grpc_api_configuration, Cloud Endpoints' service config)
// and merges them into an API's descriptors as google.api.http options.
//
// The YAML is read as grpc-gateway reads it (go.yaml.in/yaml/v3 to JSON,
// then protojson), but strictly: it must be a google.api.Service, so a
// misspelt field is an error instead of a rule silently lost. The merge
// follows grpc-gateway's registry: a method's rules from the file come
// first, in file order, then its own annotation, and all of them are
// served. Writing the merged rules into the descriptors, once per
// deployment, lets everything downstream (routing, transcoding, OpenAPI,
// reflection) read rules from one place.
package serviceconfig
