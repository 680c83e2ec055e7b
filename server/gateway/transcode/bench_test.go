package transcode_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	testingv1 "github.com/tollgate-gw/tollgate/gen/tollgate/testing/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// benchPath and benchBody make a realistic create call: a 1 KB resource
// with nested messages, a map, a Struct, well-known types and int64s, with
// the rest of the request in the path and the query string.
const (
	benchPath = "/v1/projects/acme/resources?resource_id=report-2024-q3&validate_only=false"
	benchBody = `{
  "displayName": "Quarterly report 2024 Q3, consolidated figures for all regions and business units",
  "sizeBytes": "1048576",
  "color": "COLOR_GREEN",
  "tags": ["finance", "quarterly", "2024", "consolidated", "reviewed", "board"],
  "labels": {"env": "prod", "team": "finance", "cost-center": "cc-4711", "region": "eu-west-1", "owner": "alice@example.com"},
  "createTime": "2024-10-01T12:34:56.789Z",
  "ttl": "2592000s",
  "attributes": {
    "pages": 42,
    "confidential": true,
    "reviewers": ["bob@example.com", "carol@example.com", "dave@example.com"],
    "checksum": {"algorithm": "sha256", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    "summary": "Revenue grew in every region; operating costs fell for the third quarter in a row."
  },
  "etag": "W/\"5f3c-1a2b3c4d\"",
  "nested": {"name": "section-1", "level": 2, "color": "COLOR_BLUE", "child": {"name": "paragraph-7", "level": 3}, "tags": ["intro", "summary"]}
}`
)

// referenceMux returns grpc-gateway's generated handlers for the test
// service on client, with the marshaler the Transcoder uses.
func referenceMux(b *testing.B, client testingv1.TranscodingTestServiceClient) *runtime.ServeMux {
	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}))
	if err := testingv1.RegisterTranscodingTestServiceHandlerClient(context.Background(), mux, client); err != nil {
		b.Fatal(err)
	}
	return mux
}

