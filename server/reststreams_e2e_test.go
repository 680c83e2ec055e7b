package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// streamCall is a REST call with a streamed body to the data port.
type streamCall struct {
	client *http.Client
	url    string
	key    string
	accept string
	header map[string]string
}

// do sends body and reads the whole response.
func (c streamCall) do(t *testing.T, body string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c.setHeaders(req)
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", c.url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading: %v", c.url, err)
	}
	return resp, string(b)
}

func (c streamCall) setHeaders(req *http.Request) {
	req.Header.Set("Content-Type", "application/x-ndjson")
	if c.key != "" {
		req.Header.Set("X-Api-Key", c.key)
	}
	if c.accept != "" {
		req.Header.Set("Accept", c.accept)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
}

// TestRESTClientAndBidiStreams calls the example backend's client-streaming
// and bidirectional methods over REST through the whole data port (issue
// 18): newline-delimited JSON both ways, full duplex on HTTP/1.1 and
// HTTP/2, under the same policies as every call (an API key route, the
// access log, the throttle), with the API's header mapping.
func TestRESTClientAndBidiStreams(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	var access syncBuffer
	cfg.AccessLog = &access
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"EchoClientStream", "EchoBidiStream"} {
		_, err := admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: strings.ToLower(m), Route: &adminv1.Route{
			Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/" + m}, ApiKeyRequired: true,
		}})
		must(err)
	}
	deploy := func() {
		t.Helper()
		d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
		must(err)
		_, err = admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{
			Name: "apis/bookstore/stages/demo", Deployment: d.GetName(),
			AccessLog: &adminv1.AccessLogSettings{Enabled: true, Fields: []string{"grpcMethod", "status", "protocol"}},
		}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment", "access_log"}}})
		must(err)
	}
	deploy()
	key, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "streams"})
	must(err)
	_, err = admin.CreateUsagePlan(actx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "streams", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
	}})
	must(err)
	_, err = admin.CreateUsagePlanKey(actx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/streams", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}})
	must(err)

	base := "http://" + ts.DataAddr() + "/demo/tollgate.example.v1.EchoService/"
	clients := map[string]*http.Client{"HTTP/1.1": http1Client(t), "HTTP/2": h2cClient(t)}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			upload := streamCall{client: client, url: base + "EchoClientStream", key: key.GetValue()}
			resp, body := upload.do(t, "{\"message\":\"a\"}\n{\"message\":\"b\"}\n")
			if resp.StatusCode != 200 || !strings.Contains(body, `"message":"ab"`) || !strings.Contains(body, `"index":2`) {
				t.Errorf("client stream: %d %s", resp.StatusCode, body)
			}
			if v := resp.Header.Values("Grpc-Metadata-Content-Type"); v != nil {
				t.Errorf("Grpc-Metadata-Content-Type %q", v)
			}
			upload.key = ""
			if resp, body := upload.do(t, `{"message":"a"}`); resp.StatusCode != 403 || !strings.Contains(body, "API_KEY_MISSING") {
				t.Errorf("client stream without a key: %d %s", resp.StatusCode, body)
			}

			chat := streamCall{client: client, url: base + "EchoBidiStream", key: key.GetValue(), accept: "application/x-ndjson"}
			resp, body = chat.do(t, "{\"message\":\"a\"}\n{\"message\":\"b\"}\n")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" || strings.Count(body, `{"result":`) != 2 {
				t.Errorf("bidi: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			chat.key = ""
			if resp, body := chat.do(t, `{"message":"a"}`); resp.StatusCode != 403 || !strings.Contains(body, "API_KEY_MISSING") {
				t.Errorf("bidi without a key: %d %s", resp.StatusCode, body)
			}

			// Full duplex: each message goes out after the previous
			// response came back.
			chat.key = key.GetValue()
			interactiveBidi(t, chat, 3)
		})
	}
	if log := access.String(); !strings.Contains(log, "/tollgate.example.v1.EchoService/EchoClientStream") || !strings.Contains(log, "/tollgate.example.v1.EchoService/EchoBidiStream") {
		t.Errorf("access log without the stream calls:\n%s", log)
	}

	// Header mapping: x-echo-* request headers reach the backend, which
	// sends them back as response metadata; first prefixed, then plain.
	echoCall := streamCall{client: clients["HTTP/1.1"], url: base + "EchoClientStream", key: key.GetValue(), header: map[string]string{"X-Echo-Color": "blue"}}
	if resp, _ := echoCall.do(t, `{}`); resp.Header.Get("Grpc-Metadata-X-Echo-Color") != "" || resp.Header.Get("X-Echo-Color") != "" {
		t.Errorf("X-Echo-Color forwarded without a header mapping: %v", resp.Header)
	}
	setMapping := func(m *adminv1.HeaderMapping) error {
		_, err := admin.UpdateApi(actx, &adminv1.UpdateApiRequest{
			Api:        &adminv1.Api{Name: "apis/bookstore", HeaderMapping: m},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"header_mapping"}},
		})
		return err
	}
	must(setMapping(&adminv1.HeaderMapping{RequestHeadersToMetadata: []string{"X-Echo-*"}}))
	deploy()
	if resp, _ := echoCall.do(t, `{}`); resp.Header.Get("Grpc-Metadata-X-Echo-Color") != "blue" {
		t.Errorf("mapped X-Echo-Color: %v", resp.Header)
	}
	must(setMapping(&adminv1.HeaderMapping{RequestHeadersToMetadata: []string{"x-echo-color"}, ResponseMetadataAsHeaders: true}))
	deploy()
	if resp, _ := echoCall.do(t, `{}`); resp.Header.Get("X-Echo-Color") != "blue" || resp.Header.Get("Grpc-Metadata-X-Echo-Color") != "" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("plain response metadata: %v", resp.Header)
	}

	// A mapping the gateway cannot honour is refused, naming the field.
	for i, bad := range [][]string{{"*"}, {"x-ok", "grpc-timeout"}, {"x-tollgate-stage"}, {"content-type"}, {"x y"}} {
		err := setMapping(&adminv1.HeaderMapping{RequestHeadersToMetadata: bad})
		want := fmt.Sprintf("api.header_mapping.request_headers_to_metadata[%d]", len(bad)-1)
		if status.Code(err) != codes.InvalidArgument || !namesField(err, want) {
			t.Errorf("mapping %d %q: %v, want INVALID_ARGUMENT naming %s", i, bad, err, want)
		}
	}

	// The throttle's refusal carries Retry-After, never
	// Grpc-Metadata-Retry-After.
	_, err = admin.UpdateStage(actx, &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: "apis/bookstore/stages/demo", DefaultThrottle: &adminv1.ThrottleSettings{RateLimit: 0.01, BurstLimit: 1}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_throttle"}},
	})
	must(err)
	for i := range 2 {
		for _, path := range []string{"/demo/v1/echo", "/demo/tollgate.example.v1.EchoService/EchoClientStream"} {
			req := streamCall{client: clients["HTTP/1.1"], url: "http://" + ts.DataAddr() + path, key: key.GetValue(), header: map[string]string{"Content-Type": "application/json"}}
			resp, body := req.do(t, `{}`)
			if i == 0 {
				continue // the route's one token
			}
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: %d, Retry-After %q: %s", path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			for k := range resp.Header {
				if strings.HasPrefix(k, "Grpc-Metadata-") {
					t.Errorf("%s: stray header %s: %q", path, k, resp.Header.Values(k))
				}
			}
		}
	}
}

