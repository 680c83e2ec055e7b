package transcode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// fakeConn is a grpc.ClientConnInterface without a network: Invoke
// marshals the request to the wire format, as a real call would, and
// answers with response (wire format) or, without one, with an
// EchoResponse-shaped reply holding the request in its "request" Any field.
type fakeConn struct {
	response []byte
}

var _ grpc.ClientConnInterface = fakeConn{}

func (c fakeConn) Invoke(_ context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	req, ok := args.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "request of type %T", args)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	out := reply.(proto.Message)
	if c.response != nil {
		return proto.Unmarshal(c.response, out)
	}
	m := out.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("request"); fd != nil && fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Any" {
		a := &anypb.Any{TypeUrl: "type.googleapis.com/" + string(req.ProtoReflect().Descriptor().FullName()), Value: b}
		ab, err := proto.Marshal(a)
		if err != nil {
			return err
		}
		field := m.Mutable(fd).Message()
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(ab, field.Interface()); err != nil {
			return err
		}
		if mf := m.Descriptor().Fields().ByName("method"); mf != nil {
			m.Set(mf, protoreflect.ValueOfString(method))
		}
	}
	return nil
}

// NewStream starts a client-streaming call (the only streaming kind the
// fuzz targets make): each request is marshaled to the wire format, as a
// real call would, and the response is an EchoResponse whose method is the
// number of requests.
func (fakeConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, _ string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	if desc.ServerStreams {
		return nil, status.Error(codes.Unimplemented, "fakeConn streams only requests")
	}
	return &fakeClientStream{ctx: ctx}, nil
}

// fakeClientStream is the client side of a fakeConn client-streaming call.
type fakeClientStream struct {
	grpc.ClientStream
	ctx  context.Context
	sent int
}

func (s *fakeClientStream) Context() context.Context     { return s.ctx }
func (s *fakeClientStream) Header() (metadata.MD, error) { return metadata.MD{}, nil }
func (s *fakeClientStream) Trailer() metadata.MD         { return metadata.MD{} }
func (s *fakeClientStream) CloseSend() error             { return nil }

func (s *fakeClientStream) SendMsg(m any) error {
	if _, err := proto.Marshal(m.(proto.Message)); err != nil {
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	s.sent++
	return nil
}

func (s *fakeClientStream) RecvMsg(m any) error {
	msg := m.(proto.Message).ProtoReflect()
	if fd := msg.Descriptor().Fields().ByName("method"); fd != nil {
		msg.Set(fd, protoreflect.ValueOfString(strconv.Itoa(s.sent)))
	}
	return nil
}

// fuzzRoutes are the bindings FuzzTranscodeJSONBody sends bodies to: the
// whole request, a body field, and a PATCH that derives a field mask.
var fuzzRoutes = []struct{ method, path string }{
	{http.MethodPost, "/v1/query:search"},
	{http.MethodPost, "/v1/projects/p1/resources?resource_id=r"},
	{http.MethodPatch, "/v1/projects/p1/resources/r1"},
	{http.MethodPost, "/tollgate.testing.v1.TranscodingTestService/Unbound"},
	{http.MethodPost, "/v1/upload"}, // a stream of messages
}

// FuzzTranscodeJSONBody sends arbitrary bytes as a JSON request body. The
// Transcoder must answer every one, in bounded time, with 200 or a 4xx
// google.rpc.Status: never panic, hang, or fail with a 5xx (which would
// mean it accepted a body that the call could not carry).
func FuzzTranscodeJSONBody(f *testing.F) {
	for _, seed := range []string{
		fullSearchBody, `{}`, ``, ` `, `null`, `[]`, `{"text":"a"} x`, `{"text":"a","text":"b"}`,
		"{\"text\":\"\xff\"}", `{"text":"\ud800"}`, deep(50), deepStruct(50), `{"any":{"@type":"type.googleapis.com/google.protobuf.Value","value":[1]}}`,
		`{"displayName":"x","labels":{"a":"b"},"nested":{"child":{"level":1}}}`, `{"number":"9223372036854775808"}`,
		`{"mask":"a.b,c"}`, `{"time":"0001-01-01T00:00:00Z"}`, `{"duration":"315576000001s"}`, `{"structValue":{"a":{"b":[{}]}}}`,
		"{\"chunk\":\"AAEC\"}\n{\"chunk\":\"AQ==\"}\n", `{"chunk":"AA=="}{}`, "{}\n{\"chunk\"", `{"chunk":"AA=="} ]`,
	} {
		for i := range fuzzRoutes {
			f.Add(uint8(i), []byte(seed))
		}
	}
	tc := newTestTranscoder(f, fakeConn{})
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		tc.ServeHTTP(rec, req)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK && !strings.Contains(rec.Body.String(), `"code":`) {
			t.Fatalf("status %d without a google.rpc.Status: %s", rec.Code, rec.Body)
		}
	})
}
