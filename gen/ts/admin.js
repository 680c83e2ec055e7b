// Everything of tollgate.admin.v1: messages, enums and service definitions.
// Kept by hand next to the generated code: a test checks that it re-exports
// every generated file of the package.
export * from "./tollgate/admin/v1/access_pb.js";
export * from "./tollgate/admin/v1/admin_service_pb.js";
export * from "./tollgate/admin/v1/api_pb.js";
export * from "./tollgate/admin/v1/certificate_pb.js";
export * from "./tollgate/admin/v1/common_pb.js";
export * from "./tollgate/admin/v1/keys_pb.js";
export * from "./tollgate/admin/v1/websocket_pb.js";