// interactiveBidi sends n messages on one bidirectional call, each after
// the response to the previous one arrived.
func interactiveBidi(t *testing.T, c streamCall, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	defer func() { _ = pw.Close() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, pr)
	if err != nil {
		t.Fatal(err)
	}
	c.setHeaders(req)
	send := func(i int) {
		go func() { _, _ = fmt.Fprintf(pw, "{\"message\":\"m%d\"}\n", i) }()
	}
	send(0)
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("interactive bidi: %d %s", resp.StatusCode, b)
	}
	lines := bufio.NewScanner(resp.Body)
	for i := range n {
		if !lines.Scan() {
			t.Fatalf("line %d: %v", i, lines.Err())
		}
		var line struct {
			Result struct {
				Message string `json:"message"`
				Index   int    `json:"index"`
			} `json:"result"`
		}
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil || line.Result.Message != fmt.Sprintf("m%d", i) || line.Result.Index != i {
			t.Fatalf("line %d: %q (%v)", i, lines.Text(), err)
		}
		if i+1 < n {
			send(i + 1)
		}
	}
	_ = pw.Close()
	if lines.Scan() {
		t.Errorf("unexpected line %q", lines.Text())
	}
}

// namesField reports whether err carries a BadRequest violation of field.
func namesField(err error, field string) bool {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}