// benchServe sends the benchmark request to h b.N times, in memory on the
// HTTP side.
func benchServe(b *testing.B, h http.Handler) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	body := strings.NewReader(benchBody)
	for b.Loop() {
		body.Reset(benchBody)
		req := httptest.NewRequest(http.MethodPost, benchPath, body)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkTranscodeUnary measures a whole unary call: JSON to a dynamic
// message, to the wire, through a real gRPC backend on loopback, and the
// response back to JSON (about 1.5 KB: the backend echoes the request). The
// grpc-gateway sub-benchmark runs the generated handler on the same
// backend, for comparison.
func BenchmarkTranscodeUnary(b *testing.B) {
	conn := startTestBackend(b)
	b.Run("tollgate", func(b *testing.B) { benchServe(b, newTestTranscoder(b, conn)) })
	b.Run("grpc-gateway", func(b *testing.B) {
		benchServe(b, referenceMux(b, testingv1.NewTranscodingTestServiceClient(conn)))
	})
}

// BenchmarkTranscodeCodec isolates the transcoding from the network: the
// connection marshals the request and unmarshals a canned response, so it
// measures JSON → dynamic message → wire → dynamic message → JSON, plus
// the routing and the query string and path variables.
func BenchmarkTranscodeCodec(b *testing.B) {
	req := &testingv1.CreateResourceRequest{}
	if err := protojson.Unmarshal([]byte(`{"parent":"projects/acme","resourceId":"report-2024-q3","resource":`+benchBody+`}`), req); err != nil {
		b.Fatal(err)
	}
	a, err := anypb.New(req)
	if err != nil {
		b.Fatal(err)
	}
	canned, err := proto.Marshal(&testingv1.EchoResponse{
		Method:   "/tollgate.testing.v1.TranscodingTestService/CreateResource",
		Request:  a,
		Metadata: map[string]string{"grpcgateway-content-type": "application/json", "x-forwarded-for": "192.0.2.1"},
	})
	if err != nil {
		b.Fatal(err)
	}
	conn := fakeConn{response: canned}
	b.Run("tollgate", func(b *testing.B) { benchServe(b, newTestTranscoder(b, conn)) })
	b.Run("tollgate-dynamicpb", func(b *testing.B) { benchServe(b, transcode.WithoutFastPath(newTestTranscoder(b, conn))) })
	b.Run("grpc-gateway", func(b *testing.B) {
		benchServe(b, referenceMux(b, testingv1.NewTranscodingTestServiceClient(grpc.ClientConnInterface(conn))))
	})
}

// BenchmarkTranscodeEcho is loadbench's rest-unary call without the
// network: POST /v1/echo with a message and a 1 KiB base64 payload, and the
// echoed response (examplev1.EchoResponse) back to JSON. Its request and
// response are plain proto3 messages, which the fast path translates
// without dynamic messages. The grpc-gateway sub-benchmark runs the
// generated handler on the same connection.
func BenchmarkTranscodeEcho(b *testing.B) {
	payload := make([]byte, 1024)
	for i := range payload {
		payload[i] = byte(i)
	}
	body, err := json.Marshal(map[string]string{"message": "bench", "payload": base64.StdEncoding.EncodeToString(payload)})
	if err != nil {
		b.Fatal(err)
	}
	canned, err := proto.Marshal(&examplev1.EchoResponse{Message: "bench", Payload: payload})
	if err != nil {
		b.Fatal(err)
	}
	conn := fakeConn{response: canned}
	files := filesFrom(b, descriptorSet(examplev1.File_tollgate_example_v1_echo_proto))
	tc, err := transcode.New(files, services(b, files, "tollgate.example.v1.EchoService"), conn)
	if err != nil {
		b.Fatal(err)
	}
	serve := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		r := bytes.NewReader(body)
		for b.Loop() {
			r.Reset(body)
			req := httptest.NewRequest(http.MethodPost, "/v1/echo", r)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("tollgate", func(b *testing.B) { serve(b, tc) })
	b.Run("tollgate-dynamicpb", func(b *testing.B) {
		slow, err := transcode.New(files, services(b, files, "tollgate.example.v1.EchoService"), conn)
		if err != nil {
			b.Fatal(err)
		}
		serve(b, transcode.WithoutFastPath(slow))
	})
	b.Run("grpc-gateway", func(b *testing.B) {
		mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
		}}))
		if err := examplev1.RegisterEchoServiceHandlerClient(context.Background(), mux, examplev1.NewEchoServiceClient(grpc.ClientConnInterface(conn))); err != nil {
			b.Fatal(err)
		}
		serve(b, mux)
	})
}

// benchStreamBody is a request stream of 100 messages of about 1 KB.
var benchStreamBody = strings.Repeat(`{"chunk":"`+strings.Repeat("QUJD", 256)+`"}`+"\n", 100)

// benchStream posts benchStreamBody to path on h b.N times.
func benchStream(b *testing.B, h http.Handler, path string) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchStreamBody)))
	body := strings.NewReader(benchStreamBody)
	for b.Loop() {
		body.Reset(benchStreamBody)
		req := httptest.NewRequest(http.MethodPost, path, body)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkTranscodeClientStream measures a client-streaming call of 100
// messages (100 KB of newline-delimited JSON) through a real gRPC backend
// on loopback, against grpc-gateway's generated handler on the same
// backend.
func BenchmarkTranscodeClientStream(b *testing.B) {
	conn := startTestBackend(b)
	b.Run("tollgate", func(b *testing.B) { benchStream(b, newTestTranscoder(b, conn), "/v1/upload") })
	b.Run("grpc-gateway", func(b *testing.B) {
		benchStream(b, referenceMux(b, testingv1.NewTranscodingTestServiceClient(conn)), "/v1/upload")
	})
}
