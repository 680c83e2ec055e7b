// A small client of the generated TypeScript SDK (gen/ts), run by
// TestTypeScriptSDK with Node against a real gateway. It speaks gRPC through
// @connectrpc/connect-node, as a Node service would:
//
//   node client.mjs ADMIN_URL DATA_URL TOKEN CONNECTION_ID
//
// and prints one JSON object with what it saw, for the Go test to check.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { adminv1, datav1 } from "../../../gen/ts/index.js";

const [adminURL, dataURL, token, connectionId] = process.argv.slice(2);
const auth = { authorization: `Bearer ${token}` };

const admin = createClient(adminv1.AdminService, createGrpcTransport({ baseUrl: adminURL }));
const connections = createClient(datav1.ConnectionsService, createGrpcTransport({ baseUrl: dataURL }));

const out = {};

// An API key: its value is in this response only.
const key = await admin.createApiKey(
  {
    apiKeyId: "from-typescript",
    apiKey: create(adminv1.ApiKeySchema, { displayName: "TypeScript SDK", customerId: "cust-ts" }),
  },
  { headers: auth },
);
out.keyName = key.name;
out.keyValueLength = key.value.length;

const apis = await admin.listApis({}, { headers: auth });
out.apis = apis.apis.map((a) => a.name).sort();

// Without the token the admin API refuses, with a Connect error code.
try {
  await admin.listApis({});
  out.unauthenticated = "no error";
} catch (err) {
  out.unauthenticated = Code[ConnectError.from(err).code];
}

// The WebSocket callback API on the data port.
const conn = await connections.getConnection({ connectionId }, { headers: auth });
out.connectionStage = conn.stage;
await connections.postToConnection(
  { connectionId, data: new TextEncoder().encode("hello from typescript") },
  { headers: auth },
);
try {
  await connections.getConnection({ connectionId: "no-such-connection" }, { headers: auth });
  out.unknownConnection = "no error";
} catch (err) {
  out.unknownConnection = Code[ConnectError.from(err).code];
}

console.log(JSON.stringify(out));
