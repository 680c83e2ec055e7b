// A Connect-Node client of the example EchoService, called through the
// gateway by TestNodeClient (server/gateway/webclients_node_test.go):
//
//   node echo_client.mjs BASE_URL DESCRIPTOR_SET_FILE
//
// The service comes from the descriptor set at run time (no generated
// code). Every protocol and HTTP version Connect-Node has calls every kind
// of method its transport allows, and a Connect GET of a side-effect-free
// method; the script prints one line per check and
// exits non-zero on the first failure.
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

const [baseUrl, fdsPath] = process.argv.slice(2);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(fdsPath)));
const echoService = registry.getService("tollgate.example.v1.EchoService");
const bookstoreService = registry.getService("tollgate.example.v1.BookstoreService");

function check(cond, what) {
  if (!cond) {
    throw new Error("check failed: " + what);
  }
}

async function* messages(...texts) {
  for (const message of texts) {
    yield { message };
  }
}

const cases = [
  { name: "connect-json/http1.1", transport: createConnectTransport({ baseUrl, httpVersion: "1.1" }), streams: false },
  { name: "connect-proto/http1.1", transport: createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }), streams: false },
  { name: "connect-proto/http2", transport: createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }), streams: true },
  { name: "grpc-web/http1.1", transport: createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }), streams: false },
  { name: "grpc-web/http2", transport: createGrpcWebTransport({ baseUrl, httpVersion: "2" }), streams: true },
];

for (const c of cases) {
  const client = createClient(echoService, c.transport);

  const res = await client.echo({ message: "hi from node" }, { headers: { "x-echo-lang": "js" } });
  check(res.message === "hi from node", `${c.name} unary: ${res.message}`);
  console.log(`ok ${c.name} unary`);

  try {
    await client.echo({ message: "fail:NOT_FOUND" });
    check(false, `${c.name} failure: no error`);
  } catch (err) {
    const ce = ConnectError.from(err);
    check(ce.code === Code.NotFound && ce.rawMessage === "echo: requested failure", `${c.name} failure: ${ce.code} ${ce.rawMessage}`);
  }
  console.log(`ok ${c.name} error`);

  const got = [];
  for await (const m of client.echoServerStream({ message: "s", repeat: 3 })) {
    got.push(m.index);
  }
  check(got.join(",") === "0,1,2", `${c.name} server stream: ${got}`);
  console.log(`ok ${c.name} server stream`);

  if (!c.streams) {
    continue;
  }
  const sum = await client.echoClientStream(messages("a", "b", "c"));
  check(sum.message === "abc" && sum.index === 3, `${c.name} client stream: ${sum.message} ${sum.index}`);
  console.log(`ok ${c.name} client stream`);

  const echoed = [];
  for await (const m of client.echoBidiStream(messages("x", "y", "z"))) {
    echoed.push(m.message);
  }
  check(echoed.join("") === "xyz", `${c.name} bidi stream: ${echoed}`);
  console.log(`ok ${c.name} bidi stream`);
}

// A side-effect-free method over Connect GET (the test checks the gateway
// saw a GET).
const bookstore = createClient(bookstoreService, createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true }));
const book = await bookstore.getBook({ name: "shelves/fiction/books/b1" });
check(book.title === "The Left Hand of Darkness", `connect GET: ${book.title}`);
console.log("ok connect-json/http1.1 GET");
