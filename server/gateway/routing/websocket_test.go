package routing

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

func TestSelectionExpression(t *testing.T) {
	tests := []struct {
		expr, msg string
		want      string
		ok        bool
	}{
		{"$request.body.action", `{"action":"send"}`, "send", true},
		{"${request.body.action}", `{"action":"send"}`, "send", true},
		{"$request.body.a.b", `{"a":{"b":"deep"},"x":1}`, "deep", true},
		{"$request.body.action", `{"action":42}`, "42", true},
		{"$request.body.action", `{"action":true}`, "true", true},
		{"$request.body.action", `{"action":null}`, "", false},
		{"$request.body.action", `{"action":{"x":1}}`, "", false},
		{"$request.body.action", `{"other":"send"}`, "", false},
		{"$request.body.action", `not json`, "", false},
		{"$request.body.action", `["action"]`, "", false},
		{"$request.body.action", `{"action":"send"} trailing`, "", false},
		{"$request.body.action", `{"action":"a\u0062"}`, "ab", true},
		{"$request.body.action", `{"action":"first","action":"second"}`, "first", true},
		{"$request.body.action", ``, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.msg, func(t *testing.T) {
			e, err := ParseSelectionExpression(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := e.Select([]byte(tt.msg))
			if got != tt.want || ok != tt.ok {
				t.Errorf("Select = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseSelectionExpressionErrors(t *testing.T) {
	for _, expr := range []string{"", "$request.body.", "$request.header.x", "${request.body.x", "$request.body.a..b", "$request.body.1a", "action"} {
		if _, err := ParseSelectionExpression(expr); err == nil {
			t.Errorf("ParseSelectionExpression(%q) = nil error, want one", expr)
		}
	}
}

// selectReference is Select by decoding, the behaviour Select's scanner
// must match.
func selectReference(e *SelectionExpression, message []byte) (string, bool) {
	if !json.Valid(message) {
		return "", false
	}
	var v any = json.RawMessage(message)
	for _, name := range e.path {
		obj, ok := firstMembers(v.(json.RawMessage))
		if !ok {
			return "", false
		}
		raw, ok := obj[name]
		if !ok {
			return "", false
		}
		v = raw
	}
	var val any
	d := json.NewDecoder(bytes.NewReader(v.(json.RawMessage)))
	d.UseNumber()
	if err := d.Decode(&val); err != nil {
		return "", false
	}
	switch x := val.(type) {
	case string:
		return x, true
	case json.Number:
		return strings.TrimSpace(string(v.(json.RawMessage))), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// firstMembers decodes an object's members, keeping the first of repeated
// names.
func firstMembers(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	out := map[string]json.RawMessage{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
		if _, dup := out[t.(string)]; !dup {
			out[t.(string)] = v
		}
	}
	return out, true
}

func FuzzSelectionExpression(f *testing.F) {
	f.Add("$request.body.action", []byte(`{"action":"x"}`))
	f.Add("${request.body.a.b}", []byte(`{"a":{"b":1}}`))
	f.Add("$request.body.a", []byte(`{"a":"\ud800"}`))
	f.Add("$request.body.a.b", []byte(` { "x" : [1,{"a":2}], "a" : { "b" : -1.5e3 } , "a":"z"} `))
	f.Add("$request.body.k", []byte(`{"\u006b":"escaped key","k":"plain"}`))
	f.Fuzz(func(t *testing.T, expr string, msg []byte) {
		e, err := ParseSelectionExpression(expr)
		if err != nil {
			return
		}
		// The canonical form parses to the same expression.
		again, err := ParseSelectionExpression(e.String())
		if err != nil || again.String() != e.String() {
			t.Fatalf("String() %q does not round-trip: %v", e.String(), err)
		}
		got, ok := e.Select(msg)
		want, wantOK := selectReference(e, msg)
		if got != want || ok != wantOK {
			t.Fatalf("Select(%q) = %q, %v; decoding gives %q, %v", msg, got, ok, want, wantOK)
		}
	})
}

func TestCompileWebSocket(t *testing.T) {
	route := func(id, key string) *adminv1.Route {
		return &adminv1.Route{Name: "apis/chat/routes/" + id, Match: &adminv1.Route_WebsocketRouteKey{WebsocketRouteKey: key}}
	}
	dep := &adminv1.Deployment{Name: "apis/chat/deployments/d1", Snapshot: &adminv1.ApiSnapshot{
		Api: &adminv1.Api{Name: "apis/chat", Protocol: adminv1.Api_PROTOCOL_WEBSOCKET, RouteSelectionExpression: "$request.body.action",
			DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "localhost:1", Method: "/x.Y/Z"}}}},
		Routes: []*adminv1.Route{route("send", "send"), route("def", "$default"), route("bye", "$disconnect")},
	}}
	stage := &adminv1.Stage{Name: "apis/chat/stages/prod", Deployment: dep.GetName(), Websocket: &adminv1.WebSocketSettings{IdleTimeout: durationpb.New(1)}}
	table, errs := Compile(Config{Stages: []Entry{{Stage: stage, Deployment: dep}}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ws := table.Stage("apis/chat/stages/prod").WebSocket()
	if ws == nil {
		t.Fatal("no WebSocket routing")
	}
	if ws.Connect == nil || ws.Connect.Integration != nil || ws.Connect.Key != ConnectKey {
		t.Errorf("implicit $connect = %+v, want a route without integration", ws.Connect)
	}
	if ws.Disconnect == nil || ws.Disconnect.Key != "bye" {
		t.Errorf("$disconnect = %+v", ws.Disconnect)
	}
	for msg, want := range map[string]string{`{"action":"send"}`: "send", `{"action":"other"}`: "def", `nope`: "def"} {
		r, ok := ws.Route([]byte(msg))
		if !ok || r.Key != want {
			t.Errorf("Route(%s) = %v, %v; want %s", msg, r, ok, want)
		}
		if r.Integration.GetGrpc().GetMethod() != "/x.Y/Z" {
			t.Errorf("route %s did not get the default integration", r.Key)
		}
		if r.GRPCResource != "chat/prod/"+r.Config.GetWebsocketRouteKey() {
			t.Errorf("resource = %q", r.GRPCResource)
		}
	}
	if len(table.Stage("apis/chat/stages/prod").Methods()) != 0 {
		t.Error("a WebSocket stage serves gRPC methods")
	}
}

func BenchmarkSelectionExpression(b *testing.B) {
	e, err := ParseSelectionExpression("$request.body.action")
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(`{"action":"sendmessage","data":{"room":"lobby","text":"hello, world","n":[1,2,3]}}`)
	b.ReportAllocs()
	for b.Loop() {
		if k, ok := e.Select(msg); !ok || k != "sendmessage" {
			b.Fatal(k)
		}
	}
}
