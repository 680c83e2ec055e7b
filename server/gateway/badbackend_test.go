package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/validate"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// The labels API has one message type with a map field, which the
// gateway decodes into dynamicpb messages (it has no generated type):
//
//	service LabelService {
//	  rpc Get(Labels) returns (Labels) { get: "/v1/labels/{name}" }
//	  rpc Watch(Labels) returns (stream Labels) { get: "/v1/labels/{name}:watch" }
//	}
//	message Labels { string name = 1; map<string, string> labels = 2; }
const (
	labelsGet   = "/labels.v1.LabelService/Get"
	labelsWatch = "/labels.v1.LabelService/Watch"
)

// labelsDescriptorSet returns the labels API as a user would upload it.
func labelsDescriptorSet(t testing.TB) []byte {
	t.Helper()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	method := func(name, path string, stream bool) *descriptorpb.MethodDescriptorProto {
		opts := &descriptorpb.MethodOptions{}
		proto.SetExtension(opts, annotations.E_Http, &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: path}})
		return &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".labels.v1.Labels"), OutputType: proto.String(".labels.v1.Labels"),
			ServerStreaming: proto.Bool(stream), Options: opts,
		}
	}
	file := &descriptorpb.FileDescriptorProto{
		Name: proto.String("labels/v1/labels.proto"), Package: proto.String("labels.v1"), Syntax: proto.String("proto3"),
		Dependency: []string{"google/api/annotations.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Labels"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("name"), JsonName: proto.String("name"), Number: proto.Int32(1), Label: opt, Type: str},
				{
					Name: proto.String("labels"), JsonName: proto.String("labels"), Number: proto.Int32(2),
					Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
					TypeName: proto.String(".labels.v1.Labels.LabelsEntry"),
				},
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name:    proto.String("LabelsEntry"),
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
				Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("key"), JsonName: proto.String("key"), Number: proto.Int32(1), Label: opt, Type: str},
					{Name: proto.String("value"), JsonName: proto.String("value"), Number: proto.Int32(2), Label: opt, Type: str},
				},
			}},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:   proto.String("LabelService"),
			Method: []*descriptorpb.MethodDescriptorProto{method("Get", "/v1/labels/{name}", false), method("Watch", "/v1/labels/{name}:watch", true)},
		}},
	}
	set := examplebackend.DescriptorSetOf(annotations.File_google_api_annotations_proto)
	set.File = append(set.File, file)
	if _, err := protodesc.NewFiles(set); err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// labelsMessage encodes Labels{name, labels: {key: value}}.
func labelsMessage(name, key, value string) []byte {
	entry := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), key)
	entry = protowire.AppendString(protowire.AppendTag(entry, 2, protowire.BytesType), value)
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), name)
	return protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), entry)
}

// malformedLabels is Labels whose map entry repeats its key with the
// varint wire type: proto.Unmarshal into a dynamicpb message panics on it
// (google.golang.org/protobuf v1.36.12) instead of returning an error.
func malformedLabels() []byte {
	entry := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "a")
	entry = protowire.AppendVarint(protowire.AppendTag(entry, 1, protowire.VarintType), 7)
	return protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), entry)
}

// truncatedLabels is a response proto.Unmarshal rejects with an error:
// what the gateway answers for it is what it must answer for a panic.
func truncatedLabels() []byte {
	b := labelsMessage("t", "a", "b")
	return b[:len(b)-1]
}

