package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/coder/websocket"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/interceptors/throttle"
)

// keyHeader sets x-api-key on every call of a connect-go client.
type keyHeader string

func (k keyHeader) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if k != "" {
			req.Header().Set("X-Api-Key", string(k))
		}
		return next(ctx, req)
	}
}

func (k keyHeader) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (k keyHeader) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// TestWebClientRefusals: an API key refusal (403 / PERMISSION_DENIED) and
// a usage plan's throttle (429 / RESOURCE_EXHAUSTED) are seen the same way
// over gRPC, gRPC-Web, Connect and the WebSocket bridge, with the same
// ErrorInfo reasons; one
// usage plan's bucket and quota count the calls of all three; a Connect
// unary refusal has the HTTP status REST clients get.
func TestWebClientRefusals(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	deployKeyedEcho(t, admin, actx)
	_, err := admin.CreateUsagePlan(actx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "web", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: "apis/bookstore/stages/demo"}},
		Throttle:  &adminv1.ThrottleSettings{RateLimit: 0.01, BurstLimit: 3},
	}})
	must(err)
	k, err := admin.CreateApiKey(actx, &adminv1.CreateApiKeyRequest{ApiKeyId: "browser"})
	must(err)
	_, err = admin.CreateUsagePlanKey(actx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/web", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: k.GetName()}})
	must(err)

	protocols := []struct {
		name string
		hc   *http.Client
		base string
		opts []connect.ClientOption
	}{
		{"grpc", h2cClient(t), "http://" + ts.DataAddr(), []connect.ClientOption{connect.WithGRPC()}},
		{"grpc-web", http1Client(t), "http://" + ts.DataAddr() + "/demo", []connect.ClientOption{connect.WithGRPCWeb()}},
		{"connect", http1Client(t), "http://" + ts.DataAddr() + "/demo", []connect.ClientOption{connect.WithProtoJSON()}},
	}
	call := func(i int, key string) error {
		p := protocols[i]
		c := connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](p.hc, p.base+"/tollgate.example.v1.EchoService/Echo",
			append(p.opts[:len(p.opts):len(p.opts)], connect.WithInterceptors(keyHeader(key)))...)
		_, err := c.CallUnary(actx, connect.NewRequest(&examplev1.EchoRequest{Message: "x"}))
		return err
	}
	check := func(name string, err error, code connect.Code, msg, reason string) {
		t.Helper()
		var ce *connect.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: got %v, want %v", name, err, code)
		}
		if ce.Code() != code || ce.Message() != msg || errorReason(ce) != reason {
			t.Errorf("%s: got %v %q reason %q, want %v %q reason %q", name, ce.Code(), ce.Message(), errorReason(ce), code, msg, reason)
		}
	}
	for i, p := range protocols {
		check(p.name+" without a key", call(i, ""), connect.CodePermissionDenied, "Forbidden", apikey.ReasonMissing)
		check(p.name+" with an unknown key", call(i, "nope-nope-nope-nope-nope"), connect.CodePermissionDenied, "Forbidden", apikey.ReasonInvalid)
	}
	// The plan's burst of 3 is shared by the three protocols.
	for i, p := range protocols {
		if err := call(i, k.GetValue()); err != nil {
			t.Fatalf("%s with the key: %v", p.name, err)
		}
	}
	for i, p := range protocols {
		err := call(i, k.GetValue())
		check(p.name+" over the plan's limit", err, connect.CodeResourceExhausted, throttle.Message, throttle.ReasonThrottled)
		if !hasRetryInfo(err) {
			t.Errorf("%s: no RetryInfo in %v", p.name, err)
		}
	}

	// Over the WebSocket bridge, the key comes in the metadata frame and
	// the refusal in the status frame.
	wsCall := func(key string) (code int, reason string) {
		c, _, err := websocket.Dial(actx, "ws://"+ts.DataAddr()+"/demo/tollgate.example.v1.EchoService/Echo",
			&websocket.DialOptions{Subprotocols: []string{"tollgate.grpc.v1"}})
		must(err)
		defer c.CloseNow()
		must(c.Write(actx, websocket.MessageText, []byte(`{"metadata":{"x-api-key":"`+key+`"}}`)))
		must(c.Write(actx, websocket.MessageText, []byte(`{"message":{"message":"x"}}`)))
		for {
			_, b, err := c.Read(actx)
			must(err)
			var f struct {
				Status *struct {
					Code    int `json:"code"`
					Details []struct {
						Reason string `json:"reason"`
					} `json:"details"`
				} `json:"status"`
			}
			must(json.Unmarshal(b, &f))
			if f.Status != nil {
				for _, d := range f.Status.Details {
					if d.Reason != "" {
						reason = d.Reason
					}
				}
				return f.Status.Code, reason
			}
		}
	}
	if code, reason := wsCall("nope-nope-nope-nope-nope"); code != int(connect.CodePermissionDenied) || reason != apikey.ReasonInvalid {
		t.Errorf("websocket with an unknown key: code %d, reason %q", code, reason)
	}
	if code, reason := wsCall(k.GetValue()); code != int(connect.CodeResourceExhausted) || reason != throttle.ReasonThrottled {
		t.Errorf("websocket over the plan's limit: code %d, reason %q", code, reason)
	}

	// A raw Connect unary call gets the HTTP status a REST call gets.
	for _, tc := range []struct {
		key  string
		want int
		code string
	}{
		{"", http.StatusForbidden, "permission_denied"},
		{k.GetValue(), http.StatusTooManyRequests, "resource_exhausted"},
	} {
		req, err := http.NewRequest(http.MethodPost, "http://"+ts.DataAddr()+"/demo/tollgate.example.v1.EchoService/Echo", strings.NewReader(`{"message":"x"}`))
		must(err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Connect-Protocol-Version", "1")
		if tc.key != "" {
			req.Header.Set("X-Api-Key", tc.key)
		}
		resp, err := http1Client(t).Do(req)
		must(err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var wire struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &wire); err != nil || resp.StatusCode != tc.want || wire.Code != tc.code {
			t.Errorf("raw Connect call: %d %s, want %d with code %s", resp.StatusCode, body, tc.want, tc.code)
		}
		if tc.want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Errorf("raw Connect call: 429 without Retry-After: %v", resp.Header)
		}
	}

	// The plan's usage counts the admitted calls of every protocol.
	today := time.Now().UTC().Format("2006-01-02")
	u, err := admin.GetUsage(actx, &adminv1.GetUsageRequest{UsagePlan: "usagePlans/web", StartDate: today, EndDate: today})
	must(err)
	if len(u.GetItems()) != 1 || u.GetItems()[0].GetDays()[0].GetCalls() != 3 {
		t.Errorf("usage: %v, want 3 calls", u)
	}
}

// errorReason returns the reason of a connect error's ErrorInfo.
func errorReason(ce *connect.Error) string {
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if ei, ok := v.(*errdetails.ErrorInfo); ok {
				return ei.GetReason()
			}
		}
	}
	return ""
}

// hasRetryInfo reports whether a connect error carries a RetryInfo.
func hasRetryInfo(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return false
	}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if _, ok := v.(*errdetails.RetryInfo); ok {
				return true
			}
		}
	}
	return false
}
