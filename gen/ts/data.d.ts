// Everything of tollgate.data.v1: messages, enums and service definitions.
// Kept by hand next to the generated code: a test checks that it re-exports
// every generated file of the package.
export * from "./tollgate/data/v1/authorizer_pb.js";
export * from "./tollgate/data/v1/connections_pb.js";