// labelsBackend serves the labels API over gRPC, as raw bytes: a call
// whose request mentions "malformed" gets malformedLabels, "truncated"
// truncatedLabels, any other a valid message (Watch: two).
func labelsBackend(t testing.TB) string {
	t.Helper()
	frame := func(b []byte) *grpcproxy.Frame {
		f := &grpcproxy.Frame{}
		if err := (grpcproxy.Messages{}).Unmarshal(b, f); err != nil {
			t.Error(err)
		}
		return f
	}
	handler := func(_ any, ss grpc.ServerStream) error {
		req := &grpcproxy.Frame{}
		if err := ss.RecvMsg(req); err != nil {
			return err
		}
		in := req.Bytes()
		resp := labelsMessage("ok", "a", "b")
		switch {
		case bytes.Contains(in, []byte("malformed")):
			resp = malformedLabels()
		case bytes.Contains(in, []byte("truncated")):
			resp = truncatedLabels()
		}
		method, _ := grpc.Method(ss.Context())
		n := 1
		if method == labelsWatch && bytes.Equal(resp, labelsMessage("ok", "a", "b")) {
			n = 2
		}
		for range n {
			if err := ss.SendMsg(frame(resp)); err != nil {
				return err
			}
		}
		return nil
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(grpcproxy.Codec()), grpc.UnknownServiceHandler(handler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// startLabelsGateway serves the labels API, with request validation, at
// the stage prod.
func startLabelsGateway(t *testing.T, relay gateway.Option) *testGateway {
	t.Helper()
	validator := validate.New(grpcproxy.Messages{})
	tg := startGateway(t, relay, gateway.WithInterceptors(validator.StreamServerInterceptor()))
	d := deployment(t, "labels", "v1", labelsBackend(t))
	d.Snapshot.Api.DescriptorSource = &adminv1.Api_FileDescriptorSet{FileDescriptorSet: labelsDescriptorSet(t)}
	d.Snapshot.Api.ValidateRequests = true
	d.Snapshot.Routes = []*adminv1.Route{{Name: "apis/labels/routes/get", Match: &adminv1.Route_GrpcMethod{GrpcMethod: labelsGet}}}
	tg.load(t, entry("labels", "prod", d, nil))
	return tg
}

// restGet returns the status and body of a GET.
func restGet(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v (the connection must not be reset)", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// TestMalformedBackendResponse is the regression test for a backend
// response that makes the protobuf decoder panic: over REST the gateway
// answers as for any undecodable response, over gRPC it relays the bytes,
// and it keeps serving either way.
func TestMalformedBackendResponse(t *testing.T) { bothRelays(t, testMalformedBackendResponse) }

func testMalformedBackendResponse(t *testing.T, relay gateway.Option) {
	tg := startLabelsGateway(t, relay)

	for _, tt := range []struct{ name, path string }{
		{"REST unary", "/prod/v1/labels/%s"},
		{"REST server streaming", "/prod/v1/labels/%s:watch"},
	} {
		path := tt.path
		t.Run(tt.name, func(t *testing.T) {
			wantStatus, wantBody := restGet(t, tg.url(strings.Replace(path, "%s", "truncated", 1)))
			if wantStatus == http.StatusOK && !strings.Contains(wantBody, "error") {
				t.Fatalf("a truncated response: %d %s, want an error", wantStatus, wantBody)
			}
			status, body := restGet(t, tg.url(strings.Replace(path, "%s", "malformed", 1)))
			// The same code and message (up to its cause): a decode error,
			// not the data plane's panic recovery, nor a reset connection.
			code, msg := restError(body)
			wantCode, wantMsg := restError(wantBody)
			if status < 500 || status != wantStatus || code != wantCode || msg != wantMsg {
				t.Errorf("a malformed response: %d %s; want what a truncated one gets: %d %s", status, body, wantStatus, wantBody)
			}
			status, body = restGet(t, tg.url(strings.Replace(path, "%s", "ok", 1)))
			if status != http.StatusOK || !strings.Contains(body, `"labels":{"a":"b"}`) {
				t.Errorf("the next good call: %d %s", status, body)
			}
		})
	}

	t.Run("gRPC", func(t *testing.T) {
		conn := tg.grpcConn(t)
		call := func(req []byte) ([]byte, error) {
			in, out := &grpcproxy.Frame{}, &grpcproxy.Frame{}
			if err := (grpcproxy.Messages{}).Unmarshal(req, in); err != nil {
				t.Fatal(err)
			}
			err := conn.Invoke(ctx(t), labelsGet, in, out, grpc.ForceCodecV2(grpcproxy.Codec()))
			return out.Bytes(), err
		}
		// The gateway relays response bytes without decoding them.
		got, err := call(labelsMessage("malformed", "", ""))
		if err != nil || !bytes.Equal(got, malformedLabels()) {
			t.Errorf("a malformed response: %x, %v; want %x relayed", got, err, malformedLabels())
		}
		// A malformed request on a validated route is the caller's error.
		_, err = call(malformedLabels())
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || reasonOf(st) != "REQUEST_INVALID" {
			t.Errorf("a malformed request: %v, want INVALID_ARGUMENT with reason REQUEST_INVALID", err)
		}
		got, err = call(labelsMessage("ok", "", ""))
		if err != nil || !bytes.Equal(got, labelsMessage("ok", "a", "b")) {
			t.Errorf("the next good call: %x, %v", got, err)
		}
	})
}

// restError returns the gRPC code of a grpc-gateway error body, or of the
// error of a streamed one (-1 if there is none), and its message up to the
// first colon: what failed, without the cause.
func restError(body string) (int, string) {
	type status struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	var e struct {
		Code    *int    `json:"code"`
		Message string  `json:"message"`
		Error   *status `json:"error"`
	}
	if err := json.NewDecoder(strings.NewReader(body)).Decode(&e); err != nil {
		return -1, ""
	}
	st := e.Error
	if st == nil && e.Code != nil {
		st = &status{Code: *e.Code, Message: e.Message}
	}
	if st == nil {
		return -1, ""
	}
	what, _, _ := strings.Cut(st.Message, ":")
	return st.Code, what
}

// reasonOf returns the reason of st's ErrorInfo.
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
